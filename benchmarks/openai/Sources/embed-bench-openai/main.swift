// embed-bench-openai: throughput of IngestPipeline + OpenAICompatibleEmbedder against a loopback server
// with a fixed latency, at several concurrencies, with and without 429 faults; checks every index.
//
//   swift run -c release embed-bench-openai [--chunks 5000] [--latency-ms 200] [--concurrency 1,4,16,64]
//       [--inputs-per-request 8] [--fault-probability 0.1] [--encoding float|base64]
import EmbedKit
import EmbedKitTestSupport
import Foundation
import Synchronization

struct Options {
    var chunks = 5000
    var latencyMilliseconds = 200
    var concurrencies = [1, 4, 16, 64]
    var inputsPerRequest = 8
    var dimension = 64
    var faultProbability = 0.1
    var encoding = OpenAICompatibleEmbedder.Encoding.float

    init(_ arguments: [String]) {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { fatalError("\(flag) needs a value") }
            switch flag {
            case "--chunks": chunks = Int(value)!
            case "--latency-ms": latencyMilliseconds = Int(value)!
            case "--concurrency": concurrencies = value.split(separator: ",").map { Int($0)! }
            case "--inputs-per-request": inputsPerRequest = Int(value)!
            case "--fault-probability": faultProbability = Double(value)!
            case "--encoding": encoding = OpenAICompatibleEmbedder.Encoding(rawValue: value)!
            default: fatalError("unknown option \(flag)")
            }
        }
    }
}

/// Paragraphs of about 16 estimated tokens, each its own chunk at 24 tokens per chunk, all texts unique.
func writeTree(at root: URL, chunks: Int) throws -> Int {
    let perFile = 50
    var written = 0
    var file = 0
    while written < chunks {
        let count = min(perFile, chunks - written)
        let text = (0..<count).map { i in
            "Paragraph \(i) of file \(file) describes topic \(file * perFile + i) with a few plain words."
        }.joined(separator: "\n\n")
        let url = root.appendingPathComponent("part\(file % 10)/file\(file).txt")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        written += count
        file += 1
    }
    return file
}

/// Every chunk text the tree should give, parsed and chunked as the pipeline does.
func expectedTexts(root: URL, chunker: TextChunker) throws -> [String] {
    var texts: [String] = []
    let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!.compactMap { $0 as? URL }
        .filter { $0.pathExtension == "txt" }
    for url in files {
        let bytes = [UInt8](try Data(contentsOf: url))
        texts += chunker.chunks(for: try ParserRegistry().parse(bytes, path: url.path)).map(\.text)
    }
    return texts
}

struct Row {
    var faults: String
    var concurrency: Int
    var chunks: Int
    var requests: Int
    var faulted: Int
    var maxInFlight: Int
    var seconds: Double
    /// From the first response (less one latency: the first request) to the last response.
    var requestSeconds: Double
    var ideal: Double
    var lost: Int
    var duplicated: Int
    var wrong: Int
    var failedDocuments: Int
    var achieved: Double { Double(requests) / seconds }
    var achievedInRequestPhase: Double { Double(requests) / requestSeconds }
}

