/// Picks the parser for a file and runs it: the format comes from the extension, else from sniffing the bytes
/// (see ``FormatDetector``).
public struct ParserRegistry: DocumentParser {
    /// Limits applied before parsing.
    public struct Configuration: Sendable, Equatable {
        /// Files larger than this are refused with ``ParsingError/Code/tooLarge``. Default 64 MiB.
        public var maximumFileSize: Int

        public init(maximumFileSize: Int = 64 << 20) {
            self.maximumFileSize = maximumFileSize
        }
    }

    public var configuration: Configuration

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// The parser for `format`.
    public func parser(for format: DocumentFormat) -> any DocumentParser {
        switch format {
        case .text: PlainTextDocumentParser()
        case .markdown: MarkdownDocumentParser()
        case .html: HTMLDocumentParser()
        case .xml: XMLDocumentParser()
        case .restructuredText: RestructuredTextDocumentParser()
        }
    }

    /// Parses the file at `path` (used for the extension and in messages) with contents `bytes`.
    /// An empty file gives an empty document.
    /// - Throws: ``ParsingError``: `.tooLarge` over ``Configuration/maximumFileSize``, `.binary` for non-text
    ///   bytes, `.malformed` when markup gives nothing at all.
    public func parse(path: String, bytes: [UInt8]) throws -> ParsedDocument {
        guard bytes.count <= configuration.maximumFileSize else {
            throw ParsingError(
                .tooLarge,
                "file is \(bytes.count) bytes, over the \(configuration.maximumFileSize)-byte limit, skipped")
        }
        let format = FormatDetector.format(path: path, bytes: bytes)
        if bytes.isEmpty { return ParsedDocument(format: format, blocks: []) }
        return try parser(for: format).parse(bytes, path: path)
    }

    /// ``DocumentParser`` conformance: the same as ``parse(path:bytes:)``.
    public func parse(_ bytes: [UInt8], path: String) throws -> ParsedDocument {
        try parse(path: path, bytes: bytes)
    }
}
