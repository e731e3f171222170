/// Which rankings a query uses.
public enum SearchMode: String, Sendable, CaseIterable {
    /// Exact cosine similarity of the embedded query to every chunk.
    case vector
    /// BM25 over the words of the chunks (SQLite FTS5): exact terms, names, identifiers, rare words.
    case keyword
    /// Both rankings fused into one (see ``Fusion``).
    case hybrid

    public var usesVectors: Bool { self != .keyword }
    public var usesKeywords: Bool { self != .vector }
}

/// How hybrid search turns a vector ranking and a keyword ranking into one.
public enum Fusion: Sendable, Equatable {
    /// Reciprocal rank fusion: a chunk scores `w / (constant + rank)` from the vector ranking plus
    /// `(1 - w) / (constant + rank)` from the keyword ranking, with `w = vectorWeight`. Scores are ignored.
    case reciprocalRank(constant: Double, vectorWeight: Double)
    /// Each chunk found by either ranking gets both its cosine similarity and its BM25 score, each rescaled
    /// to 0...1 over the chunks found for the query (min-max), and scores `w · cosine + (1 - w) · BM25`.
    case linear(vectorWeight: Double)

    /// The default, chosen on Cranfield and CISI (benchmarks/retrieval, docs/decisions.md).
    public static let standard = Fusion.linear(vectorWeight: 0.7)
}

/// What one result stands for.
public enum ResultGrouping: String, Sendable, CaseIterable {
    /// Each result is a chunk.
    case chunk
    /// Each result is a document, represented by its best chunk.
    case document
}

/// How the vector ranking reads the vectors. Every choice gives the same answer; they differ in memory and speed.
public enum VectorScan: String, Sendable, CaseIterable {
    /// Streams the vector file when the index keeps int8 codes or its vectors pass 1 GiB, else holds them in memory.
    case auto
    /// All vectors read into memory, then scanned (kept between queries by `embed serve`).
    case memory
    /// The vector file's float32 rows streamed, a few MiB per core at a time.
    case float32
    /// The vector file's int8 codes streamed (float32 rows when the index has no codes), candidates re-scored exactly.
    case int8
}

/// What a search returns, and how it ranks.
public struct SearchOptions: Sendable, Equatable {
    public var mode: SearchMode
    /// Results per query.
    public var k: Int
    public var filter: SearchFilter
    public var fusion: Fusion
    public var grouping: ResultGrouping
    /// When true, chunks with identical text are one result that lists every copy; when false each is its own.
    public var collapseCopies: Bool
    public var scan: VectorScan

    public init(
        mode: SearchMode = .hybrid, k: Int = 10, filter: SearchFilter = .init(), fusion: Fusion = .standard,
        grouping: ResultGrouping = .chunk, collapseCopies: Bool = true, scan: VectorScan = .auto
    ) {
        self.scan = scan
        self.mode = mode
        self.k = k
        self.filter = filter
        self.fusion = fusion
        self.grouping = grouping
        self.collapseCopies = collapseCopies
    }
}
