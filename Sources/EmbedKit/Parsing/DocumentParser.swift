/// Turns the bytes of one file into a ``ParsedDocument``.
///
/// Parsers are pure and synchronous: call them from any task; they touch no shared state.
public protocol DocumentParser: Sendable {
    /// Parses `bytes`, read from `path` (used only in messages).
    /// - Throws: ``ParsingError`` when nothing usable can be recovered from the bytes.
    func parse(_ bytes: [UInt8], path: String) throws -> ParsedDocument
}

/// Why a file could not be parsed at all. Recoverable problems are ``ParsedDocument/warnings`` instead.
public struct ParsingError: CodedError, Sendable, Equatable {
    public enum Code: String, Sendable, Equatable {
        /// The bytes are not text (NUL bytes, an executable, an image...).
        case binary
        /// The bytes could not be decoded in any supported encoding.
        case undecodable
        /// The markup is too broken for the parser to recover anything.
        case malformed
        /// The file is larger than the configured limit.
        case tooLarge
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// Equal when the code and the message are: a cause is any error, which cannot be compared.
    public static func == (a: ParsingError, b: ParsingError) -> Bool {
        a.code == b.code && a.message == b.message
    }
}
