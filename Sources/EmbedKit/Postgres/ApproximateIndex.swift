/// An approximate nearest-neighbour index over a PostgreSQL index's vectors (`embed ingest --ann hnsw`): pgvector's
/// HNSW graph, which answers a query without reading every vector, at the price of missing some of the true
/// nearest (recall below 1; `benchmarks/postgres` measures it). Recorded in the index with its parameters; the
/// default is none, an exact scan.
public struct ApproximateIndex: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case none
        case hnsw
    }

    public var kind: Kind
    /// HNSW's links per node (pgvector's `m`, 2 to 100). Default 16.
    public var m: Int
    /// HNSW's candidate list while building (pgvector's `ef_construction`, at least 2·m). Default 64.
    public var efConstruction: Int
    /// HNSW's candidate list while searching (pgvector's `hnsw.ef_search`, 1 to 1000): higher finds more of the
    /// true nearest, slower. A query searches at least `depth + 32`. Default 100 (pgvector's own is 40).
    public var efSearch: Int

    public init(kind: Kind, m: Int = 16, efConstruction: Int = 64, efSearch: Int = 100) {
        self.kind = kind
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
    }

    public static let none = ApproximateIndex(kind: .none)

    /// The parameters pgvector accepts.
    public var isValid: Bool {
        kind == .none
            || ((2...100).contains(m) && (2 * m...1000).contains(efConstruction) && (1...1000).contains(efSearch))
    }

    public var description: String {
        kind == .none
            ? "none (exact scan)" : "hnsw (m \(m), ef_construction \(efConstruction), ef_search \(efSearch))"
    }

    /// The candidate list a query searches for `depth` results (pgvector's `hnsw.ef_search`, at most 1000).
    func efSearch(depth: Int) -> Int { min(1000, max(efSearch, depth + PostgresReader.rescoreMargin)) }

    private enum CodingKeys: String, CodingKey {
        case kind
        case m
        case efConstruction = "ef_construction"
        case efSearch = "ef_search"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(Kind.self, forKey: .kind)
        m = try container.decode(Int.self, forKey: .m)
        efConstruction = try container.decode(Int.self, forKey: .efConstruction)
        // Recorded before it was a setting: the default.
        efSearch = try container.decodeIfPresent(Int.self, forKey: .efSearch) ?? 100
    }
}
