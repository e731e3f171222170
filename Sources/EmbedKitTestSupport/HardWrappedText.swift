/// Plain text as old documentation and test collections have it: a paragraph broken into lines at 60 columns.
public enum HardWrappedText {
    /// A title line, a blank line, and 12 sentences of 12 words wrapped at 60 columns.
    public static func article(title: String) -> String {
        let sentences = (1...12).map { "Sentence \($0) tells of the glacier that moves slowly down its long valley." }
        var lines: [String] = []
        var line = ""
        for word in sentences.joined(separator: " ").split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > 60 {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        lines.append(line)
        return title + "\n\n" + lines.joined(separator: "\n") + "\n"
    }
}
