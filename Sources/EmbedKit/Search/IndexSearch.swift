import Foundation

/// One result of a query: a chunk, its score, and the index it came from.
public struct SearchHit: Sendable, Equatable {
    public var rank: Int
    /// The score the results are ranked by: cosine similarity (vector mode), BM25 (keyword mode), or the fused
    /// score (hybrid mode).
    public var score: Float
    /// The path of the index that holds the chunk.
    public var index: String
    public var chunk: StoredChunk
    /// Where the vector ranking put the chunk, when it was among its best.
    public var vector: RankingPlace?
    /// Where the keyword ranking put the chunk, when it was among its best.
    public var keyword: RankingPlace?
    /// Where the query's words occur in the chunk's text (Unicode scalar offsets), as the keyword index finds
    /// them, stems included. Empty when none does, or the index has no keyword index.
    public var matches: [Range<Int>]
    /// Other chunks with exactly the same text, in other places (when copies are collapsed).
    public var copies: [HitCopy]

    public init(
        rank: Int, score: Float, index: String, chunk: StoredChunk, vector: RankingPlace? = nil,
        keyword: RankingPlace? = nil, matches: [Range<Int>] = [], copies: [HitCopy] = []
    ) {
        self.rank = rank
        self.score = score
        self.index = index
        self.chunk = chunk
        self.vector = vector
        self.keyword = keyword
        self.matches = matches
        self.copies = copies
    }
}

/// A chunk's place in one ranking: its rank there (over every index searched) and its score.
public struct RankingPlace: Sendable, Equatable {
    public var rank: Int
    public var score: Float
}

/// A chunk whose text is the same as a result's.
public struct HitCopy: Sendable, Equatable {
    public var index: String
    public var chunk: StoredChunk
}

/// The results of one query text.
public struct QueryResult: Sendable, Equatable {
    public var query: String
    public var hits: [SearchHit]
}

/// What a search found, and what it could not search.
public struct SearchOutcome: Sendable {
    public var results: [QueryResult]
    /// Indexes left out because they could not be read or searched.
    public var problems: [(path: String, error: StoreError)]
    /// Indexes searched without their keyword index (missing or damaged): their results come from vectors
    /// alone (hybrid mode) or are absent (keyword mode).
    public var keywordProblems: [(path: String, error: StoreError)]
    /// The filter's folders (`pathPrefixes`) that no document of the searched indexes lies under: most
    /// likely a mistyped folder, which otherwise looks like a query without results.
    public var emptyPathPrefixes: [String] = []
}

/// Searches one or several indexes with many queries at once.
///
/// Vector search needs every index built with the same embedder: their vectors are then comparable and the
/// rankings can be merged. Each index is searched in its own child task, on one snapshot; each ranking is
/// merged over the indexes by score (ties: index order, then chunk id), and in hybrid mode the two merged
/// rankings are fused.
public struct IndexSearch: Sendable {
    /// The indexes searched, opened for reading, in the order their ties are broken.
    public let indexes: [EmbeddingIndex]

    public init(indexes: [EmbeddingIndex]) {
        self.indexes = indexes
    }

    /// Opens the indexes at `paths` for reading.
    /// - Parameter keepingKeywordPostings: for a process that answers many queries: see
    ///   ``EmbeddingIndex/open(_:for:keepsKeywordPostings:)``.
    /// - Throws: the ``StoreError`` of the first index that cannot be opened.
    public init(opening paths: [String], keepingKeywordPostings: Bool = false) async throws {
        let opened = await Self.open(paths, keepingKeywordPostings: keepingKeywordPostings)
        if let problem = opened.problems.first { throw problem.error }
        self.init(indexes: opened.indexes)
    }

    public var indexPaths: [String] { indexes.map(\.path) }

    /// Opens each index at `paths` for reading.
    /// - Returns: the indexes that opened, in order, and the error of each that did not.
    public static func open(_ paths: [String], keepingKeywordPostings: Bool = false) async -> (
        indexes: [EmbeddingIndex], problems: [(path: String, error: StoreError)]
    ) {
        var indexes: [EmbeddingIndex] = []
        var problems: [(path: String, error: StoreError)] = []
        for path in paths {
            do {
                indexes.append(
                    try await EmbeddingIndex.open(path, for: .read, keepsKeywordPostings: keepingKeywordPostings))
            } catch let error as StoreError {
                problems.append((path, error))
            } catch {
                problems.append((path, StoreError(.cannotOpen, "\(path): \(error)", path: path)))
            }
        }
        return (indexes, problems)
    }

