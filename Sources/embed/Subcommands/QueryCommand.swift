import ArgumentParser
import EmbedKit
import Foundation

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Search one or more indexes with one or more queries.",
        discussion: """
            Each TEXT is one query; with none, queries are read from --queries-file or, one per line, from \
            stdin. Queries are embedded with the index's own embedder and searched together; several --db \
            indexes are searched at once and their results merged into one ranking.

            \(ExitStatus.help)
            """)

    @Argument(help: "Query texts.")
    var queries: [String] = []

    @Option(name: .long, help: "Index to search (repeatable). Default: \(StoreOptions.defaultPath).")
    var db: [String] = []

    @Option(name: .shortAndLong, help: "Results per query.")
    var k: Int = 10

    @Option(help: "A file with one query per line.")
    var queriesFile: String?

    @Option(help: "Only documents under this folder or file (repeatable).")
    var under: [String] = []

    @Option(help: "Only documents whose absolute path matches this glob, e.g. '*/guide/*.md' (repeatable).")
    var path: [String] = []

    @Option(help: "Only documents of this format: text, markdown, html, xml, rst (repeatable).")
    var format: [String] = []

    @Option(help: "Only results scoring at least this much.")
    var minScore: Float?

    @Flag(help: "Fail when any index cannot be read, instead of reporting it and searching the others.")
    var strict = false

    @OptionGroup var embedderOptions: EmbedderOptions

    @Flag(help: "Print one JSON object per result line.")
    var json = false

    func validate() throws {
        guard k >= 0 else { throw ValidationError("-k must not be negative.") }
        for name in format where DocumentFormat(rawValue: name) == nil {
            throw ValidationError("--format must be one of text, markdown, html, xml, rst; not '\(name)'.")
        }
    }

    func run() async throws {
        let texts = try readQueries()
        guard !texts.isEmpty else { throw Terminal.fail("no query given", status: ExitStatus.usage) }
        let search = IndexSearch(indexPaths: db.isEmpty ? [StoreOptions.defaultPath] : db)
        let settings: IndexSettings?
        let embedder: any Embedder
        let results: [QueryResult]
        var openedProblems: [(path: String, error: StoreError)]
        do {
            let opened = try search.settings()
            openedProblems = opened.problems
            for problem in opened.problems {
                if strict { throw problem.error }
                Terminal.error("\(DisplayPath.escaped(problem.path)): error: \(problem.error.message)")
            }
            guard opened.problems.count < search.indexPaths.count else {
                throw Terminal.fail("no index could be read")
            }
            settings = opened.settings
            let stored = (try? IndexReader(path: search.indexPaths[0]).embedderOptions()) ?? [:]
            embedder = try await embedderOptions.makeEmbedder(for: settings, stored: stored, embedding: .query)
            let filter = SearchFilter(
                pathPrefixes: under.map { FileWalker.canonicalPath($0) ?? URL(fileURLWithPath: $0).standardizedFileURL.path },
                pathGlobs: path, formats: Set(format.compactMap(DocumentFormat.init(rawValue:))), minScore: minScore)
            let searched = try await search.searchReportingProblems(
                texts, embedder: embedder, k: k, filter: filter, skipUnreadable: !strict)
            results = searched.results
            // An index that opened but failed in the scan (a damaged file) is reported like one that did not open.
            for problem in searched.problems where !openedProblems.contains(where: { $0.path == problem.path }) {
                Terminal.error("\(DisplayPath.escaped(problem.path)): error: \(problem.error.message)")
                openedProblems.append(problem)
            }
            guard openedProblems.count < search.indexPaths.count else {
                throw Terminal.fail("no index could be read")
            }
        } catch let exit as ExitCode {
            throw exit
        } catch let error as ValidationError {
            throw Terminal.fail(error.message, status: ExitStatus.usage)
        } catch {
            throw Terminal.fail("\(error)")
        }
        let out = OutputBuffer()
        for result in results {
            if json {
                for hit in result.hits { out.line(JSONLines.encode(HitLine(query: result.query, hit: hit))) }
            } else {
                print(result, showIndex: search.indexPaths.count > 1, to: out)
            }
        }
        out.flush()
        // Results were printed, but a script must still learn that an index was left out.
        if !openedProblems.isEmpty { throw ExitCode(ExitStatus.someFilesFailed) }
    }

    private func readQueries() throws -> [String] {
        if !queries.isEmpty { return queries }
        let text: String
        if let queriesFile {
            guard let data = FileManager.default.contents(atPath: queriesFile) else {
                throw Terminal.fail("cannot read \(queriesFile)", status: ExitStatus.usage)
            }
            text = String(decoding: data, as: UTF8.self)
        } else {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
    }

    private func print(_ result: QueryResult, showIndex: Bool, to out: OutputBuffer) {
        out.line("query: \(result.query)")
        if result.hits.isEmpty { out.line("  (no results)") }
        for hit in result.hits {
            var location = "\(DisplayPath.of(hit.chunk.path)):\(hit.chunk.line)"
            if !hit.chunk.headingPath.isEmpty { location += "  § " + DisplayPath.escaped(hit.chunk.headingPath.joined(separator: " › ")) }
            if showIndex { location += "  [\(DisplayPath.of(hit.index))]" }
            out.line(String(format: "%3d. %.3f  ", hit.rank, hit.score) + location)
            out.line("     " + Snippet.of(hit.chunk.text))
        }
        out.line("")
    }
}

/// The first words of a chunk on one line.
enum Snippet {
    static func of(_ text: String, length: Int = 160) -> String {
        let words = text.split(whereSeparator: { $0.isWhitespace || $0.isNewline })
        var snippet = ""
        for word in words {
            if snippet.count + word.count + 1 > length {
                snippet += " …"
                break
            }
            snippet += snippet.isEmpty ? String(word) : " " + word
        }
        // Control characters would break the terminal's line.
        return String(String.UnicodeScalarView(snippet.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
    }
}
