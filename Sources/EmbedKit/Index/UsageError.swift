/// The request cannot be carried out as asked (a missing option, a chunk size the model cannot read): nothing
/// was done, and the message says what to ask for instead. The command line reports it as a usage error.
public struct UsageError: CodedError, Sendable {
    public enum Code: Hashable, Sendable {
        /// An option is missing, or does not fit the index or the embedder.
        case invalidRequest
    }

    public var code: Code
    /// What is wrong and what to ask for instead.
    public var message: String
    public var cause: (any Error)?

    public init(_ message: String, code: Code = .invalidRequest, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }
}