    /// The recipe the queries are embedded for: that of the first index that has one (an index never written
    /// has none).
    /// - Parameter sameEmbedder: when true (searching vectors), indexes built with different embedders are an error.
    /// - Throws: ``StoreError`` `.mismatch` when two indexes were built with different embedders.
    public func sharedRecipe(sameEmbedder: Bool = true) throws -> IndexRecipe? {
        var found: (path: String, recipe: IndexRecipe)?
        for index in indexes {
            guard let recipe = index.recipe else { continue }
            if sameEmbedder, let found, found.recipe.identity != recipe.identity {
                throw StoreError(
                    .mismatch,
                    "\(index.path) was built with \(recipe.identity), but \(found.path) with \(found.recipe.identity): "
                        + "indexes searched together by vector must share one embedder (--mode keyword does not need to)",
                    path: index.path)
            }
            if found == nil { found = (index.path, recipe) }
        }
        return found?.recipe
    }

    /// Embeds `queries` with `embedder` and returns the `k` best chunks for each by vector, over all indexes,
    /// every chunk a result of its own.
    /// - Parameter skipUnreadable: when true an index that cannot be read is left out (the caller reports it);
    ///   when false its error is thrown.
    public func search(
        _ queries: [String], embedder: any Embedder, k: Int, filter: SearchFilter = .init(), skipUnreadable: Bool = true
    ) async throws -> [QueryResult] {
        try await search(
            queries, embedder: embedder,
            options: SearchOptions(mode: .vector, k: k, filter: filter, collapseCopies: false),
            skipUnreadable: skipUnreadable
        ).results
    }

    /// Searches every index with every query as `options` say.
    /// - Parameters:
    ///   - embedder: embeds the queries; not used (and may be nil) in keyword mode.
    ///   - skipUnreadable: when true an index that cannot be read, or that fails while being searched (a
    ///     damaged file can open fine and fail only in the scan), is left out and listed in the outcome's
    ///     problems; when false its error is thrown.
    public func search(
        _ queries: [String], embedder: (any Embedder)?, options: SearchOptions, skipUnreadable: Bool = true
    ) async throws -> SearchOutcome {
        guard !queries.isEmpty, options.k > 0 else {
            return SearchOutcome(
                results: queries.map { QueryResult(query: $0, hits: []) }, problems: [], keywordProblems: [])
        }
        var query = PreparedQueries(texts: queries, vectors: nil, identity: nil)
        if options.mode.usesVectors {
            guard let embedder else { preconditionFailure("vector and hybrid search need an embedder") }
            query.vectors = try await Self.embed(queries, with: embedder)
            query.identity = embedder.identity
        }
        // Every mode marks the query's words in its results, so every mode needs them.
        query.words = queries.map(KeywordQuery.words(in:))

        // Grouping, collapsed copies and the score floor can leave fewer than k results from the best `depth`
        // of each ranking; then search deeper, until k are found or the rankings are exhausted.
        var depth = max(min(options.k, Int.max / 16) * 4, 50)
        while true {
            let searched = try await searchIndexes(query, depth: depth, options: options, skipUnreadable: skipUnreadable)
            var results: [QueryResult] = []
            var short = false
            for q in queries.indices {
                let candidates = searched.indexes.flatMap { $0?.perQuery[q] ?? [] }
                let hits = HybridRanking.results(candidates, options: options)
                if hits.count < options.k { short = true }
                results.append(QueryResult(query: queries[q], hits: hits))
            }
            if short && searched.indexes.contains(where: { $0?.truncated == true }) && depth < Int.max / 4 {
                depth *= 4
                continue
            }
            markMatches(in: &results, query: query)
            let occupied = searched.indexes.reduce(into: Set<String>()) { $0.formUnion($1?.occupiedPathPrefixes ?? []) }
            return SearchOutcome(
                results: results, problems: searched.problems.sorted { $0.path < $1.path },
                keywordProblems: searched.keywordProblems.sorted { $0.path < $1.path },
                emptyPathPrefixes: options.filter.pathPrefixes.filter { !occupied.contains($0) })
        }
    }

    /// The queries in the forms the rankings need.
    struct PreparedQueries: Sendable {
        var texts: [String]
        var vectors: [[Float]]?
        var identity: EmbedderIdentity?
        /// The words of each query, for the keyword ranking and the match marks.
        var words: [[String]] = []
    }

