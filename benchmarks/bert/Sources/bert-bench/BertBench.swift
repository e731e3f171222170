// bert-bench: times the native all-MiniLM-L6-v2 embedder on a workload file and prints one JSON line.
//
// Usage: bert-bench WORKLOAD.json [--model DIR] [--blas-threads N] [--passes N] [--batch N] [--queries N]
// WORKLOAD.json: {"name": ..., "texts": [...], "queries": [...]}. Run by benchmarks/bert/run.sh.

import EmbedKit
import EmbedKitBERT
import Foundation

struct Workload: Decodable {
    var name: String
    var texts: [String]
    var queries: [String]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bert-bench: \(message)\n".utf8))
    exit(1)
}

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Peak resident set size in MiB (VmHWM).
func peakRSS() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kilobytes / 1024
    }
    return 0
}

@main
struct BertBench {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String) -> String? {
            guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
            let value = arguments[index + 1]
            arguments.removeSubrange(index...(index + 1))
            return value
        }
        let modelPath = option("--model")
        let blasThreads = Int(option("--blas-threads") ?? "1") ?? 1
        let passes = option("--passes").flatMap { Int($0) }
        let batchSize = Int(option("--batch") ?? "0") ?? 0
        let queryCount = Int(option("--queries") ?? "50") ?? 50
        guard let workloadPath = arguments.first else { fail("usage: bert-bench WORKLOAD.json [options]") }

        let workload: Workload
        do {
            workload = try JSONDecoder().decode(Workload.self, from: Data(contentsOf: URL(fileURLWithPath: workloadPath)))
        } catch {
            fail("cannot read \(workloadPath): \(error)")
        }

        let loadStart = now()
        let embedder: BertEmbedder
        do {
            embedder = try BertEmbedder.load(
                modelDirectory: modelPath.map { URL(fileURLWithPath: $0) },
                configuration: .init(maxConcurrentPasses: passes, blasThreads: blasThreads))
        } catch {
            fail("\(error)")
        }
        let loadSeconds = now() - loadStart

        let tokens = workload.texts.reduce(0) { $0 + embedder.inputIDs($1).count }

        // Warm-up (page in the weights, size the scratch buffers), not timed.
        _ = try await embedder.embed(Array(workload.texts.prefix(8)))

        // Throughput: all texts in one call (the embedder sorts and packs them), or in batches of --batch.
        let start = now()
        var produced = 0
        if batchSize > 0 {
            var index = 0
            while index < workload.texts.count {
                let batch = Array(workload.texts[index..<min(index + batchSize, workload.texts.count)])
                produced += try await embedder.embed(batch).count
                index += batchSize
            }
        } else {
            produced = try await embedder.embed(workload.texts).count
        }
        let seconds = now() - start
        precondition(produced == workload.texts.count)

        // Single-query latency: one short text per call, median and p90.
        var latencies: [Double] = []
        for query in workload.queries.prefix(queryCount) {
            let t0 = now()
            _ = try await embedder.embed([query])
            latencies.append(now() - t0)
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }

        let result: [String: Any] = [
            "implementation": "swift",
            "workload": workload.name,
            "config": "passes=\(embedder.configuration.maxConcurrentPasses) blas_threads=\(embedder.configuration.blasThreads)"
                + (batchSize > 0 ? " batch=\(batchSize)" : " batch=all"),
            "texts": workload.texts.count,
            "tokens": tokens,
            "seconds": seconds,
            "texts_per_s": Double(workload.texts.count) / seconds,
            "tokens_per_s": Double(tokens) / seconds,
            "query_ms_median": percentile(0.5) * 1000,
            "query_ms_p90": percentile(0.9) * 1000,
            "load_s": loadSeconds,
            "peak_rss_mib": peakRSS(),
        ]
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }
}
