/// The request cannot be carried out as asked (a missing option, a chunk size the model cannot read): nothing
/// was done, and the message says what to ask for instead. The command line reports it as a usage error.
public struct UsageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong and what to ask for instead.
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