    private static func embed(_ queries: [String], with embedder: any Embedder) async throws -> [[Float]] {
        var vectors: [[Float]] = []
        for start in stride(from: 0, to: queries.count, by: embedder.maxBatchSize) {
            let batch = Array(queries[start..<min(queries.count, start + embedder.maxBatchSize)])
            let embedded = try await embedder.embed(batch)
            try EmbeddingError.validate(
                embedded, count: batch.count, dimension: embedder.identity.dimension, source: "the embedder")
            vectors += embedded
        }
        return vectors
    }

    /// One index's candidates for every query.
    struct IndexCandidates: Sendable {
        var perQuery: [[Candidate]]
        /// True when a ranking was cut at `depth`, so searching deeper could find more.
        var truncated: Bool
        var keywordProblem: StoreError?
        /// The filter's `pathPrefixes` that some document of this index lies under.
        var occupiedPathPrefixes: Set<String> = []
    }

    private func searchIndexes(
        _ query: PreparedQueries, depth: Int, options: SearchOptions, skipUnreadable: Bool
    ) async throws -> (
        indexes: [IndexCandidates?], problems: [(path: String, error: StoreError)],
        keywordProblems: [(path: String, error: StoreError)]
    ) {
        try await withThrowingTaskGroup(of: (Int, Result<IndexCandidates, StoreError>).self) { group in
            for (position, index) in indexes.enumerated() {
                group.addTask {
                    do {
                        return (position, .success(try await Self.search(
                            index: index, position: position, query: query, depth: depth, options: options)))
                    } catch let error as StoreError where skipUnreadable && error.code != .mismatch {
                        return (position, .failure(error))
                    }
                }
            }
            var found = [IndexCandidates?](repeating: nil, count: indexes.count)
            var problems: [(path: String, error: StoreError)] = []
            var keywordProblems: [(path: String, error: StoreError)] = []
            for try await (position, outcome) in group {
                switch outcome {
                case .success(let candidates):
                    found[position] = candidates
                    if let problem = candidates.keywordProblem { keywordProblems.append((indexes[position].path, problem)) }
                case .failure(let error): problems.append((indexes[position].path, error))
                }
            }
            return (found, problems, keywordProblems)
        }
    }

    private static func search(
        index: EmbeddingIndex, position: Int, query: PreparedQueries, depth: Int, options: SearchOptions
    ) async throws -> IndexCandidates {
        let path = index.path
        if index.postgres != nil {
            return try await index.withPostgresReader { reader in
                try reader.candidates(query, position: position, depth: depth, options: options)
            }
        }
        // A reader that may not share a writer's locks reads the file as immutable; if a writer changed it
        // meanwhile, what was read may mix two states: open it again and read again.
        for attempt in 0..<3 {
            if attempt > 0 {
                try await Task.sleep(for: .milliseconds(200))
                try index.reopenReader()
            }
            let (found, changed) = try await index.withReader { reader -> (IndexCandidates?, Bool) in
                do {
                    let found = try await search(
                        reader: reader, position: position, query: query, depth: depth, options: options,
                        scans: index.scans)
                    return (found, reader.changedSinceOpened)
                } catch where reader.changedSinceOpened {
                    return (nil, true)
                }
            }
            if let found, !changed { return found }
        }
        throw StoreError(
            .busy,
            "\(path) kept changing while this user, who cannot share its writer's locks, read it; "
                + "try again when the writer has finished", path: path)
    }

