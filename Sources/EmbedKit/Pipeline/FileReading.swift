import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a file could not be read.
struct FileReadingError: CodedError, Sendable {
    enum Code: Hashable, Sendable {
        /// A system call failed (`cause` holds its errno).
        case systemCall
        case notRegularFile
        case largerThanLimit
        case grewPastLimit
        /// The file decompresses past the size limit: a warning, as for a file over the limit found by the walk.
        case decompressesPastLimit
    }

    var code: Code
    var message: String
    var cause: (any Error)?

    init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// The failure of the last system call, from `errno`.
    static func lastSystemCall() -> FileReadingError {
        let number = errno
        return FileReadingError(
            .systemCall, String(cString: strerror(number)), cause: POSIXErrorCode(rawValue: number).map { POSIXError($0) })
    }
}

/// Reads whole files with POSIX calls, refusing anything that is not a regular file.
enum FileReading {
    /// The document in the file at `path`: its bytes, or for `NAME.EXT.gz` its decompressed bytes (at most
    /// `limit` of them, checked while decompressing), with warnings about damaged compressed data.
    static func readDocument(_ path: String, limit: Int64) throws -> (bytes: [UInt8], warnings: [String]) {
        guard isCompressed(path) else { return (try read(path, limit: limit), []) }
        let fd = try openRegularFile(path, limit: limit)
        defer { close(fd) }
        let outcome = try Gzip.decompress(limit: Int(clamping: limit)) { (buffer) throws(FileReadingError) -> Int in
            try readSome(fd, into: buffer)
        }
        switch outcome {
        case .decompressed(let bytes, let warnings):
            return (bytes, warnings)
        case .tooLarge:
            throw FileReadingError(
                .decompressesPastLimit,
                "decompresses to more than the \(limit >> 20) MiB size limit (a gzip bomb?), skipped")
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
            guard Int64(bytes.count) <= limit else { throw FileReadingError(.grewPastLimit, "grew past the size limit while being read") }
        }
        return bytes
    }

    /// Opens `path` for reading, refusing what is not a regular file or is over `limit` bytes.
    private static func openRegularFile(_ path: String, limit: Int64) throws(FileReadingError) -> Int32 {
        // O_NONBLOCK: if the file was swapped for a FIFO since the walk, open must not wait for a writer.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw FileReadingError.lastSystemCall() }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let failure = FileReadingError.lastSystemCall()
            close(fd)
            throw failure
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FileReadingError(.notRegularFile, "not a regular file")
        }
        guard Int64(info.st_size) <= limit else {
            close(fd)
            throw FileReadingError(.largerThanLimit, "larger than the size limit")
        }
        return fd
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the file.
    private static func readSome(_ fd: Int32, into buffer: UnsafeMutableBufferPointer<UInt8>) throws(FileReadingError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR || errno == EAGAIN { continue }
            throw FileReadingError.lastSystemCall()
        }
    }
}
