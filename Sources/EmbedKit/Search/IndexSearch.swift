import Foundation

/// One result of a query: a chunk, its score, and the index it came from.
public struct SearchHit: Sendable, Equatable {
    public var rank: Int
    public var score: Float
    /// The path of the index that holds the chunk.
    public var index: String
    public var chunk: StoredChunk
}

/// The results of one query text.
public struct QueryResult: Sendable, Equatable {
    public var query: String
    public var hits: [SearchHit]
}

/// Searches one or several indexes with many queries at once.
///
/// Every index must have been built with the same embedder: their vectors are then comparable and the
/// rankings can be merged. Each index is loaded and scanned in its own child task; the hits are merged by
/// score (ties: index order, then row order).
public struct IndexSearch: Sendable {
    public let indexPaths: [String]

    public init(indexPaths: [String]) {
        self.indexPaths = indexPaths
    }

    /// The settings shared by the indexes that can be opened, and a message for each that cannot.
    /// - Throws: ``StoreError`` `.mismatch` when two indexes were built with different embedders.
    public func settings() throws -> (settings: IndexSettings?, problems: [(path: String, error: StoreError)]) {
        var found: (path: String, settings: IndexSettings)?
        var problems: [(String, StoreError)] = []
        for path in indexPaths {
            do {
                guard let settings = try IndexReader(path: path).settings() else { continue }
                if let found, found.settings.embedder != settings.embedder {
                    throw StoreError(
                        .mismatch,
                        "\(path) was built with \(settings.embedder), but \(found.path) with \(found.settings.embedder): "
                            + "indexes searched together must share one embedder",
                        path: path)
                }
                if found == nil { found = (path, settings) }
            } catch let error as StoreError where error.code != .mismatch {
                problems.append((path, error))
            }
        }
        return (found?.settings, problems)
    }

    /// Embeds `queries` with `embedder` and returns the `k` best chunks for each, over all indexes.
    /// - Parameter skipUnreadable: when true an index that cannot be read is left out (the caller reports it);
    ///   when false its error is thrown.
    public func search(
        _ queries: [String], embedder: any Embedder, k: Int, filter: SearchFilter = .init(), skipUnreadable: Bool = true
    ) async throws -> [QueryResult] {
        try await searchReportingProblems(
            queries, embedder: embedder, k: k, filter: filter, skipUnreadable: skipUnreadable
        ).results
    }

    /// Like ``search(_:embedder:k:filter:skipUnreadable:)``, and also returns each index that was left out
    /// because it failed while being searched (a damaged file can open fine and fail only in the scan).
    public func searchReportingProblems(
        _ queries: [String], embedder: any Embedder, k: Int, filter: SearchFilter = .init(), skipUnreadable: Bool = true
    ) async throws -> (results: [QueryResult], problems: [(path: String, error: StoreError)]) {
        guard !queries.isEmpty else { return ([], []) }
        var vectors: [[Float]] = []
        for start in stride(from: 0, to: queries.count, by: embedder.maxBatchSize) {
            let batch = Array(queries[start..<min(queries.count, start + embedder.maxBatchSize)])
            let embedded = try await embedder.embed(batch)
            try EmbeddingError.validate(
                embedded, count: batch.count, dimension: embedder.identity.dimension, source: "the embedder")
            vectors += embedded
        }
        let identity = embedder.identity
        let queryVectors = vectors
        var problems: [(path: String, error: StoreError)] = []
        let perIndex = try await withThrowingTaskGroup(of: (Int, Result<[[SearchHit]], StoreError>).self) { group in
            for (position, path) in indexPaths.enumerated() {
                group.addTask {
                    do {
                        return (position, .success(try await Self.search(
                            path: path, vectors: queryVectors, identity: identity, k: k, filter: filter)))
                    } catch let error as StoreError where skipUnreadable && error.code != .mismatch {
                        return (position, .failure(error))
                    }
                }
            }
            var results = [[[SearchHit]]?](repeating: nil, count: indexPaths.count)
            for try await (position, outcome) in group {
                switch outcome {
                case .success(let hits): results[position] = hits
                case .failure(let error): problems.append((indexPaths[position], error))
                }
            }
            return results
        }
        problems.sort { $0.path < $1.path }
        let results = queries.indices.map { q in
            let merged = perIndex.compactMap { $0?[q] }.joined().sorted { a, b in
                a.score > b.score || (a.score == b.score && a.rank < b.rank)
            }
            let hits = merged.prefix(k).enumerated().map { rank, hit in
                var hit = hit
                hit.rank = rank + 1
                return hit
            }
            return QueryResult(query: queries[q], hits: Array(hits))
        }
        return (results, problems)
    }