func run(
    options: Options, concurrency: Int, faults: [LoopbackEmbeddingServer.RandomFault], tree: URL, work: URL,
    expected: [String]
) async throws -> Row {
    let latency = Duration.milliseconds(options.latencyMilliseconds)
    let server = try LoopbackEmbeddingServer(.init(latency: latency, randomFaults: faults, seed: UInt64(concurrency)))
    defer { server.stop() }
    var configuration = OpenAICompatibleEmbedder.Configuration(baseURL: server.baseURL, model: "bench")
    configuration.dimensions = options.dimension
    configuration.encoding = options.encoding
    configuration.maxConcurrentRequests = concurrency
    configuration.maxInputsPerRequest = options.inputsPerRequest
    let embedder = try OpenAICompatibleEmbedder(configuration, dimension: options.dimension)
    let db = work.appendingPathComponent("c\(concurrency)-\(faults.isEmpty ? "clean" : "faults").sqlite").path
    let chunker = TextChunker(
        configuration: .init(maxTokens: 24, overlapTokens: 0), tokenCounter: embedder.tokenCounter)
    let pipeline = IngestPipeline(
        embedder: embedder, parser: ParserRegistry(), chunker: chunker, store: try SQLiteIndexStore(path: db),
        configuration: .init(embeddingConcurrency: concurrency, batchSize: options.inputsPerRequest))
    let clock = ContinuousClock()
    let start = clock.now
    // When the first and the last chunk got their vectors (the observer is called after each batch).
    let marks = Mutex<(first: ContinuousClock.Instant?, last: ContinuousClock.Instant?)>((nil, nil))
    let observer = IngestPipeline.Observer(progress: { progress in
        guard progress.chunksEmbedded > 0 else { return }
        let now = ContinuousClock.now
        marks.withLock {
            if $0.first == nil { $0.first = now }
            $0.last = now
        }
    })
    let report = try await pipeline.run(paths: [tree.path], observer: observer)
    let seconds = (clock.now - start).seconds
    let (first, last) = marks.withLock { ($0.first!, $0.last!) }
    let requestSeconds = (last - first).seconds + Double(options.latencyMilliseconds) / 1000

    // Every expected text exactly once, each with its own vector.
    var found: [String: Int] = [:]
    var wrong = 0
    try IndexReader(path: db).forEachChunk(withVectors: true) { chunk, vector in
        found[chunk.text, default: 0] += 1
        if vector != DeterministicVectors.vector(for: chunk.text, dimension: options.dimension) { wrong += 1 }
    }
    let expectedSet = Set(expected)
    let lost = expectedSet.filter { found[$0] == nil }.count
    let duplicated = found.values.reduce(0) { $0 + max(0, $1 - 1) } + found.keys.filter { !expectedSet.contains($0) }.count
    let requests = server.requests
    return Row(
        faults: faults.isEmpty ? "none" : "\(Int(options.faultProbability * 100))% 429 Retry-After: 1",
        concurrency: concurrency, chunks: found.values.reduce(0, +), requests: requests.count,
        faulted: requests.filter { $0.fault != nil }.count, maxInFlight: server.maxInFlight, seconds: seconds, requestSeconds: requestSeconds,
        ideal: Double(concurrency) / (Double(options.latencyMilliseconds) / 1000), lost: lost, duplicated: duplicated,
        wrong: wrong, failedDocuments: report.failed)
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let work = FileManager.default.temporaryDirectory.appendingPathComponent("embed-bench-openai-\(UUID().uuidString)")
let tree = work.appendingPathComponent("tree")
try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }
let files = try writeTree(at: tree, chunks: options.chunks)
let expected = try expectedTexts(
    root: tree, chunker: TextChunker(configuration: .init(maxTokens: 24, overlapTokens: 0), tokenCounter: OpenAITokenEstimator()))
precondition(Set(expected).count == expected.count, "the tree's chunk texts are not unique")
FileHandle.standardError.write(Data("\(files) files, \(expected.count) chunks, latency \(options.latencyMilliseconds) ms\n".utf8))

var rows: [Row] = []
let faultSets: [[LoopbackEmbeddingServer.RandomFault]] = [
    [], [.init(.rateLimited(retryAfter: "1"), probability: options.faultProbability)],
]
for faults in faultSets {
    for concurrency in options.concurrencies {
        let row = try await run(
            options: options, concurrency: concurrency, faults: faults, tree: tree, work: work, expected: expected)
        FileHandle.standardError.write(
            Data(String(format: "faults %@, concurrency %d: %d requests in %.2f s\n", row.faults, concurrency, row.requests, row.seconds).utf8))
        rows.append(row)
    }
}

print("| faults | concurrency | chunks stored | requests (429) | max in flight | seconds (whole ingest) | requests/s | ideal requests/s | ratio | request phase s | requests/s in it | ratio in it | lost | duplicated | wrong vector | failed docs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for row in rows {
    print(
        String(
            format: "| %@ | %d | %d | %d (%d) | %d | %.2f | %.1f | %.1f | %.0f%% | %.2f | %.1f | %.0f%% | %d | %d | %d | %d |",
            row.faults, row.concurrency, row.chunks, row.requests, row.faulted, row.maxInFlight, row.seconds,
            row.achieved, row.ideal, row.achieved / row.ideal * 100, row.requestSeconds, row.achievedInRequestPhase,
            row.achievedInRequestPhase / row.ideal * 100, row.lost, row.duplicated, row.wrong, row.failedDocuments))
}
let broken = rows.contains { $0.lost + $0.duplicated + $0.wrong + $0.failedDocuments > 0 }
if broken { FileHandle.standardError.write(Data("error: some index lost, duplicated or mismatched chunks\n".utf8)) }
exit(broken ? 1 : 0)
