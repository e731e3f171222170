public import EmbedKit
public import Foundation

/// The uncased BERT WordPiece tokenizer of all-MiniLM-L6-v2, matching the Hugging Face fast tokenizer
/// (`BertNormalizer` + `BertPreTokenizer` + `WordPiece`) token for token.
///
/// Steps, in the Hugging Face order:
/// 1. Clean-up: NUL, U+FFFD and control/format/unassigned/private-use characters are removed; every
///    whitespace character becomes a space.
/// 2. CJK ideographs are surrounded by spaces, so each becomes its own word.
/// 3. Accents are stripped (canonical decomposition, then non-spacing marks removed), then the text
///    is lower-cased.
/// 4. Words are split at whitespace, and every punctuation character (Unicode `P*` plus all ASCII
///    symbols) becomes a word of its own.
/// 5. Each word becomes the longest vocabulary pieces, greedily from the left, continuations prefixed
///    with `##`; a word that cannot be covered, or is longer than 100 characters, becomes `[UNK]`.
///
/// Token counts (``tokenCount(_:)``) exclude `[CLS]`/`[SEP]` and are additive across whitespace.
public struct WordPieceTokenizer: TokenCounter, Sendable {
    /// The ids of the special tokens.
    public struct SpecialTokens: Sendable, Hashable {
        public var padding: Int32
        public var unknown: Int32
        public var classifier: Int32
        public var separator: Int32
    }

    /// Words longer than this many characters become `[UNK]` (Hugging Face's `max_input_chars_per_word`).
    public static let maxCharactersPerWord = 100

    /// The ids of `[PAD]`, `[UNK]`, `[CLS]` and `[SEP]`.
    public let specialTokens: SpecialTokens
    /// The number of entries in the vocabulary.
    public var vocabularySize: Int { tokens.count }

    private let ids: [String: Int32]
    private let tokens: [String]
    /// The longest token, in Unicode scalars: no longer candidate piece can match, so the greedy search starts
    /// there instead of at the word's end (quadratic work per word becomes linear).
    private let longestToken: Int

    /// Creates a tokenizer from the lines of a `vocab.txt` (one token per line, id = line number).
    /// - Throws: ``BertError`` when the vocabulary is empty or lacks a special token.
    public init(vocabularyLines lines: [Substring]) throws(BertError) {
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(lines.count)
        var tokens: [String] = []
        tokens.reserveCapacity(lines.count)
        for line in lines {
            let token = String(line)
            let id = Int32(tokens.count)
            tokens.append(token)
            // The first occurrence wins, as in Hugging Face's vocabulary loader.
            if ids[token] == nil { ids[token] = id }
        }
        func special(_ token: String) throws(BertError) -> Int32 {
            guard let id = ids[token] else {
                throw BertError(.invalidVocabulary, "The vocabulary has no \(token) token.")
            }
            return id
        }
        self.ids = ids
        self.tokens = tokens
        self.longestToken = tokens.lazy.map(\.unicodeScalars.count).max() ?? 0
        self.specialTokens = SpecialTokens(
            padding: try special("[PAD]"), unknown: try special("[UNK]"),
            classifier: try special("[CLS]"), separator: try special("[SEP]"))
    }

    /// Loads a `vocab.txt` file.
    /// - Throws: ``BertError`` when the file cannot be read or is not a valid vocabulary.
    public init(vocabularyFile url: URL) throws(BertError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw BertError(.fileUnreadable, "Cannot read the vocabulary \(url.path).")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw BertError(.invalidVocabulary, "The vocabulary \(url.path) is not UTF-8 text.")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        try self.init(vocabularyLines: lines.map { $0.hasSuffix("\r") ? $0.dropLast() : $0 })
    }

    /// The token ids of `text` without special tokens and without truncation.
    public func tokenIDs(_ text: some StringProtocol) -> [Int32] {
        var result: [Int32] = []
        forEachToken(in: text) { result.append($0) }
        return result
    }

    /// The model input for `text`: `[CLS]`, at most `maxLength - 2` token ids, `[SEP]`.
    public func encode(_ text: some StringProtocol, maxLength: Int) -> [Int32] {
        precondition(maxLength >= 2, "maxLength must leave room for [CLS] and [SEP]")
        var result: [Int32] = [specialTokens.classifier]
        let limit = maxLength - 1
        forEachToken(in: text) { id in
            guard result.count < limit else { return false }
            result.append(id)
            return true
        }
        result.append(specialTokens.separator)
        return result
    }

    /// The token for an id, or nil when the id is outside the vocabulary.
    public func token(for id: Int32) -> String? {
        tokens.indices.contains(Int(id)) ? tokens[Int(id)] : nil
    }