    private static func search(
        path: String, vectors: [[Float]], identity: EmbedderIdentity, k: Int, filter: SearchFilter
    ) async throws -> [[SearchHit]] {
        // A reader that may not share a writer's locks reads the file as immutable; if a writer changed it
        // meanwhile, what was read may mix two states: read again.
        for _ in 0..<3 {
            let reader = try IndexReader(path: path)
            do {
                let hits = try await search(
                    reader: reader, vectors: vectors, identity: identity, k: k, filter: filter)
                if !reader.changedSinceOpened { return hits }
            } catch where reader.changedSinceOpened {}
            try await Task.sleep(for: .milliseconds(200))
        }
        throw StoreError(
            .busy,
            "\(path) kept changing while this user, who cannot share its writer's locks, read it; "
                + "try again when the writer has finished", path: path)
    }

    private static func search(
        reader: IndexReader, vectors: [[Float]], identity: EmbedderIdentity, k: Int, filter: SearchFilter
    ) async throws -> [[SearchHit]] {
        let path = reader.path
        // One snapshot from the generation check to the last chunk looked up: a writer committing meanwhile
        // must not leave rows whose chunks are gone, or texts that do not match the scored vectors.
        try reader.beginSnapshot()
        defer { reader.endSnapshot() }
        guard let settings = try reader.settings() else { return vectors.map { _ in [] } }
        guard settings.embedder == identity else {
            if let message = IndexFile.prefixMismatchMessage(stored: settings.embedder, requested: identity, path: path) {
                throw StoreError(.mismatch, message, path: path)
            }
            throw StoreError(
                .mismatch,
                "\(path) was built with \(settings.embedder), not \(identity): query it with --embedder \(settings.embedder.name)",
                path: path)
        }
        func rank(_ matrix: VectorMatrix) async throws -> [[ScoredRow]] {
            var accept: (@Sendable (Int) -> Bool)? = nil
            if !filter.acceptsEveryDocument {
                let bitmap = DocumentBitmap(accepting: try reader.documents().filter {
                    filter.accepts(path: $0.path, format: $0.format)
                }.map(\.id))
                accept = { row in bitmap.contains(matrix.documentIDs[row]) }
            }
            return await ExactSearch.search(vectors, in: matrix, k: k, minScore: filter.minScore, accept: accept)
        }
        var matrix = try reader.vectors(dimension: identity.dimension)
        var rows = try await rank(matrix)
        if matrix.isFromVectorFile && !ExactSearch.isPlausible(rows, queries: vectors, in: matrix) {
            // Scores no row of the file can reach: it is damaged in a way its checksums missed. Read SQLite.
            matrix = try reader.vectors(dimension: identity.dimension, believeFile: false)
            rows = try await rank(matrix)
        }
        let chunks = try reader.chunks(ids: Array(Set(rows.joined().map { matrix.ids[$0.row] })))
        return rows.map { ranked in
            ranked.enumerated().compactMap { rank, row in
                chunks[matrix.ids[row.row]].map {
                    SearchHit(rank: rank + 1, score: row.score, index: path, chunk: $0)
                }
            }
        }
    }
}
