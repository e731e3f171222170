// Times the search engine in-process on an index made by benchmarks/search/make_index.py. Prints one JSON object.
//   embed-bench-search INDEX QUERIES.npy
//       the memory-bandwidth floor (one pass over the vectors in memory), single queries and a batch of 100;
//   embed-bench-search prepare INDEX auto|int8|none
//       opens the index as a writer (applying embed's migrations), records the quantization, writes the vector file;
//   embed-bench-search refresh INDEX
//       brings the vector file up to date after a change made to SQLite: time and bytes written;
//   embed-bench-search scan INDEX QUERIES.npy float32|int8|memory TOP.json
//       single queries (median of 30) and a batch of 100 (median of 3) streamed from the vector file (or held in
//       memory), the bytes read per query, and the top 10 of every query written to TOP.json for recall.
import CEmbedBLAS
import EmbedKit
import Foundation

@main
struct SearchBenchmark {
    static func main() async throws {
        let arguments = CommandLine.arguments
        switch arguments.dropFirst().first {
        case "prepare" where arguments.count == 4: return try await prepare(arguments[2], VectorQuantization(rawValue: arguments[3])!)
        case "refresh" where arguments.count == 3: return try await refresh(arguments[2])
        case "scan" where arguments.count == 6:
            return try await scan(arguments[2], queries: arguments[3], mode: VectorScan(rawValue: arguments[4])!, top: arguments[5])
        default: break
        }
        guard arguments.count == 3 else {
            FileHandle.standardError.write(Data("usage: embed-bench-search [prepare|refresh|scan] INDEX ...\n".utf8))
            exit(2)
        }
        let clock = ContinuousClock()
        let openStart = clock.now
        let reader = try IndexReader(path: arguments[1])
        let matrix = try reader.vectors(dimension: 384)
        let openSeconds = (clock.now - openStart).seconds
        let queries = try loadNpy(arguments[2], dimension: 384)

        // Warm up once (a vector file read into memory is already resident; a mapped one would be mapped in here).
        _ = await BandwidthProbe.sum(matrix)
        var floor = Double.infinity
        for _ in 0..<5 {
            let start = clock.now
            _ = await BandwidthProbe.sum(matrix)
            floor = min(floor, (clock.now - start).seconds)
        }
        var single: [Double] = []
        for query in queries.prefix(30) {
            let start = clock.now
            _ = await ExactSearch.search([query], in: matrix, k: 10)
            single.append((clock.now - start).seconds)
        }
        var batch: [Double] = []
        for _ in 0..<5 {
            let start = clock.now
            _ = await ExactSearch.search(Array(queries.prefix(100)), in: matrix, k: 10)
            batch.append((clock.now - start).seconds)
        }
        single.sort()
        batch.sort()
        let result: [String: Double] = [
            "rows": Double(matrix.count), "open_seconds": openSeconds, "bandwidth_floor_seconds": floor,
            "single_median_seconds": single[single.count / 2], "single_min_seconds": single[0],
            "batch100_median_seconds": batch[batch.count / 2], "batch100_min_seconds": batch[0],
            "gigabytes_per_second": Double(matrix.count * 384 * 4) / floor / 1e9,
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func printJSON(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func prepare(_ path: String, _ quantization: VectorQuantization) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let store = try SQLiteIndexStore(path: path)
        try await store.setQuantization(quantization)
        let migrated = (clock.now - start).seconds
        let before = ProcessIO.now()
        let warning = try await store.refreshVectorFile()
        try printJSON([
            "migrate_seconds": migrated, "vector_file_seconds": (clock.now - start).seconds - migrated,
            "bytes_written": ProcessIO.now().written - before.written, "warning": warning ?? "",
        ])
    }

    static func refresh(_ path: String) async throws {
        let clock = ContinuousClock()
        let store = try SQLiteIndexStore(path: path)
        let before = ProcessIO.now()
        let start = clock.now
        let warning = try await store.refreshVectorFile()
        let seconds = (clock.now - start).seconds
        let after = ProcessIO.now()
        var segments = 0
        var bytes: Int64 = 0
        for file in try IndexReader(path: path).statistics().files where file.path.contains(".vectors") {
            segments += file.path.contains(".seg-") ? 1 : 0
            bytes += file.bytes
        }
        try printJSON([
            "seconds": seconds, "bytes_written": after.written - before.written, "bytes_read": after.read - before.read,
            "vector_file_bytes": bytes, "segments": segments, "warning": warning ?? "",
        ])
    }

    static func scan(_ path: String, queries queriesPath: String, mode: VectorScan, top: String) async throws {
        let queries = try loadNpy(queriesPath, dimension: 384)
        let clock = ContinuousClock()
        let reader = try IndexReader(path: path)
        let openStart = clock.now
        // What each mode holds: the file opened (streamed modes), or every vector read into memory.
        var segments: VectorSegments?
        var matrix: VectorMatrix?
        if mode == .memory {
            matrix = try reader.vectors(dimension: 384)
        } else {
            segments = try reader.vectorSegments(dimension: 384)
            guard segments != nil else { throw StoreError(.corrupt, "\(path): no usable vector file") }
        }
        let openSeconds = (clock.now - openStart).seconds
        func search(_ batch: [[Float]]) async throws -> [[Int64]] {
            if let matrix {
                return await ExactSearch.search(batch, in: matrix, k: 10).map { $0.map { matrix.ids[$0.row] } }
            }
            return try await SegmentSearch.search(batch, in: segments!, k: 10, useCodes: mode == .int8).map { $0.map(\.id) }
        }
        let repeats = Int(ProcessInfo.processInfo.environment["EMBED_BENCH_REPEATS"] ?? "") ?? 30
        var found: [[Int64]] = []
        var single: [Double] = []
        var read: [Int64] = []
        for query in queries.prefix(repeats) {
            let io = ProcessIO.now()
            let start = clock.now
            found += try await search([query])
            single.append((clock.now - start).seconds)
            read.append(ProcessIO.now().read - io.read)
        }
        var batch: [Double] = []
        var batchRead: [Int64] = []
        for _ in 0..<(repeats < 30 ? 1 : 3) {
            let io = ProcessIO.now()
            let start = clock.now
            let all = try await search(Array(queries.prefix(100)))
            batch.append((clock.now - start).seconds)
            batchRead.append(ProcessIO.now().read - io.read)
            if found.count < 100 { found += all.dropFirst(found.count) }
        }
        single.sort()
        batch.sort()
        read.sort()
        try JSONSerialization.data(withJSONObject: found).write(to: URL(fileURLWithPath: top))
        try printJSON([
            "mode": mode.rawValue, "open_seconds": openSeconds,
            "single_median_seconds": single[single.count / 2], "single_first_seconds": single.first!,
            "batch100_median_seconds": batch[batch.count / 2],
            "bytes_read_per_query": read[read.count / 2], "bytes_read_per_batch": batchRead[batchRead.count / 2],
        ])
    }

    /// Reads a float32 2-D .npy file (little-endian, C order).
    static func loadNpy(_ path: String, dimension: Int) throws -> [[Float]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let start = 10 + headerLength
        let floats = data[start...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return stride(from: 0, to: floats.count, by: dimension).map { Array(floats[$0..<($0 + dimension)]) }
    }
}

/// This process's reads and writes so far, all of them (page cache included): /proc/self/io's rchar and wchar.
struct ProcessIO {
    var read: Int64
    var written: Int64

    static func now() -> ProcessIO {
        let text = (try? String(contentsOfFile: "/proc/self/io", encoding: .utf8)) ?? ""
        func value(_ key: String) -> Int64 {
            text.split(separator: "\n").first { $0.hasPrefix(key + ":") }
                .flatMap { Int64($0.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)) } ?? 0
        }
        return ProcessIO(read: value("rchar"), written: value("wchar"))
    }
}

/// One read of every float of the matrix, split across the cores: what no scan can beat. It uses OpenBLAS's
/// `sasum` (its kernel is chosen for this CPU at run time, like the search's), so it runs at memory speed.
enum BandwidthProbe {
    static func sum(_ matrix: VectorMatrix) async -> Float {
        openblas_set_num_threads(1)
        let parts = ProcessInfoCores.active
        let total = matrix.values.count
        let per = (total + parts - 1) / parts
        return await withTaskGroup(of: Float.self) { group in
            for part in 0..<parts {
                let range = (part * per)..<min(total, (part + 1) * per)
                group.addTask {
                    cblas_sasum(Int32(range.count), matrix.values.baseAddress! + range.lowerBound, 1)
                }
            }
            var sum: Float = 0
            for await s in group { sum += s }
            return sum
        }
    }
}
