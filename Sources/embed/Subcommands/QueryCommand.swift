import ArgumentParser
import EmbedKit
import EmbedKitBERT
import Foundation

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Search one or more indexes with one or more queries.",
        discussion: """
            Each TEXT is one query; with none, queries are read from --queries-file or, one per line, from \
            stdin. Queries are searched together; several --db indexes are searched at once and their results \
            merged into one ranking.

            Modes: `vector` ranks chunks by the cosine similarity of their embeddings to the query's (the \
            index's own embedder); `keyword` by BM25 over their words (exact terms, names, identifiers); \
            `hybrid` (the default) fuses the two. Chunks with the same text are one result that lists every \
            copy, unless --all.

            \(ExitStatus.queryHelp)
            """)

    @Argument(help: "Query texts.")
    var queries: [String] = []

    @Option(
        name: .long, help: "Index to search (repeatable). Default: \(StoreOptions.defaultHelp).", completion: .file())
    var db: [String] = []

    // Unconditional, so that `-k -1` reaches validate() and gets its own message.
    @Option(name: .shortAndLong, parsing: .unconditional, help: "Results per query, 1 or more.")
    var k: Int = 10

    @Option(help: "A file with one query per line; - reads stdin.", completion: .file())
    var queriesFile: String?

    @Option(help: "Only documents under this folder or file (repeatable).", completion: .file())
    var under: [String] = []

    @Option(
        help: ArgumentHelp(
            "Only documents matching this glob, e.g. 'guide/*.md' (repeatable).",
            discussion: """
                As ingest's --include: a glob with / matches the path below the document's root (one starting \
                with / its absolute path), others the file name.
                """))
    var path: [String] = []

    @Option(
        help: "Only documents of this format: text, markdown, html, xml, rst (repeatable).",
        completion: .list(rawValues(DocumentFormat.self)))
    var format: [String] = []

    @Option(help: "Only results scoring at least this much: cosine similarity (vector, hybrid), BM25 (keyword).")
    var minScore: Float?

    @Option(
        help: "How to rank: vector, keyword or hybrid.", completion: .list(rawValues(SearchMode.self)),
        transform: choice("--mode"))
    var mode: SearchMode = .hybrid

    @Option(
        help: "What a result is: chunk, or document (its best chunk).",
        completion: .list(rawValues(ResultGrouping.self)), transform: choice("--group"))
    var group: ResultGrouping = .chunk

    @Flag(help: "Show every copy of a chunk text as its own result, instead of one result listing the copies.")
    var all = false

    @Option(help: ArgumentHelp("Hybrid fusion: linear (rescaled scores) or rrf (reciprocal ranks).", visibility: .hidden))
    var fusion: String?

    @Option(help: ArgumentHelp("Hybrid fusion: the weight of the vector ranking, 0 to 1.", visibility: .hidden))
    var vectorWeight: Double?

    @Option(help: ArgumentHelp("Reciprocal rank fusion's constant.", visibility: .hidden))
    var rrfK: Double?

    @Option(
        help: ArgumentHelp(
            "How the vectors are read: auto, memory, float32 (the vector file streamed) or int8 (its codes streamed, "
                + "candidates re-scored exactly). The answers are the same; for measuring.",
            visibility: .hidden),
        transform: choice("--scan"))
    var scan: VectorScan = .auto

    @Flag(help: "Fail when any index cannot be read, instead of reporting it and searching the others.")
    var strict = false

    @OptionGroup var embedderOptions: EmbedderOptions

    @Flag(help: "Print one JSON object per result line.")
    var json = false

    func validate() throws {
        guard k >= 1 else { throw ValidationError("-k is the number of results per query: 1 or more, not \(k).") }
        if queries.contains(where: { $0.allSatisfy(\.isWhitespace) }) {
            throw ValidationError("a query is empty: give the words to search for.")
        }
        for name in format where DocumentFormat(rawValue: name) == nil {
            throw ValidationError("--format must be one of text, markdown, html, xml, rst; not '\(name)'.")
        }
        if let minScore, !minScore.isFinite {
            throw ValidationError("--min-score must be a number, not \(minScore).")
        }
        _ = try fusionMethod()
    }

    /// The fusion asked for with the hidden tuning options, or the standard one.
    private func fusionMethod() throws -> Fusion {
        var method: Fusion
        switch fusion {
        case nil: method = .standard
        case "linear": method = .linear(vectorWeight: 0.5)
        case "rrf": method = .reciprocalRank(constant: 60, vectorWeight: 0.5)
        case let other?: throw ValidationError("--fusion must be linear or rrf; not '\(other)'.")
        }
        if let vectorWeight {
            guard (0...1).contains(vectorWeight) else { throw ValidationError("--vector-weight must be between 0 and 1.") }
            switch method {
            case .linear: method = .linear(vectorWeight: vectorWeight)
            case .reciprocalRank(let constant, _): method = .reciprocalRank(constant: constant, vectorWeight: vectorWeight)
            }
        }
        if let rrfK {
            guard case .reciprocalRank(_, let weight) = method else { throw ValidationError("--rrf-k is for --fusion rrf.") }
            guard rrfK >= 0 && rrfK.isFinite else { throw ValidationError("--rrf-k must be 0 or more.") }
            method = .reciprocalRank(constant: rrfK, vectorWeight: weight)
        }
        return method
    }

    func run() async throws {
        let texts = try readQueries()
        guard !texts.isEmpty else { throw Terminal.fail("no query given", status: ExitStatus.usage) }
        let paths = db.isEmpty ? [StoreOptions.defaultPath] : db
        var leftOut: [(path: String, error: StoreError)] = []
        var keywordSideFailed = false
        func report(_ problem: (path: String, error: StoreError)) throws {
            guard !leftOut.contains(where: { $0.path == problem.path }) else { return }
            if strict { throw problem.error }
            Terminal.error("error: \(problem.error.namingPath(problem.path))")
            leftOut.append(problem)
        }
        let search: IndexSearch
        let outcome: SearchOutcome
        do {
            // Open each index once; one that cannot be read is reported and left out (unless --strict).
            let opened = await IndexSearch.open(paths)
            for problem in opened.problems { try report(problem) }
            guard !opened.indexes.isEmpty else { throw Terminal.fail("no index could be read") }
            search = IndexSearch(indexes: opened.indexes)
            // Resolve: the queries are embedded as the first index with a recipe was built (keyword search reads
            // words, not vectors: indexes built with other embedders can be searched together).
            let recipe = try search.sharedRecipe(sameEmbedder: mode.usesVectors)
            var embedder: (any Embedder)?
            if mode.usesVectors {
                embedder = try await embedderOptions.request().resolved(against: recipe).makeEmbedder(embedding: .query)
            }
            let filter = SearchFilter(
                pathPrefixes: under.map { FileWalker.canonicalPath($0) ?? URL(fileURLWithPath: $0).standardizedFileURL.path },
                pathGlobs: path, formats: Set(format.compactMap(DocumentFormat.init(rawValue:))), minScore: minScore)
            let options = SearchOptions(
                mode: mode, k: k, filter: filter, fusion: try fusionMethod(), grouping: group, collapseCopies: !all,
                scan: scan)
            // Run.
            outcome = try await search.search(texts, embedder: embedder, options: options, skipUnreadable: !strict)
            // An index that opened but failed in the scan (a damaged file) is reported like one that did not open.
            for problem in outcome.problems { try report(problem) }
            guard leftOut.count < paths.count else { throw Terminal.fail("no index could be read") }
            for problem in outcome.keywordProblems {
                if mode == .keyword {
                    try report(problem)
                } else if problem.error.code == .noKeywordIndex {
                    // An index from before keyword search still answers by vector; the warning says how to upgrade.
                    Terminal.error("warning: \(problem.error.namingPath(problem.path)); searched by vector only")
                } else {
                    // Damage is an error (exit status 1), though the index still answered by vector.
                    if strict { throw problem.error }
                    Terminal.error("error: \(problem.error.namingPath(problem.path)); searched by vector only")
                    keywordSideFailed = true
                }
            }
            guard leftOut.count < paths.count else { throw Terminal.fail("no index could be searched") }
            for prefix in outcome.emptyPathPrefixes {
                Terminal.error(
                    "warning: no indexed document is under \(DisplayPath.escaped(prefix)) (--under); "
                        + "`embed stats` lists the indexed roots")
            }
            if mode.usesKeywords {
                for text in texts where KeywordQuery.expression(for: text) == nil {
                    Terminal.error("warning: the query \(DisplayPath.escaped(text)) has no word to search for by keyword")
                }
            }
        } catch {
            throw Terminal.fail(error)
        }
        // Print.
        let out = OutputBuffer()
        let printer = ResultText(showIndex: paths.count > 1, marksMatches: isatty(STDOUT_FILENO) == 1)
        for result in outcome.results {
            if json {
                for hit in result.hits { out.line(HitLine(query: result.query, hit: hit).jsonLine) }
            } else {
                printer.print(result, to: out)
            }
        }
        out.flush()
        // Results were printed, but a script must still learn that an index (or its keyword side) was left out.
        if !leftOut.isEmpty || keywordSideFailed { throw ExitCode(ExitStatus.someFilesFailed) }
    }

    private func readQueries() throws -> [String] {
        if !queries.isEmpty { return queries }
        let text: String
        if let queriesFile, queriesFile != "-" {
            text = try Self.readQueriesFile(queriesFile)
        } else {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
    }
}

