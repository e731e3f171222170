#if canImport(Glibc)
    import Glibc
#endif

/// The patterns of one `.gitignore` (or `.ignore`) file, with git's meaning: paths are relative to the file's
/// folder; a pattern with a slash before its end is anchored there, one without matches a name at any depth;
/// a trailing `/` matches folders only; `**` spans folders; `!` re-includes; `#` starts a comment; a backslash
/// escapes the next character; the last matching pattern decides.
public struct IgnorePatterns: Sendable, Equatable {
    struct Pattern: Sendable, Equatable {
        /// Path segments, each an fnmatch pattern, or `**` for any number of segments.
        var segments: [String]
        var negated: Bool
        var directoryOnly: Bool
    }

    var patterns: [Pattern] = []

    public var isEmpty: Bool { patterns.isEmpty }

    public init(_ text: String) {
        for rawLine in text.split(whereSeparator: \.isNewline) {
            if let pattern = Self.parse(rawLine) { patterns.append(pattern) }
        }
    }

    static func parse(_ rawLine: Substring) -> Pattern? {
        var line = Array(rawLine)
        guard let first = line.first, first != "#" else { return nil }
        // Trailing spaces are dropped unless escaped with a backslash.
        while line.last == " ", line.count >= 2, line[line.count - 2] != "\\" { line.removeLast() }
        if line == [" "] { return nil }
        var negated = false
        if line.first == "!" {
            negated = true
            line.removeFirst()
        }
        var directoryOnly = false
        if line.last == "/", !(line.count >= 2 && line[line.count - 2] == "\\") {
            directoryOnly = true
            line.removeLast()
        }
        // A slash at the start or in the middle anchors the pattern to the file's folder.
        let anchored = line.contains("/")
        var segments = String(line).split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard !segments.isEmpty else { return nil }
        if !anchored { segments.insert("**", at: 0) }
        return Pattern(segments: segments, negated: negated, directoryOnly: directoryOnly)
    }

    /// Whether `relativePath` (below this file's folder, `/`-separated) is ignored: true when ignored, false when
    /// re-included by a `!` pattern, nil when no pattern matches.
    public func match(_ relativePath: Substring, isDirectory: Bool) -> Bool? {
        let path = relativePath.split(separator: "/", omittingEmptySubsequences: true)
        for pattern in patterns.reversed() where !pattern.directoryOnly || isDirectory {
            if Self.matches(pattern.segments[...], path[...]) { return !pattern.negated }
        }
        return nil
    }

    static func matches(_ pattern: ArraySlice<String>, _ path: ArraySlice<Substring>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" {
            let rest = pattern.dropFirst()
            // A trailing `/**` matches everything inside, not the folder itself.
            if rest.isEmpty { return !path.isEmpty }
            var tail = path
            while true {
                if matches(rest, tail) { return true }
                if tail.isEmpty { return false }
                tail = tail.dropFirst()
            }
        }
        guard let name = path.first, fnmatch(first, String(name), 0) == 0 else { return false }
        return matches(pattern.dropFirst(), path.dropFirst())
    }
}

/// The ignore files that apply in one folder: its own and its ancestors', innermost first. Shared, immutable, and
/// as long as the folder's depth, so the walker's memory stays bounded by depth.
final class IgnoreScope: Sendable {
    /// Absolute path of the folder the patterns are relative to.
    let base: String
    let patterns: IgnorePatterns
    let parent: IgnoreScope?

    init(base: String, patterns: IgnorePatterns, parent: IgnoreScope?) {
        self.base = base
        self.patterns = patterns
        self.parent = parent
    }

    /// True when `path` (absolute) is ignored: the innermost file with a matching pattern decides.
    func ignores(_ path: String, isDirectory: Bool) -> Bool {
        var scope: IgnoreScope? = self
        while let current = scope {
            let prefix = current.base == "/" ? "/" : current.base + "/"
            if path.hasPrefix(prefix),
                let ignored = current.patterns.match(path.dropFirst(prefix.count), isDirectory: isDirectory)
            {
                return ignored
            }
            scope = current.parent
        }
        return false
    }

    /// The names of ignore files read in each folder; later ones override earlier ones (`.ignore` is the
    /// tool-neutral file that ripgrep and fd read too).
    static let fileNames = [".gitignore", ".ignore"]

    /// The patterns of the ignore files in `folder` whose names are in `present`, or nil when there are none.
    /// Unreadable or oversized files are passed over: they are not documents, and git would complain itself.
    static func load(folder: String, present: Set<String>) -> IgnorePatterns? {
        var text = ""
        for name in fileNames where present.contains(name) {
            let path = folder == "/" ? "/" + name : folder + "/" + name
            guard let bytes = FileWalker.readRegularFile(path, limit: 1 << 20) else { continue }
            text += String(decoding: bytes, as: UTF8.self) + "\n"
        }
        let patterns = IgnorePatterns(text)
        return patterns.isEmpty ? nil : patterns
    }
}
