/// BERT's character classes, as the Hugging Face tokenizers library defines them.
///
/// The tokenizers library takes general categories from tables of Unicode 8.0, while Swift's are
/// newer: a format character or non-spacing mark assigned after Unicode 8.0 is kept by Hugging Face,
/// and a few characters changed category since. Both differences are reproduced here; a test over
/// every code point against the Python library found no other difference.
enum BertCharacters {
    /// True when `scalar` was assigned in Unicode 8.0 or earlier (the tokenizers library's tables).
    private static func isInHuggingFaceTables(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major < 8 || (age.major == 8 && age.minor == 0)
    }

    /// Whitespace: tab, newline, carriage return and Unicode `White_Space`.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        case 0..<0x80: return false
        default: return scalar.properties.isWhitespace
        }
    }

    /// Characters the clean-up removes: NUL, U+FFFD, and "other" characters (control, format,
    /// private use, surrogate; not unassigned) except tab, newline and carriage return.
    static func isRemoved(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0, 0xFFFD: return true
        case 0x20..<0x7F: return false
        default:
            switch scalar.properties.generalCategory {
            case .control, .privateUse, .surrogate: return true
            case .format: return isInHuggingFaceTables(scalar)
            default: return false
            }
        }
    }

    /// CJK Unified Ideographs and their extensions and compatibility blocks (BERT's "Chinese characters").
    static func isCJKIdeograph(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
            0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// Punctuation: all ASCII punctuation and symbols, plus Unicode general categories `P*`.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: return true
        case 0..<0x80: return false
        default:
            switch scalar.properties.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                .initialPunctuation, .finalPunctuation, .otherPunctuation:
                return true
            default:
                return false
            }
        }
    }

    /// Unicode general category `Mn`, removed after canonical decomposition to strip accents.
    static func isNonspacingMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x300: return false
        // Spacing marks in Unicode 8.0 that became non-spacing later, and the other way round.
        case 0x1885, 0x1886, 0xA9BD, 0x111C9: return false
        case 0x1734, 0x1171E: return true
        default:
            return scalar.properties.generalCategory == .nonspacingMark && isInHuggingFaceTables(scalar)
        }
    }
}
