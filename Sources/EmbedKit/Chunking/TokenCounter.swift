/// Counts text in an embedder's tokens, so chunks can be sized for the model that embeds them.
///
/// Counts must be additive across whitespace: the count of `"a b"` equals the count of `"a"` plus
/// the count of `"b"` (a WordPiece tokenizer's counts are, since it splits at whitespace first).
public protocol TokenCounter: Sendable {
    /// The number of tokens `text` becomes, not counting special tokens such as `[CLS]`/`[SEP]`.
    func tokenCount(_ text: Substring) -> Int
}

/// An estimate of WordPiece token counts for when no tokenizer is available.
///
/// Each run of letters and digits counts one token per started 6 characters, and each other
/// non-space character counts one token, which overestimates a BERT vocabulary's count for English
/// prose slightly: chunks sized with it fit the model.
public struct EstimatedTokenCounter: TokenCounter {
    public init() {}

    public func tokenCount(_ text: Substring) -> Int {
        var count = 0
        var wordLength = 0
        for scalar in text.unicodeScalars {
            if scalar.isWordCharacter {
                wordLength += 1
                continue
            }
            if wordLength > 0 {
                count += (wordLength + 5) / 6
                wordLength = 0
            }
            if !scalar.isSpace { count += 1 }
        }
        if wordLength > 0 { count += (wordLength + 5) / 6 }
        return count
    }
}

extension Unicode.Scalar {
    /// A letter or digit (Unicode's Alphabetic or numeric), with a fast path for ASCII: most text is ASCII and
    /// the general lookup dominates the cost of counting and hashing words.
    @inline(__always)
    var isWordCharacter: Bool {
        if value < 0x80 {
            let v = value | 0x20
            return (v >= 0x61 && v <= 0x7A) || (value >= 0x30 && value <= 0x39)
        }
        return properties.isAlphabetic || properties.numericType != nil
    }

    /// White space that separates words (Unicode's White_Space), with a fast path for ASCII.
    ///
    /// The controls VT, FF and NEL are White_Space but not separators here: BERT's normalizer deletes them,
    /// joining the words on either side, so splitting there would make a chunk's counted tokens disagree with
    /// the tokenizer's (token counts must be additive across these separators).
    @inline(__always)
    var isSpace: Bool {
        if value < 0x80 { return value == 0x20 || value == 0x09 || value == 0x0A || value == 0x0D }
        return value != 0x85 && properties.isWhitespace
    }
}
