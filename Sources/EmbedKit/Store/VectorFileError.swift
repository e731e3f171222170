import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct VectorFileError: Error, CustomStringConvertible {
    var path: String
    var errno: Int32
    var description: String { "\(path): \(String(cString: strerror(errno)))" }
    /// The disk (or the process's file size limit) is full.
    var isDiskFull: Bool { errno == ENOSPC || errno == EDQUOT || errno == EFBIG }
}
