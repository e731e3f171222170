// bert-bench: times the native all-MiniLM-L6-v2 embedder on a workload file and prints one JSON line.
//
// Usage: bert-bench --isa     (what oneDNN runs here)
//        bert-bench WORKLOAD.json [--model DIR] [--blas-threads N] [--passes N] [--batch N] [--queries N]
//        [--kernels portable|avx2|avx512f] [--matrix openblas|onednn] [--precision fp32|bf16]
//        bert-bench WORKLOAD.json --compare bf16|int8-simulated [--model DIR]
// WORKLOAD.json: {"name": ..., "texts": [...], "queries": [...]}. Run by benchmarks/bert/run.sh.
//
// Besides throughput and latency it reports the forward pass's achieved GFLOP/s and, measured in the same
// process right after with the same threads (passes × BLAS threads), the GEMM's GFLOP/s on the feed-forward
// shape: OpenBLAS sgemm, oneDNN fp32 and oneDNN bf16 where the CPU has them. The ceiling of a run is the one of
// its precision. --compare embeds the texts in fp32 and in bf16 (or int8's rounding, simulated) and prints the
// cosines between them: the quality gate of a reduced precision.

import CEmbedBLAS
import CEmbedMatmul
import Dispatch
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

/// Floating-point operations of one all-MiniLM-L6-v2 forward pass over a sequence of `n` tokens: per layer,
/// the projections 2n·(3h·h + h·h + 2·h·i) and attention's two n × n products 4n²h (element-wise work not counted).
func forwardFLOPs(tokens n: Int, layers: Int = 6, hidden h: Int = 384, intermediate i: Int = 1536) -> Double {
    let n = Double(n), h = Double(h), i = Double(i)
    return Double(layers) * (2 * n * (4 * h * h + 2 * h * i) + 4 * n * n * h)
}

/// The feed-forward shape, the largest product of a pass: 2048 × 384 by 384 × 1536.
let gemmShape = (m: 2048, k: 384, n: 1536)

/// GFLOP/s of `passes` threads each running one product of ``gemmShape`` again and again for about `seconds`.
/// `product` runs on each thread once: it makes that thread's buffers and returns the call that multiplies once.
func measureGFLOPs(passes: Int, seconds: Double = 1.5, product: @Sendable (_ worker: Int) -> () -> Void) -> Double {
    let start = now()
    let counts = Locked<[Int]>([Int](repeating: 0, count: passes))
    DispatchQueue.concurrentPerform(iterations: passes) { worker in
        let multiply = product(worker)
        var done = 0
        repeat {
            multiply()
            done += 1
        } while now() - start < seconds
        counts.withLock { $0[worker] = done }
    }
    let elapsed = now() - start
    let (m, k, n) = gemmShape
    return Double(counts.withLock { $0.reduce(0, +) }) * 2 * Double(m * n * k) / elapsed / 1e9
}

/// OpenBLAS sgemm's GFLOP/s on ``gemmShape``, `passes` threads at once, BLAS threads as already set.
func measureSGEMM(passes: Int) -> Double {
    let (m, k, n) = gemmShape
    return measureGFLOPs(passes: passes) { _ in
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        return {
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k),
                0, &c, Int32(n))
        }
    }
}

/// oneDNN's GFLOP/s on the same shape and passes as ``measureSGEMM``, `threads` each, in `precision` (an
/// `EMBED_MATMUL_*`); nil where this CPU has no such kernels.
func measureOneDNN(precision: Int32, passes: Int, threads: Int) -> Double? {
    let (m, k, n) = gemmShape
    // fp32 keeps a pointer to the weights: they must outlive the primitive.
    let weights = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
    weights.initialize(repeating: 0.25, count: n * k)
    defer { weights.deallocate() }
    guard let matmul = embed_matmul_create(precision, weights, n, k, nil, nil, 0) else { return nil }
    defer { embed_matmul_destroy(matmul) }
    nonisolated(unsafe) let shared = matmul
    let scratchBytes = max(embed_matmul_scratch_bytes(shared, m), 1)
    nonisolated(unsafe) let scratches = (0..<passes).map { _ in
        UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
    }
    defer { scratches.forEach { $0.deallocate() } }
    return measureGFLOPs(passes: passes) { worker in
        let a = [Float](repeating: 0.5, count: m * k)
        var c = [Float](repeating: 0, count: m * n)
        return { _ = embed_matmul_run(shared, a, m, &c, scratches[worker], Int32(threads)) }
    }
}

