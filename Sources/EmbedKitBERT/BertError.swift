public import EmbedKit

/// Why the model files could not be read.
///
/// ``BertEmbedder/load(modelDirectory:configuration:)`` reports every `BertError` as one
/// `EmbeddingError(.modelUnavailable, …)` that names the fetch command.
public struct BertError: CodedError, Sendable {
    /// The kind of problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A file is missing or cannot be read.
        public static let fileUnreadable = Code("file unreadable")
        /// A safetensors file is truncated or its header is malformed or inconsistent.
        public static let invalidSafetensors = Code("invalid safetensors")
        /// A tensor is missing or has an unexpected dtype or shape.
        public static let invalidWeights = Code("invalid weights")
        /// `vocab.txt` is empty or lacks a special token.
        public static let invalidVocabulary = Code("invalid vocabulary")
        /// `config.json` or the pooling configuration is malformed or unsupported.
        public static let invalidConfiguration = Code("invalid configuration")
        /// The precision asked for needs instructions this CPU does not have (bf16 needs AVX512_BF16).
        public static let unsupportedPrecision = Code("unsupported precision")
    }

    public var code: Code
    /// What is wrong, naming the file or tensor. Never contains input text.
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }
}
