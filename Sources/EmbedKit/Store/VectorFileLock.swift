import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The lock whoever updates an index's vector file holds meanwhile: a writer at the end of its run, or a query
/// that found the file stale while no writer runs. Two updaters that both started from one manifest would each
/// delete segments the other's manifest still names.
///
/// An `flock` on `<index>.vectors.lock`, released by the kernel however the process ends. Opened without
/// following a symlink planted at its name.
final class VectorFileLock {
    private let descriptor: Int32

    /// Takes the lock; nil when it cannot be had (held by another process and `wait` is false, or the lock
    /// file cannot be made: a read-only folder), in which case the caller leaves the file as it is.
    init?(indexPath: String, wait: Bool) {
        let fd = open(
            VectorFile.path(forIndex: indexPath) + ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard fd >= 0 else { return nil }
        var info = stat()
        var result: Int32 = -1
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
            repeat { result = flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) } while result != 0 && errno == EINTR
        }
        guard result == 0 else {
            close(fd)
            return nil
        }
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
