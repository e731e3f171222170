import EmbedKit
import EmbedKitBERT
import EmbedServeAPI
import Foundation

/// Runs one ``FuzzTarget`` on one input and checks what its output promises.
public struct FuzzChecks: Sendable {
    /// The all-MiniLM-L6-v2 tokenizer, when the model directory was found.
    let tokenizer: WordPieceTokenizer?

    /// Loads the tokenizer's vocabulary when `targets` need it.
    /// - Throws: ``BertError`` when a target needs the model and it cannot be loaded.
    public init(targets: [FuzzTarget]) throws {
        guard targets.contains(where: \.needsModel) else {
            tokenizer = nil
            return
        }
        guard let directory = Bert.resolveModelDirectory() else {
            throw BertError(.fileUnreadable, "No model directory (\(Bert.defaultModelPath)); run \(Bert.fetchCommand).")
        }
        tokenizer = try WordPieceTokenizer(vocabularyFile: directory.appendingPathComponent("vocab.txt"))
    }

    /// Runs `target` on `bytes`.
    /// - Throws: ``FuzzFailure`` naming the property the output broke.
    public func check(_ target: FuzzTarget, _ bytes: [UInt8]) throws(FuzzFailure) {
        switch target {
        case .decode: try checkDecode(bytes)
        case .html: try checkParser(HTMLDocumentParser(), bytes, path: "fuzz.html")
        case .xml: try checkParser(XMLDocumentParser(), bytes, path: "fuzz.xml")
        case .markdown: try checkParser(MarkdownDocumentParser(), bytes, path: "fuzz.md")
        case .chunker: try checkChunker(bytes)
        case .tokenizer: try checkTokenizer(bytes)
        case .safetensors: try checkSafetensors(bytes)
        case .response: try checkResponse(bytes)
        case .gzip: try checkGzip(bytes)
        case .request: try checkRequest(bytes)
        case .vectorfile: try checkVectorFile(bytes)
        }
    }

    // MARK: - Vector file

    /// The first byte picks the decoder: even, a manifest; odd, a segment header (the rest of the input either
    /// way). What is accepted is consistent (segments with distinct serials, no dead bit past a segment's rows)
    /// and reads back the same after being written again.
    private func checkVectorFile(_ bytes: [UInt8]) throws(FuzzFailure) {
        guard let first = bytes.first else { return }
        let body = Array(bytes.dropFirst())
        if first % 2 == 0 {
            guard let manifest = VectorFile.decodeManifest(body) else { return }
            try expect(Set(manifest.segments.map(\.serial)).count == manifest.segments.count, "two segments share a serial")
            for segment in manifest.segments {
                try expect(segment.rows > 0 && segment.dead.count == (segment.rows + 63) / 64, "a bitmap of the wrong size")
                try expect(segment.deadRows <= segment.rows, "more dead rows than rows")
            }
            try expect(VectorFile.decodeManifest(VectorFile.encodeManifest(manifest)) == manifest, "a manifest that does not read back")
        } else {
            guard let header = VectorFile.decodeHeader(body) else { return }
            try expect(header.count >= 0, "a negative row count")
            try expect(VectorFile.decodeHeader(VectorFile.encodeHeader(header)) == header, "a header that does not read back")
        }
    }

    // MARK: - Gzip

    /// The first byte sets the output limit (1 to 256 KiB, small enough for bombs to reach it); the rest is the
    /// compressed data. The output never passes the limit, and the limit only decides where output stops: with
    /// twice the limit, the same input gives the same bytes, or more of them only when it was too large before.
    private func checkGzip(_ bytes: [UInt8]) throws(FuzzFailure) {
        guard let selector = bytes.first else { return }
        let limit = (Int(selector) + 1) << 10
        let input = Array(bytes.dropFirst())
        let outcome = Gzip.decompress(input, limit: limit)
        let doubled = Gzip.decompress(input, limit: 2 * limit)
        switch outcome {
        case .decompressed(let output, let warnings):
            try expect(output.count <= limit, "\(output.count) bytes decompressed, over the \(limit)-byte limit")
            try expect(doubled == outcome, "a larger limit changed output that fitted the smaller one")
            try expect(warnings.allSatisfy { !$0.isEmpty }, "an empty warning")
        case .notGzip:
            try expect(!Gzip.hasMagic(input), "gzip magic number not recognized")
            try expect(doubled == .notGzip, "not gzip with one limit, gzip with another")
        case .tooLarge(let reported):
            try expect(reported == limit, "the limit reported is not the limit given")
            if case .decompressed(let output, _) = doubled {
                try expect(output.count > limit, "too large for \(limit) bytes, but only \(output.count) with twice that")
            }
        }
    }

