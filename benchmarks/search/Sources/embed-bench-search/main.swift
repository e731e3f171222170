// Times the search engine in-process on an index made by benchmarks/search/make_index.py:
// the memory-bandwidth floor (one pass over the vectors in memory), single queries and a batch of 100.
// Prints one JSON object. Usage: embed-bench-search INDEX QUERIES.npy
import CEmbedBLAS
import EmbedKit
import Foundation

@main
struct SearchBenchmark {
    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 3 else {
            FileHandle.standardError.write(Data("usage: embed-bench-search INDEX QUERIES.npy\n".utf8))
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

    /// Reads a float32 2-D .npy file (little-endian, C order).
    static func loadNpy(_ path: String, dimension: Int) throws -> [[Float]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let start = 10 + headerLength
        let floats = data[start...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return stride(from: 0, to: floats.count, by: dimension).map { Array(floats[$0..<($0 + dimension)]) }
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