extension QueryCommand {
    /// The most a queries file may hold: more is a mistake (a device, a data file), not a list of queries.
    static let maxQueriesFileBytes = 16 << 20

    /// Reads a queries file, with a message naming the file and the problem.
    static func readQueriesFile(_ path: String) throws -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw Terminal.fail("cannot read the queries file \(DisplayPath.escaped(path)): no such file", status: ExitStatus.usage)
        }
        guard !isFolder.boolValue else {
            throw Terminal.fail("cannot read the queries file \(DisplayPath.escaped(path)): it is a folder", status: ExitStatus.usage)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Terminal.fail(
                "cannot read the queries file \(DisplayPath.escaped(path)): permission denied", status: ExitStatus.usage)
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxQueriesFileBytes + 1) ?? Data()
        } catch {
            throw Terminal.fail(
                "cannot read the queries file \(DisplayPath.escaped(path)): \(error.localizedDescription)",
                status: ExitStatus.usage)
        }
        guard data.count <= maxQueriesFileBytes else {
            throw Terminal.fail(
                "the queries file \(DisplayPath.escaped(path)) is larger than \(maxQueriesFileBytes >> 20) MiB: "
                    + "it should hold one query per line", status: ExitStatus.usage)
        }
        return String(decoding: data, as: UTF8.self)
    }
}
