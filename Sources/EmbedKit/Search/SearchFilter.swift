import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which chunks a query may return. Applied while scanning, so `k` results come back whenever `k` match.
public struct SearchFilter: Sendable, Equatable {
    /// Absolute folder or file paths; a chunk's document must lie under one of them. Empty: any.
    public var pathPrefixes: [String] = []
    /// Globs (`*`, `?`, `[...]`), one of which must match; empty: any. As ingest's `include` globs
    /// (``FileWalker/globMatches(_:relativePath:)``): one with a `/` matches the document's path below its root,
    /// one starting with `/` its absolute path, others its file name.
    public var pathGlobs: [String] = []
    /// Formats the document must have. Empty: any.
    public var formats: Set<DocumentFormat> = []
    /// The lowest score returned.
    public var minScore: Float?

    public init(
        pathPrefixes: [String] = [], pathGlobs: [String] = [], formats: Set<DocumentFormat> = [], minScore: Float? = nil
    ) {
        self.pathPrefixes = pathPrefixes
        self.pathGlobs = pathGlobs
        self.formats = formats
        self.minScore = minScore
    }

    /// True when no document is excluded by path or format.
    public var acceptsEveryDocument: Bool { pathPrefixes.isEmpty && pathGlobs.isEmpty && formats.isEmpty }

    /// Whether the filter lets a document through.
    /// - Parameter roots: the index's roots, for globs that match the path below a root.
    public func accepts(path: String, format: DocumentFormat, roots: [String] = []) -> Bool {
        if !formats.isEmpty && !formats.contains(format) { return false }
        if !pathPrefixes.isEmpty && !pathPrefixes.contains(where: { Self.path(path, isUnder: $0) }) { return false }
        if !pathGlobs.isEmpty {
            let relative = Self.relativePath(path, roots: roots)
            let matched = pathGlobs.contains { glob in
                glob.hasPrefix("/") ? fnmatch(glob, path, 0) == 0 : FileWalker.globMatches(glob, relativePath: relative)
            }
            if !matched { return false }
        }
        return true
    }

    /// Whether `path` is `prefix` or lies below it.
    public static func path(_ path: String, isUnder prefix: String) -> Bool {
        path == prefix || path.hasPrefix(prefix.hasSuffix("/") ? prefix : prefix + "/")
    }

    /// `path` below the deepest of `roots` it lies under (the root of a file root is its folder); the path
    /// itself when under none.
    static func relativePath(_ path: String, roots: [String]) -> String {
        var best: String?
        for root in roots where path != root && Self.path(path, isUnder: root) && root.count > (best?.count ?? -1) {
            best = root
        }
        guard let best else { return roots.contains(path) ? (path as NSString).lastPathComponent : path }
        return String(path.dropFirst(best.hasSuffix("/") ? best.count : best.count + 1))
    }
}

/// One bit per document id: which documents a filter accepts. Shared read-only by the scanning tasks.
struct DocumentBitmap: Sendable {
    private let words: [UInt64]

    init(accepting ids: [Int64]) {
        let largest = ids.max() ?? 0
        var words = [UInt64](repeating: 0, count: Int(largest / 64) + 1)
        for id in ids where id >= 0 { words[Int(id / 64)] |= 1 << UInt64(id % 64) }
        self.words = words
    }

    @inline(__always)
    func contains(_ id: Int64) -> Bool {
        let word = Int(id >> 6)
        return id >= 0 && word < words.count && words[word] & (1 << UInt64(id & 63)) != 0
    }
}
