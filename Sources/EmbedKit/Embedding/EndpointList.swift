import Foundation

/// The endpoints of an embedding fleet as a file lists them (`embed --endpoints FILE`): one base URL per line;
/// blank lines and lines starting with `#` are ignored.
public enum EndpointList {
    /// The base URLs `text` lists, in order.
    /// - Parameter source: names the file in errors.
    /// - Throws: ``UsageError`` naming the file and the line of the first line that is not an http(s) URL with a
    ///   host, or that holds a user name or password (it would be stored in the index); or when none is listed.
    public static func parse(_ text: String, source: String) throws -> [String] {
        var urls: [String] = []
        // "\r\n" is one Character, one line end: Windows files read the same and their line numbers stay right.
        for (number, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let place = "\(source):\(number + 1)"
            guard let url = URL(string: line), let scheme = url.scheme?.lowercased(),
                scheme == "http" || scheme == "https", url.host?.isEmpty == false, !line.contains(" ")
            else {
                throw UsageError(
                    "\(place): \(EmbedderIdentity.quoted(String(line.prefix(200)))) is not an http(s) URL; "
                        + "write one base URL per line, such as http://10.0.0.2:8080/v1.")
            }
            guard !HTTPURLs.hasUserInfo(url) else {
                throw UsageError(
                    "\(place): the URL must not contain a user name or password (they would be stored in the index "
                        + "in plain text). Give the API key in an environment variable instead (--api-key-env).")
            }
            urls.append(line)
        }
        guard !urls.isEmpty else {
            throw UsageError(
                "\(source): lists no endpoint. Write one base URL per line, such as http://10.0.0.2:8080/v1.")
        }
        return urls
    }

    /// The base URLs the file at `path` lists.
    /// - Throws: ``UsageError`` when it cannot be read, or as ``parse(_:source:)``.
    public static func read(_ path: String) throws -> [String] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let why = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"
            throw UsageError("\(path): \(why) (--endpoints lists one base URL per line).", cause: error)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw UsageError("\(path): is not UTF-8 text.") }
        return try parse(text, source: path)
    }
}