    public func tokenCount(_ text: Substring) -> Int {
        var count = 0
        forEachToken(in: text) { _ in count += 1 }
        return count
    }

    // MARK: - Pipeline

    private func forEachToken(in text: some StringProtocol, _ body: (Int32) -> Void) {
        forEachToken(in: text) { (id: Int32) -> Bool in
            body(id)
            return true
        }
    }

    /// Calls `body` with each token id in order until it returns false.
    private func forEachToken(in text: some StringProtocol, _ body: (Int32) -> Bool) {
        let scalars = Self.normalize(text)
        Self.forEachWord(in: scalars) { word in wordPiece(word, body) }
    }

    /// The words of `text` after normalization and pre-tokenization (for tests).
    package static func words(_ text: some StringProtocol) -> [String] {
        var words: [String] = []
        forEachWord(in: normalize(text)) { word in
            words.append(String(String.UnicodeScalarView(word)))
            return true
        }
        return words
    }

    /// Splits normalized text at whitespace and isolates each punctuation character, as
    /// Hugging Face's `BertPreTokenizer`; stops when `body` returns false.
    private static func forEachWord(
        in scalars: [Unicode.Scalar], _ body: (ArraySlice<Unicode.Scalar>) -> Bool
    ) {
        var wordStart = 0
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if BertCharacters.isWhitespace(scalar) {
                if wordStart < index, !body(scalars[wordStart..<index]) { return }
                wordStart = index + 1
            } else if BertCharacters.isPunctuation(scalar) {
                if wordStart < index, !body(scalars[wordStart..<index]) { return }
                if !body(scalars[index..<index + 1]) { return }
                wordStart = index + 1
            }
            index += 1
        }
        if wordStart < scalars.count { _ = body(scalars[wordStart..<scalars.count]) }
    }

    /// Greedy longest-match-first WordPiece over one word; false when `body` asked to stop.
    private func wordPiece(_ word: ArraySlice<Unicode.Scalar>, _ body: (Int32) -> Bool) -> Bool {
        if word.count > Self.maxCharactersPerWord { return body(specialTokens.unknown) }
        // Fast path: the whole word is in the vocabulary.
        var piece = String.UnicodeScalarView(word)
        if let id = ids[String(piece)] { return body(id) }

        var pieces: [Int32] = []
        var start = word.startIndex
        while start < word.endIndex {
            var end = min(word.endIndex, start + longestToken)
            var found: Int32?
            while start < end {
                piece = start == word.startIndex ? String.UnicodeScalarView() : "##".unicodeScalars
                piece.append(contentsOf: word[start..<end])
                if let id = ids[String(piece)] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return body(specialTokens.unknown) }
            pieces.append(id)
            start = end
        }
        for id in pieces {
            guard body(id) else { return false }
        }
        return true
    }

    /// Canonical decomposition (NFD) as the tokenizers library does it: U+11938 (assigned after the
    /// library's tables) stays as it is, CJK compatibility ideographs are handled by the caller.
    private static func decompose(_ text: String.UnicodeScalarView) -> [Unicode.Scalar] {
        let kept: Unicode.Scalar = "\u{11938}"
        var result: [Unicode.Scalar] = []
        for (index, segment) in text.split(separator: kept, omittingEmptySubsequences: false).enumerated() {
            if index > 0 { result.append(kept) }
            result.append(contentsOf: String(String.UnicodeScalarView(segment)).decomposedStringWithCanonicalMapping.unicodeScalars)
        }
        return result
    }

    /// Clean-up, CJK spacing, accent stripping and lower-casing, as Hugging Face's `BertNormalizer`.
    static func normalize(_ text: some StringProtocol) -> [Unicode.Scalar] {
        var cleaned = String.UnicodeScalarView()
        var isASCII = true
        for scalar in text.unicodeScalars {
            if BertCharacters.isRemoved(scalar) { continue }
            if BertCharacters.isWhitespace(scalar) {
                cleaned.append(" ")
            } else if BertCharacters.isCJKIdeograph(scalar) {
                isASCII = false
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                if scalar.value >= 0x80 { isASCII = false }
                cleaned.append(scalar)
            }
        }
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(cleaned.count)
        if isASCII {
            for scalar in cleaned {
                let v = scalar.value
                result.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v + 0x20)! : scalar)
            }
            return result
        }
        // Canonical decomposition (NFD) of the whole text, then drop non-spacing marks, then lower-case.
        for scalar in decompose(cleaned) where !BertCharacters.isNonspacingMark(scalar) {
            if let decomposition = BertCharacters.missedDecomposition(scalar) {
                result.append(contentsOf: decomposition)
            } else if scalar.value < 0x80 {
                let v = scalar.value
                result.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v + 0x20)! : scalar)
            } else {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return result
    }
}
