/// A conservative estimate of token counts for OpenAI-style byte-pair-encoding tokenizers (`cl100k_base`,
/// `o200k_base`), for sizing chunks and requests when the real tokenizer is not available.
///
/// Each run of ASCII letters and digits counts one token per started 4 characters (English averages about 4
/// characters per token); each non-ASCII letter or digit (CJK, Cyrillic, ...) counts one token; each other
/// non-space character counts one token; whitespace counts nothing. English prose comes out slightly above
/// the real count, CJK text about at it. Counts are additive across whitespace, as ``TokenCounter`` requires.
public struct OpenAITokenEstimator: TokenCounter {
    public init() {}

    public func tokenCount(_ text: Substring) -> Int {
        var count = 0
        var asciiRun = 0
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                let v = scalar.value
                let isAlnum = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A)
                if isAlnum {
                    asciiRun += 1
                    continue
                }
                count += (asciiRun + 3) / 4
                asciiRun = 0
                if !scalar.properties.isWhitespace { count += 1 }
            } else {
                count += (asciiRun + 3) / 4
                asciiRun = 0
                if !scalar.properties.isWhitespace { count += 1 }
            }
        }
        count += (asciiRun + 3) / 4
        return count
    }

    /// The longest prefix of `text`, ending at a character boundary, whose estimate is at most `limit` tokens.
    public func prefix(of text: String, maxTokens limit: Int) -> Substring {
        if tokenCount(text[...]) <= limit { return text[...] }
        let ends = Array(text.indices) + [text.endIndex]
        // Estimates of prefixes never decrease as the prefix grows, so binary search for the last that fits.
        var low = 0
        var high = ends.count - 1  // ends[high] is the whole text, which does not fit
        while high - low > 1 {
            let mid = (low + high) / 2
            if tokenCount(text[..<ends[mid]]) <= limit { low = mid } else { high = mid }
        }
        return text[..<ends[low]]
    }
}
