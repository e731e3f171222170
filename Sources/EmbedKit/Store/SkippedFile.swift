/// A file skipped for a reason that lasts until its bytes change, remembered so that later runs skip it
/// without reading it or reporting it again.
public struct SkippedFile: Sendable, Equatable {
    public enum Reason: String, Sendable, Equatable {
        case binary
        case tooLarge = "too_large"
        case undecodable
        case malformed

        /// The reason for a parser's error, when it lasts until the file changes.
        public init?(_ code: ParsingError.Code) {
            switch code {
            case .binary: self = .binary
            case .tooLarge: self = .tooLarge
            case .undecodable: self = .undecodable
            case .malformed: self = .malformed
            }
        }
    }

    public var path: String
    public var size: Int64
    public var modificationTimeNanoseconds: Int64
    public var reason: Reason
    /// The size limit in force when the file was skipped.
    public var maxFileSize: Int64
    /// Which build of the parsers decided (see ``IngestPipeline/Configuration/skipRules``).
    public var rules: String

    public init(
        path: String, size: Int64, modificationTimeNanoseconds: Int64, reason: Reason, maxFileSize: Int64,
        rules: String
    ) {
        self.path = path
        self.size = size
        self.modificationTimeNanoseconds = modificationTimeNanoseconds
        self.reason = reason
        self.maxFileSize = maxFileSize
        self.rules = rules
    }

    /// True when skipping `file` again without reading it gives what reading it would: same size and time, the
    /// same parsers, and for a file too large, a limit no larger than the one it was over.
    public func stillApplies(to file: SourceFile, maxFileSize limit: Int64, rules currentRules: String) -> Bool {
        file.size == size && file.modificationTimeNanoseconds == modificationTimeNanoseconds && rules == currentRules
            && (reason != .tooLarge || limit <= maxFileSize)
    }
}