/// Embeds `texts` in fp32 and in `other` (bf16, or int8-simulated) and prints one JSON line of the cosines
/// between the two.
func compare(_ texts: [String], name: String, other: String, modelDirectory: URL?) async throws {
    let fp32 = try BertEmbedder.load(modelDirectory: modelDirectory)
    let configuration: BertEmbedder.Configuration =
        other == "bf16" ? .init(precision: .bf16) : .init(matrixLibrary: other)
    let reduced = try BertEmbedder.load(modelDirectory: modelDirectory, configuration: configuration)
    guard reduced.matrixLibrary != fp32.matrixLibrary else { fail("\(other) does not run on this CPU") }
    let a = try await fp32.embed(texts), b = try await reduced.embed(texts)
    var cosines = zip(a, b).map { x, y in zip(x, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
    cosines.sort()
    let result: [String: Any] = [
        "workload": name, "precision": other, "texts": texts.count, "worst": cosines.first ?? 1,
        "p1": cosines.isEmpty ? 1 : cosines[cosines.count / 100], "median": cosines.isEmpty ? 1 : cosines[cosines.count / 2],
        "below_0_9999": cosines.filter { $0 < 0.9999 }.count, "below_0_995": cosines.filter { $0 < 0.995 }.count,
    ]
    print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
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
        let kernels = option("--kernels")
        let matrix = option("--matrix")
        let precision = BertEmbedder.Precision(rawValue: option("--precision") ?? "fp32") ?? .fp32
        if arguments.contains("--isa") {
            let fp32 = embed_matmul_available(Int32(EMBED_MATMUL_F32)) != 0 ? "oneDNN" : "OpenBLAS"
            let precisions = BertEmbedder.availablePrecisions.map(\.rawValue).joined(separator: ", ")
            print("\(BertEmbedder.oneDNNInstructionSet); fp32 linear layers on \(fp32); precisions \(precisions)")
            return
        }
        let comparing = option("--compare")
        guard let workloadPath = arguments.first else { fail("usage: bert-bench WORKLOAD.json [options]") }

        let workload: Workload
        do {
            workload = try JSONDecoder().decode(Workload.self, from: Data(contentsOf: URL(fileURLWithPath: workloadPath)))
        } catch {
            fail("cannot read \(workloadPath): \(error)")
        }

        if let comparing {
            try await compare(
                workload.texts, name: workload.name, other: comparing, modelDirectory: modelPath.map { URL(fileURLWithPath: $0) })
            return
        }
        let loadStart = now()
        let embedder: BertEmbedder
        do {
            embedder = try BertEmbedder.load(
                modelDirectory: modelPath.map { URL(fileURLWithPath: $0) },
                configuration: .init(
                    maxConcurrentPasses: passes, blasThreads: blasThreads, kernels: kernels, precision: precision,
                    matrixLibrary: matrix))
        } catch {
            fail("\(error)")
        }
        let loadSeconds = now() - loadStart

        let lengths = workload.texts.map { embedder.inputIDs($0).count }
        let tokens = lengths.reduce(0, +)
        let flops = lengths.reduce(0) { $0 + forwardFLOPs(tokens: $1) }

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
        let passCount = embedder.configuration.maxConcurrentPasses
        let sgemm = measureSGEMM(passes: passCount)
        let oneDNN = measureOneDNN(
            precision: Int32(EMBED_MATMUL_F32), passes: passCount, threads: embedder.configuration.blasThreads)
        let oneDNNBF16 = measureOneDNN(
            precision: Int32(EMBED_MATMUL_BF16), passes: passCount, threads: embedder.configuration.blasThreads)
        // The ceiling of a run: the fastest GEMM of its precision measured here.
        let ceiling = precision == .bf16 ? (oneDNNBF16 ?? 0) : max(sgemm, oneDNN ?? 0)
        let threads = embedder.configuration.maxConcurrentPasses * embedder.configuration.blasThreads
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }

        let result: [String: Any] = [
            "implementation": "swift",
            "workload": workload.name,
            "config": "passes=\(embedder.configuration.maxConcurrentPasses) blas_threads=\(embedder.configuration.blasThreads)"
                + (batchSize > 0 ? " batch=\(batchSize)" : " batch=all") + " kernels=\(embedder.kernelVariant)"
                + " matrix=\(embedder.matrixLibrary)",
            "precision": precision.rawValue,
            "ceiling_gflops": ceiling,
            "onednn_gflops": oneDNN ?? 0,
            "onednn_bf16_gflops": oneDNNBF16 ?? 0,
            "threads": threads,
            "gflops": flops / seconds / 1e9,
            "sgemm_gflops": sgemm,
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
