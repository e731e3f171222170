#if canImport(Glibc)
    import Glibc
#endif

/// Reads whole files with POSIX calls, refusing anything that is not a regular file.
enum FileReading {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// The file decompresses past the size limit: a warning, as for a file over the limit found by the walk.
        var overLimit = false
    }

    /// The document in the file at `path`: its bytes, or for `NAME.EXT.gz` its decompressed bytes (at most
    /// `limit` of them, checked while decompressing), with warnings about damaged compressed data.
    static func readDocument(_ path: String, limit: Int64) throws -> (bytes: [UInt8], warnings: [String]) {
        guard isCompressed(path) else { return (try read(path, limit: limit), []) }
        let fd = try openRegularFile(path, limit: limit)
        defer { close(fd) }
        let outcome = try Gzip.decompress(limit: Int(clamping: limit)) { (buffer) throws(Failure) -> Int in
            try readSome(fd, into: buffer)
        }
        switch outcome {
        case .decompressed(let bytes, let warnings):
            return (bytes, warnings)
        case .tooLarge:
            throw Failure(
                description: "decompresses to more than the \(limit >> 20) MiB size limit (a gzip bomb?), skipped",
                overLimit: true)
        case .notGzip:
            // Saved uncompressed under a .gz name (browsers and some servers do that): the text is still there.
            return (try read(path, limit: limit), ["named .gz but not gzip-compressed; read as it is"])
        }
    }

    /// True for `NAME.gz` (any case): documents gzip-compressed as a whole.
    static func isCompressed(_ path: String) -> Bool {
        let name = path.split(separator: "/", omittingEmptySubsequences: true).last ?? ""
        return DocumentNames.documentExtension(of: String(name)).compressed
    }

    /// The bytes of the regular file at `path`, at most `limit` of them.
    static func read(_ path: String, limit: Int64) throws -> [UInt8] {
        let fd = try openRegularFile(path, limit: limit)
        defer { close(fd) }
        var info = stat()
        _ = fstat(fd, &info)
        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(info.st_size))
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try buffer.withUnsafeMutableBufferPointer { try readSome(fd, into: $0) }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            // The file grew while being read: stop at the limit rather than read without bound.
            guard Int64(bytes.count) <= limit else { throw Failure(description: "grew past the size limit while being read") }
        }
        return bytes
    }

    /// Opens `path` for reading, refusing what is not a regular file or is over `limit` bytes.
    private static func openRegularFile(_ path: String, limit: Int64) throws(Failure) -> Int32 {
        // O_NONBLOCK: if the file was swapped for a FIFO since the walk, open must not wait for a writer.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let failure = Failure(description: String(cString: strerror(errno)))
            close(fd)
            throw failure
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw Failure(description: "not a regular file")
        }
        guard Int64(info.st_size) <= limit else {
            close(fd)
            throw Failure(description: "larger than the size limit")
        }
        return fd
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the file.
    private static func readSome(_ fd: Int32, into buffer: UnsafeMutableBufferPointer<UInt8>) throws(Failure) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR || errno == EAGAIN { continue }
            throw Failure(description: String(cString: strerror(errno)))
        }
    }
}