    private static func search(
        reader: IndexReader, position: Int, query: PreparedQueries, depth: Int, options: SearchOptions,
        scans: ScanCoalescer
    ) async throws -> IndexCandidates {
        let path = reader.path
        let none = IndexCandidates(perQuery: query.texts.map { _ in [] }, truncated: false)
        // One snapshot from the generation check to the last chunk looked up: a writer committing meanwhile
        // must not leave rows whose chunks are gone, or texts that do not match the scored vectors.
        try reader.beginSnapshot()
        defer { reader.endSnapshot() }
        guard let settings = try reader.settings() else { return none }
        try checkIdentity(settings, query.identity, path: path)
        let filter = options.filter
        var bitmap: DocumentBitmap?
        var occupiedPathPrefixes = Set<String>()
        if !filter.acceptsEveryDocument {
            let documents = try reader.documents()
            let roots = try reader.roots().map(\.path)
            bitmap = DocumentBitmap(
                accepting: documents.filter { filter.accepts(path: $0.path, format: $0.format, roots: roots) }.map(\.id))
            occupiedPathPrefixes = Set(filter.pathPrefixes.filter { prefix in
                documents.contains { SearchFilter.path($0.path, isUnder: prefix) }
            })
        }
        var truncated = false

        // The vector ranking: chunk ids and exact scores, best first.
        var vectorHits: [[(id: Int64, score: Float)]] = query.texts.map { _ in [] }
        var hasVectors = false
        if let vectors = query.vectors, let identity = query.identity {
            hasVectors = true
            vectorHits = try await rankVectors(
                vectors, reader: reader, dimension: identity.dimension, depth: depth, minScore: filter.minScore,
                bitmap: bitmap, scan: options.scan, scans: scans)
            truncated = truncated || vectorHits.contains { $0.count == depth }
        }

        // The keyword ranking. A missing or damaged keyword table leaves this index to its vectors.
        var keywordRows: [[KeywordRow]] = query.texts.map { _ in [] }
        var keywordScores: [[Int64: Double]] = query.texts.map { _ in [:] }
        var keywordProblem: StoreError?
        if options.mode.usesKeywords {
            do {
                if let unusable = try reader.keywordIndexUnusable() {
                    keywordProblem = unusable
                } else {
                    for (q, words) in query.words.enumerated() where !words.isEmpty {
                        // In hybrid mode the vector ranking's finds need their BM25 too, for the fusion.
                        var wanted = Set<Int64>()
                        if options.mode == .hybrid, hasVectors { wanted = Set(vectorHits[q].map(\.id)) }
                        (keywordRows[q], keywordScores[q]) = try reader.keywordRanking(
                            words, limit: depth, acceptDocument: bitmap.map { bitmap in { bitmap.contains($0) } },
                            alsoScoring: wanted)
                        truncated = truncated || keywordRows[q].count == depth
                    }
                }
            } catch let error as StoreError {
                keywordProblem = StoreError(
                    error.code,
                    "\(path): its keyword index cannot be searched (\(error.message)); "
                        + "run `embed reindex --rebuild-keyword-index --db \(path)` to rebuild it", path: path)
                keywordRows = query.texts.map { _ in [] }
                keywordScores = query.texts.map { _ in [:] }
            }
        }

        // The similarity of the keyword ranking's finds, for the fusion and the score floor: their vectors read
        // from SQLite, scored exactly as a scan's candidates are.
        var similarity: [[Int64: Float]] = query.texts.map { _ in [:] }
        if hasVectors, let vectors = query.vectors, let identity = query.identity, options.mode == .hybrid {
            let wanted = Set(keywordRows.joined().map(\.chunkID))
            if !wanted.isEmpty {
                let found = try reader.vectors(ofChunks: wanted, dimension: identity.dimension)
                for q in query.texts.indices {
                    for hit in keywordRows[q] {
                        if let vector = found[hit.chunkID] {
                            similarity[q][hit.chunkID] = Float(ExactSearch.exactScore(vectors[q], vector))
                        }
                    }
                }
            }
        }

        let chunks = try reader.chunks(ids: Array(Self.chunkIDs(vectorHits, keywordRows)))
        return IndexCandidates(
            perQuery: Self.candidates(
                path: path, position: position, vectorHits: vectorHits, keywordRows: keywordRows,
                keywordScores: keywordScores, similarity: similarity, chunks: chunks),
            truncated: truncated, keywordProblem: keywordProblem, occupiedPathPrefixes: occupiedPathPrefixes)
    }

    /// Refuses to score an index's vectors with queries embedded by another embedder.
    static func checkIdentity(_ settings: IndexSettings, _ identity: EmbedderIdentity?, path: String) throws {
        guard let identity, settings.embedder != identity else { return }
        if let message = IndexFile.prefixMismatchMessage(stored: settings.embedder, requested: identity, path: path) {
            throw StoreError(.mismatch, message, path: path)
        }
        throw StoreError(
            .mismatch,
            "\(path) was built with \(settings.embedder), not \(identity): query it with --embedder \(settings.embedder.name)",
            path: path)
    }

    /// Every chunk either ranking found, for any query.
    static func chunkIDs(_ vectorHits: [[(id: Int64, score: Float)]], _ keywordRows: [[KeywordRow]]) -> Set<Int64> {
        var ids = Set<Int64>()
        for hits in vectorHits { ids.formUnion(hits.map(\.id)) }
        for rows in keywordRows { ids.formUnion(rows.map(\.chunkID)) }
        return ids
    }

