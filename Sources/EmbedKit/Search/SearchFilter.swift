import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which chunks a query may return. Applied while scanning, so `k` results come back whenever `k` match.
public struct SearchFilter: Sendable, Equatable {
    /// Absolute folder or file paths; a chunk's document must lie under one of them. Empty: any.
    public var pathPrefixes: [String] = []
    /// Globs (`*`, `?`, `[...]`) matched against the document's absolute path; one must match. Empty: any.
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

    public func accepts(path: String, format: DocumentFormat) -> Bool {
        if !formats.isEmpty && !formats.contains(format) { return false }
        if !pathPrefixes.isEmpty
            && !pathPrefixes.contains(where: { path == $0 || path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") })
        {
            return false
        }
        if !pathGlobs.isEmpty && !pathGlobs.contains(where: { fnmatch($0, path, 0) == 0 }) { return false }
        return true
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
