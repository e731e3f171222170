import Foundation

/// Paths as the user would type them: relative to the working directory when inside it.
enum DisplayPath {
    static let workingDirectory = FileManager.default.currentDirectoryPath

    /// The path relative to the working directory when it lies under it, escaped for a terminal.
    static func of(_ path: String) -> String {
        let prefix = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
        return escaped(path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path)
    }

    /// `text` with control characters written as escapes (`\n`, `\e`, `\x7f`...): a file name may hold a
    /// newline that fakes a result line, or an escape sequence that clears the screen.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{1B}": result += "\\e"
            default: result += "\\x" + String(scalar.value, radix: 16)
            }
        }
        return result
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}