    /// One index's candidates for each query, from its two rankings: a chunk either found, with its similarity
    /// and keyword score when known.
    static func candidates(
        path: String, position: Int, vectorHits: [[(id: Int64, score: Float)]], keywordRows: [[KeywordRow]],
        keywordScores: [[Int64: Double]], similarity: [[Int64: Float]], chunks: [Int64: StoredChunk]
    ) -> [[Candidate]] {
        vectorHits.indices.map { q -> [Candidate] in
            var candidates: [Int64: Candidate] = [:]
            for hit in vectorHits[q] {
                guard let chunk = chunks[hit.id] else { continue }
                candidates[hit.id] = Candidate(
                    index: path, indexPosition: position, chunk: chunk, similarity: hit.score,
                    keywordScore: keywordScores[q][hit.id].map(Float.init), foundByVector: true, foundByKeyword: false)
            }
            for row in keywordRows[q] {
                if candidates[row.chunkID] != nil {
                    candidates[row.chunkID]!.keywordScore = Float(row.score)
                    candidates[row.chunkID]!.foundByKeyword = true
                } else if let chunk = chunks[row.chunkID] {
                    candidates[row.chunkID] = Candidate(
                        index: path, indexPosition: position, chunk: chunk, similarity: similarity[q][row.chunkID],
                        keywordScore: Float(row.score), foundByVector: false, foundByKeyword: true)
                }
            }
            return Array(candidates.values)
        }
    }

    /// Float data above this many bytes is streamed from the vector file rather than held in memory.
    static let streamAboveBytes = 1 << 30

    /// The `depth` best chunks for each query by vector: streamed from the vector file's segments (their int8
    /// codes when the index keeps them) when `scan` says so, else scanned in memory (see ``VectorScan``).
    private static func rankVectors(
        _ vectors: [[Float]], reader: IndexReader, dimension: Int, depth: Int, minScore: Float?,
        bitmap: DocumentBitmap?, scan: VectorScan, scans: ScanCoalescer
    ) async throws -> [[(id: Int64, score: Float)]] {
        // Vectors this process holds already (`embed serve`) are scanned where they are, without opening the file.
        let held = scan == .auto ? try reader.cachedVectors(dimension: dimension) : nil
        if scan != .memory, held == nil, let segments = try reader.vectorSegments(dimension: dimension),
            scan != .auto || segments.hasCodes || segments.liveRows * dimension * 4 > streamAboveBytes
        {
            let useCodes = segments.hasCodes && scan != .float32
            var accept: (@Sendable (Int64) -> Bool)?
            if let bitmap { accept = { bitmap.contains($0) } }
            do {
                return try await SegmentSearch.search(
                    vectors, in: segments, k: depth, useCodes: useCodes, minScore: minScore, acceptDocument: accept
                ).map { $0.map { ($0.id, $0.score) } }
            } catch let error as StoreError where error.code == .corrupt {
                // Damage the checksums found while scanning: write the file anew from SQLite, and scan that.
                if let rewritten = try reader.vectorSegments(dimension: dimension, rewrite: true) {
                    return try await SegmentSearch.search(
                        vectors, in: rewritten, k: depth, useCodes: rewritten.hasCodes && scan != .float32,
                        minScore: minScore, acceptDocument: accept
                    ).map { $0.map { ($0.id, $0.score) } }
                }
            }
        }
        func rank(_ matrix: VectorMatrix) async -> [[ScoredRow]] {
            guard let bitmap else {
                // Concurrent searches without a filter share their passes over the vectors.
                return await scans.search(vectors, in: matrix, k: depth, minScore: minScore)
            }
            return await ExactSearch.search(
                vectors, in: matrix, k: depth, minScore: minScore,
                accept: { row in bitmap.contains(matrix.documentIDs[row]) })
        }
        var matrix = try held ?? reader.vectors(dimension: dimension)
        var rows = await rank(matrix)
        if matrix.isFromVectorFile && !ExactSearch.isPlausible(rows, queries: vectors, in: matrix) {
            // Scores no row of the file can reach: it is damaged in a way its checksums missed. Read SQLite.
            matrix = try reader.vectors(dimension: dimension, believeFile: false)
            rows = await rank(matrix)
        }
        return rows.map { $0.map { (matrix.ids[$0.row], $0.score) } }
    }

    /// Marks where each result holds the query's words. Only decoration: if marking fails, results stay unmarked.
    private func markMatches(in results: inout [QueryResult], query: PreparedQueries) {
        for q in results.indices {
            guard !results[q].hits.isEmpty,
                let found = try? MatchMarker.matches(of: query.words[q], in: results[q].hits.map(\.chunk.text))
            else { continue }
            for (h, ranges) in found.enumerated() { results[q].hits[h].matches = ranges }
        }
    }
}
