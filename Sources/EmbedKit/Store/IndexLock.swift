import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive lock that lets one ingest or reindex write an index at a time.
///
/// It is an `flock` on `<index>.lock`, beside the index: the kernel releases it when the process ends, however
/// it ends (even SIGKILL), so a crash never leaves a stale lock. Readers (queries) do not take it; SQLite's WAL
/// mode lets them read while the writer works.
///
/// The lock file is named after the index's resolved path, so every alias of one index (a symlink, `./x`,
/// `dir/../x`) takes the same lock; it is opened without following a symlink planted at its name.
public final class IndexLock: Sendable {
    private let descriptor: Int32
    public let path: String

    /// Takes the lock for the index at `indexPath`.
    /// - Parameter wait: wait for the holder to finish instead of failing at once.
    /// - Throws: ``StoreError`` `.locked` when another process holds the lock and `wait` is false.
    public init(indexPath: String, wait: Bool) throws {
        let directory = (indexPath as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        path = Self.lockPath(forIndex: indexPath)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link; remove it" : String(cString: strerror(errno))
            throw StoreError(.cannotOpen, "cannot create the lock file \(path): \(reason)", path: indexPath)
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw StoreError(.cannotOpen, "the lock file \(path) is not a regular file; remove it", path: indexPath)
        }
        var result = flock(fd, LOCK_EX | LOCK_NB)
        if result != 0 && errno == EWOULDBLOCK {
            if !wait {
                let holder = Self.holder(fd)
                close(fd)
                throw StoreError(
                    .locked,
                    "another embed ingest or reindex\(holder.map { " (pid \($0))" } ?? "") is writing \(indexPath); "
                        + "let it finish, or pass --wait to wait for it",
                    path: indexPath)
            }
            repeat { result = flock(fd, LOCK_EX) } while result != 0 && errno == EINTR
        }
        guard result == 0 else {
            close(fd)
            throw StoreError(.cannotOpen, "cannot lock \(path): \(String(cString: strerror(errno)))", path: indexPath)
        }
        descriptor = fd
        // Record the holder's pid, for the message another run prints.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// True when some process holds the lock of the index at `indexPath` (a writer is running).
    public static func isHeld(indexPath: String) -> Bool {
        let fd = open(lockPath(forIndex: indexPath), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return errno == EWOULDBLOCK }
        flock(fd, LOCK_UN)
        return false
    }

    /// `<index>.lock` beside the file the index path resolves to (following symlinks to the index and its
    /// folders), so that aliases share one lock.
    static func lockPath(forIndex indexPath: String) -> String {
        if let resolved = realpath(indexPath, nil) {
            defer { free(resolved) }
            return String(cString: resolved) + IndexCompanions.lock
        }
        // No index yet: resolve its folder.
        let directory = (indexPath as NSString).deletingLastPathComponent
        let name = (indexPath as NSString).lastPathComponent
        if let resolved = realpath(directory.isEmpty ? "." : directory, nil) {
            defer { free(resolved) }
            let folder = String(cString: resolved)
            return (folder == "/" ? "" : folder) + "/" + name + IndexCompanions.lock
        }
        return indexPath + IndexCompanions.lock
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    private static func holder(_ fd: Int32) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