    // MARK: - Decoding

    /// The first byte picks the format (so charset declarations are honoured for HTML and XML); the rest is
    /// decoded. The result is valid UTF-8 with `\n` line ends and no NUL, and valid UTF-8 plain text comes
    /// back unchanged.
    private func checkDecode(_ bytes: [UInt8]) throws(FuzzFailure) {
        guard let selector = bytes.first else { return }
        let format = DocumentFormat.allCases[Int(selector) % DocumentFormat.allCases.count]
        let input = Array(bytes.dropFirst())
        let decoded = TextDecoder.decode(input, format: format)
        try expect(String(validating: decoded.utf8, as: UTF8.self) != nil, "decoded text is not valid UTF-8")
        try expect(!decoded.utf8.contains(0), "decoded text holds a NUL")
        try expect(!decoded.utf8.contains(UInt8(ascii: "\r")), "decoded text holds a carriage return")
        try expect(!decoded.encoding.isEmpty, "no encoding named")
        try expect(TextDecoder.decode(input, format: format) == decoded, "decoding is not deterministic")
        let plainUTF8 =
            format == .text && String(validating: input, as: UTF8.self) != nil
            && !input.starts(with: [0xEF, 0xBB, 0xBF]) && !input.contains(0) && !input.contains(UInt8(ascii: "\r"))
        if plainUTF8 {
            try expect(decoded.utf8 == input, "valid UTF-8 text changed in decoding")
        }
    }

    // MARK: - Parsers

    /// A parser either refuses the input with a ``ParsingError`` or returns blocks that keep the
    /// ``ParsedDocument`` contract, whose text stays linear in the input (no entity blowup) and chunks cleanly.
    private func checkParser(_ parser: some DocumentParser, _ bytes: [UInt8], path: String) throws(FuzzFailure) {
        let document: ParsedDocument
        do {
            document = try parser.parse(bytes, path: path)
        } catch is ParsingError {
            return
        } catch {
            throw FuzzFailure("the parser threw \(type(of: error)), not a ParsingError: \(error)")
        }
        try checkDocument(document)
        let textBytes = document.blocks.reduce(0) { $0 + $1.text.utf8.count + 2 }
        try expect(
            textBytes <= 4 * bytes.count + (2 << 20),
            "\(bytes.count) bytes of input became \(textBytes) bytes of text")
        try checkChunks(of: document, counter: EstimatedTokenCounter(), maxTokens: 64, overlapTokens: 8)
    }

    /// Blocks have text with no leading or trailing blank line, lines from 1, and heading levels from 1.
    private func checkDocument(_ document: ParsedDocument) throws(FuzzFailure) {
        for (i, block) in document.blocks.enumerated() {
            try expect(block.line >= 1, "block \(i) starts at line \(block.line)")
            if case .heading(let level) = block.kind {
                try expect(level >= 1, "block \(i) is a heading of level \(level)")
            }
            try expect(
                !block.text.hasPrefix("\n") && !block.text.hasSuffix("\n"),
                "block \(i) starts or ends with a blank line: \(String(reflecting: block.text))")
            try expect(!block.text.utf8.contains(0), "block \(i) holds a NUL")
        }
    }

    // MARK: - Chunker

    /// Blocks come straight from the input: the first byte sets the chunk size and overlap, NUL separates
    /// blocks, and a block that starts with a byte 1 to 6 is a heading of that level.
    private func checkChunker(_ bytes: [UInt8]) throws(FuzzFailure) {
        guard let selector = bytes.first else { return }
        let maxTokens = Int(selector % 32) + 1
        let overlapTokens = Int(selector / 32) * maxTokens / 8
        var blocks: [ParsedDocument.Block] = []
        var line = 1
        for piece in bytes.dropFirst().split(separator: 0, omittingEmptySubsequences: true) {
            var kind = ParsedDocument.Block.Kind.paragraph
            var body = piece[...]
            if let first = body.first, (1...6).contains(first) {
                kind = .heading(level: Int(first))
                body = body.dropFirst()
            }
            let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            blocks.append(ParsedDocument.Block(kind: kind, text: text, line: line))
            line += text.utf8.count(where: { $0 == UInt8(ascii: "\n") }) + 2
        }
        let document = ParsedDocument(format: .text, blocks: blocks)
        try checkChunks(
            of: document, counter: EstimatedTokenCounter(), maxTokens: maxTokens, overlapTokens: overlapTokens)
    }

