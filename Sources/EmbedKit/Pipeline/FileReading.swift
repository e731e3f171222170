#if canImport(Glibc)
    import Glibc
#endif

/// Reads whole files with POSIX calls, refusing anything that is not a regular file.
enum FileReading {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The bytes of the regular file at `path`, at most `limit` of them.
    static func read(_ path: String, limit: Int64) throws -> [UInt8] {
        // O_NONBLOCK: if the file was swapped for a FIFO since the walk, open must not wait for a writer.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure(description: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw Failure(description: "not a regular file") }
        guard Int64(info.st_size) <= limit else { throw Failure(description: "larger than the size limit") }
        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(info.st_size))
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw Failure(description: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            // The file grew while being read: stop at the limit rather than read without bound.
            guard Int64(bytes.count) <= limit else { throw Failure(description: "grew past the size limit while being read") }
        }
        return bytes
    }
}
