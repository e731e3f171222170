import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a vector file could not be written. Never shown as is: the store notes a full disk and otherwise
/// carries on without the file.
struct VectorFileError: CodedError, Sendable {
    enum Code: Hashable, Sendable {
        /// The disk (or the process's file size limit) is full.
        case diskFull
        /// Any other failure of a system call.
        case systemCall
    }

    var code: Code
    var message: String
    var path: String
    /// The system call's error number.
    var errno: Int32
    var cause: (any Error)? { POSIXErrorCode(rawValue: errno).map { POSIXError($0) } }

    /// The failure of a system call on `path` with `errno`.
    init(path: String, errno: Int32) {
        code = errno == ENOSPC || errno == EDQUOT || errno == EFBIG ? .diskFull : .systemCall
        message = "\(path): \(String(cString: strerror(errno)))"
        self.path = path
        self.errno = errno
    }

    var isDiskFull: Bool { code == .diskFull }
}