    /// Chunks are slices of the document's text, in order, each within the token limit when counted again,
    /// and together they cover every character that is not white space.
    private func checkChunks(
        of document: ParsedDocument, counter: some TokenCounter, maxTokens: Int, overlapTokens: Int
    ) throws(FuzzFailure) {
        let chunker = TextChunker(
            configuration: .init(maxTokens: maxTokens, overlapTokens: overlapTokens), tokenCounter: counter)
        let chunks = chunker.chunks(for: document)
        try expect(chunker.chunks(for: document) == chunks, "chunking is not deterministic")
        let scalars = Array(document.text.unicodeScalars)
        var covered = 0  // scalars before this offset are inside some chunk, or white space
        var previousStart = -1
        for (i, chunk) in chunks.enumerated() {
            try expect(chunk.ordinal == i, "chunk \(i) has ordinal \(chunk.ordinal)")
            try expect(
                0 <= chunk.startOffset && chunk.startOffset < chunk.endOffset && chunk.endOffset <= scalars.count,
                "chunk \(i) spans \(chunk.startOffset)..<\(chunk.endOffset) of \(scalars.count)")
            try expect(chunk.startOffset > previousStart, "chunk \(i) does not move forward")
            previousStart = chunk.startOffset
            var slice = String.UnicodeScalarView()
            slice.append(contentsOf: scalars[chunk.startOffset..<chunk.endOffset])
            try expect(chunk.text == String(slice), "chunk \(i)'s text is not the slice its offsets name")
            let recounted = counter.tokenCount(chunk.text[...])
            try expect(
                chunk.tokenCount <= maxTokens && recounted <= maxTokens,
                "chunk \(i) has \(chunk.tokenCount) tokens (\(recounted) counted again), over the limit of \(maxTokens)")
            while covered < chunk.startOffset {
                try expect(scalars[covered].properties.isWhitespace, "the text at offset \(covered) is in no chunk")
                covered += 1
            }
            covered = max(covered, chunk.endOffset)
        }
        while covered < scalars.count {
            try expect(scalars[covered].properties.isWhitespace, "the text at offset \(covered) is in no chunk")
            covered += 1
        }
    }

    // MARK: - Tokenizer

    /// Model inputs are `[CLS] … [SEP]` within the length, ids stay in the vocabulary, counts agree with the
    /// ids and add up across white space, and chunks sized with the tokenizer fit it.
    private func checkTokenizer(_ bytes: [UInt8]) throws(FuzzFailure) {
        guard let tokenizer else { throw FuzzFailure("the tokenizer target needs the model's vocabulary") }
        let text = String(decoding: bytes, as: UTF8.self)
        let special = tokenizer.specialTokens
        let ids = tokenizer.tokenIDs(text)
        try expect(
            ids.allSatisfy { (0..<Int32(tokenizer.vocabularySize)).contains($0) }, "a token id is outside the vocabulary")
        try expect(tokenizer.tokenCount(text[...]) == ids.count, "tokenCount disagrees with tokenIDs")
        let input = tokenizer.encode(text, maxLength: 16)
        try expect(input.first == special.classifier && input.last == special.separator, "input lacks [CLS]/[SEP]")
        try expect(input.count <= 16, "input has \(input.count) ids, over 16")
        try expect(Array(input.dropFirst().dropLast()) == Array(ids.prefix(14)), "input is not a prefix of the ids")
        if let space = text.firstIndex(of: " ") {
            let (left, right) = (text[..<space], text[text.index(after: space)...])
            try expect(
                tokenizer.tokenCount(left) + tokenizer.tokenCount(right) == ids.count,
                "token counts do not add up across a space")
        }
        let document = ParsedDocument(format: .text, blocks: text.isEmpty ? [] : [.init(kind: .paragraph, text: text, line: 1)])
        try checkChunks(of: document, counter: tokenizer, maxTokens: 16, overlapTokens: 4)
    }

