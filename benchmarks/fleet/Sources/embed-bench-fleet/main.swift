// embed-bench-fleet: embedding throughput through 1, 2 and 4 loopback endpoints of fixed latency and capacity
// (each a model server with that many slots), against linear scaling; then 4 endpoints with one killed halfway,
// checking that every text still gets its own vector exactly once.
//
//   swift run -c release embed-bench-fleet [--texts 8000] [--latency-ms 20] [--capacity 2]
//       [--inputs-per-request 8] [--repeats 3]
import EmbedKit
import EmbedKitTestSupport
import Foundation

struct Options {
    var texts = 8000
    var latencyMilliseconds = 20
    var capacity = 2
    var inputsPerRequest = 8
    var repeats = 3
    let dimension = 64

    init(_ arguments: [String]) {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst(), let number = Int(value), number > 0 else {
                FileHandle.standardError.write(Data("\(flag) needs a positive number\n".utf8))
                exit(2)
            }
            switch flag {
            case "--texts": texts = number
            case "--latency-ms": latencyMilliseconds = number
            case "--capacity": capacity = number
            case "--inputs-per-request": inputsPerRequest = number
            case "--repeats": repeats = number
            default:
                FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
                exit(2)
            }
        }
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let texts = (0..<options.texts).map { "Text \($0) of the fleet benchmark, a sentence of a few plain words." }
let expected = texts.map { DeterministicVectors.vector(for: $0, dimension: options.dimension) }
let requestsPerRun = (options.texts + options.inputsPerRequest - 1) / options.inputsPerRequest

func log(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

func servers(_ count: Int) throws -> [LoopbackEmbeddingServer] {
    try (0..<count).map { _ in
        try LoopbackEmbeddingServer(
            .init(
                dimension: options.dimension, latency: .milliseconds(options.latencyMilliseconds),
                capacity: options.capacity))
    }
}

/// One endpoint: the plain embedder, as today; several: a fleet. Each keeps at most `capacity` requests in flight
/// per endpoint, what each server can work on at once.
func embedder(for servers: [LoopbackEmbeddingServer]) throws -> any Embedder {
    let configuration = OpenAICompatibleEmbedder.Configuration(
        baseURL: servers[0].baseURL, model: "bench", maxConcurrentRequests: options.capacity,
        maxInputsPerRequest: options.inputsPerRequest, requestTimeout: .seconds(10))
    if servers.count == 1 {
        return try OpenAICompatibleEmbedder(configuration, dimension: options.dimension, environment: [:])
    }
    return try EmbeddingFleet(
        configuration, moreBaseURLs: servers.dropFirst().map(\.baseURL), dimension: options.dimension,
        environment: [:])
}

/// Embeds every text in one call (split into requests as the embedder does); seconds taken.
func timedRun(_ embedder: any Embedder) async throws -> Double {
    let start = ContinuousClock.now
    let vectors = try await embedder.embed(texts)
    let elapsed = ContinuousClock.now - start
    guard vectors == expected else {
        log("wrong vectors: \(zip(vectors, expected).filter { $0 != $1 }.count) differ of \(expected.count)")
        exit(1)
    }
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

// MARK: - Scaling

let perEndpointIdeal =
    Double(options.capacity) * Double(options.inputsPerRequest) / (Double(options.latencyMilliseconds) / 1000)
print("## Embedding fleets: \(options.texts) texts, \(options.inputsPerRequest) per request, endpoints of "
    + "\(options.latencyMilliseconds) ms per request and \(options.capacity) requests at once "
    + "(median of \(options.repeats) runs)\n")
print("| endpoints | seconds | texts/s | ideal texts/s | of ideal | ratio to linear (1 endpoint × n) |")
print("| ---: | ---: | ---: | ---: | ---: | ---: |")
var single = 0.0
for count in [1, 2, 4] {
    let fleet = try servers(count)
    let embedder = try embedder(for: fleet)
    _ = try await embedder.embed(Array(texts.prefix(64)))  // connections opened before timing
    var seconds: [Double] = []
    for round in 1...options.repeats {
        seconds.append(try await timedRun(embedder))
        log("\(count) endpoint(s), run \(round): \(String(format: "%.3f", seconds.last!)) s")
    }
    for server in fleet { server.stop() }
    let rate = Double(options.texts) / median(seconds)
    if count == 1 { single = rate }
    let ideal = perEndpointIdeal * Double(count)
    print(String(
        format: "| %d | %.3f | %.0f | %.0f | %.1f%% | %.3f |", count, median(seconds), rate, ideal, 100 * rate / ideal,
        rate / (single * Double(count))))
}

// MARK: - One endpoint of four killed halfway

print("\n### Four endpoints, one killed halfway\n")
print("| run | texts expected | vectors returned | each its own, in order | requests served (per endpoint) | batches moved | seconds |")
print("| ---: | ---: | ---: | :---: | --- | ---: | ---: |")
for round in 1...options.repeats {
    let fleet = try servers(4)
    let embedder = try embedder(for: fleet) as! EmbeddingFleet
    let start = ContinuousClock.now
    async let embedding = embedder.embed(texts)
    while fleet.map(\.servedCount).reduce(0, +) < requestsPerRun / 2 { try await Task.sleep(for: .milliseconds(1)) }
    fleet[3].stop()
    let vectors = try await embedding
    let elapsed = ContinuousClock.now - start
    for server in fleet { server.stop() }
    let usage = embedder.usage
    let served = usage.map { "\($0.requestsServed)\($0.isOut ? " (out)" : "")" }.joined(separator: " / ")
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(String(
        format: "| %d | %d | %d | %@ | %@ | %d | %.3f |", round, options.texts, vectors.count,
        vectors == expected ? "yes" : "NO", served, usage.map(\.failedAttempts).reduce(0, +), seconds))
    guard vectors == expected else { exit(1) }
}