    // MARK: - Safetensors

    /// A header that is accepted describes tensors inside the data section, each the size its shape needs,
    /// none that holds bytes overlapping another.
    private func checkSafetensors(_ bytes: [UInt8]) throws(FuzzFailure) {
        let tensors: [String: SafetensorsFile.TensorInfo]
        do {
            tensors = try bytes.withUnsafeBytes { buffer throws(BertError) in
                try SafetensorsFile.parseHeader(buffer, path: "fuzz.safetensors").tensors
            }
        } catch {
            return
        }
        let headerEnd = 8 + bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var ranges: [Range<Int>] = []
        for (name, info) in tensors {
            try expect(
                info.byteRange.lowerBound >= headerEnd && info.byteRange.upperBound <= bytes.count,
                "tensor \(name) lies outside the data section")
            let elements = info.shape.reduce(1, *)
            try expect(info.byteRange.count == elements * info.dtype.size, "tensor \(name) has the wrong size")
            if !info.byteRange.isEmpty { ranges.append(info.byteRange) }
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        for (a, b) in zip(ranges, ranges.dropFirst()) {
            try expect(a.upperBound <= b.lowerBound, "two tensors overlap")
        }
    }

    // MARK: - Server responses

    /// A leading digit 1 to 9 is the number of inputs the request sent (else 1). A response that is accepted
    /// has exactly one finite vector per input, all of one nonzero dimension.
    private func checkResponse(_ bytes: [UInt8]) throws(FuzzFailure) {
        var body = bytes[...]
        var count = 1
        if let first = body.first, (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(first) {
            count = Int(first - UInt8(ascii: "0"))
            body = body.dropFirst()
        }
        let vectors: [[Float]]
        do {
            vectors = try OpenAICompatibleEmbedder.decode(
                Data(body), count: count, expectedDimension: nil, label: "fuzz")
        } catch is EmbeddingError {
            return
        } catch {
            throw FuzzFailure("the response reader threw \(type(of: error)), not an EmbeddingError")
        }
        try expect(vectors.count == count, "\(vectors.count) vectors for \(count) inputs")
        let dimension = vectors.first?.count ?? 0
        try expect(dimension > 0, "vectors of dimension 0")
        try expect(vectors.allSatisfy { $0.count == dimension }, "vectors of different dimensions")
        try expect(vectors.allSatisfy { $0.allSatisfy(\.isFinite) }, "a vector holds a non-finite value")
    }

    /// The first byte picks the request (embeddings, search, job), the rest is its body. A body is either refused
    /// with a ``ServeError`` the server answers as 400 or 413 (or a `DecodingError` for JSON that is not an object,
    /// answered 400 too), or decoded into a request that keeps the limits the handlers rely on.
    private func checkRequest(_ bytes: [UInt8]) throws(FuzzFailure) {
        guard let kind = bytes.first else { return }
        let body = Data(bytes.dropFirst())
        do {
            switch kind % 3 {
            case 0:
                let request = try JSONDecoder().decode(EmbeddingsRequest.self, from: body)
                try expect(!request.input.isEmpty, "an empty 'input' decoded")
                try expect(!request.input.contains(where: \.isEmpty), "an empty text decoded")
            case 1:
                let request = try JSONDecoder().decode(SearchRequest.self, from: body)
                try expect(!request.queries.isEmpty, "a search request without a query")
                try expect(request.queries.count <= SearchRequest.maxQueries, "\(request.queries.count) queries decoded")
                try expect((1...SearchRequest.maxK).contains(request.k), "k = \(request.k) decoded")
                try expect(request.queries.count * request.k <= SearchRequest.maxResults, "too many results decoded")
                try expect(
                    !request.queries.contains { $0.allSatisfy(\.isWhitespace) }, "an empty query decoded")
            default:
                _ = try JSONDecoder().decode(JobRequest.self, from: body)
            }
        } catch let error as ServeError {
            try expect([400, 413].contains(error.status), "a request refused with status \(error.status)")
            try expect(!error.message.isEmpty, "a refusal without a message")
        } catch is DecodingError {
            return
        } catch {
            throw FuzzFailure("a request decoder threw \(type(of: error)), neither a ServeError nor a DecodingError")
        }
    }
}
