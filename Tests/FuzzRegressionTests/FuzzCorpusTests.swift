import EmbedFuzzChecks
import Foundation
import Testing

/// Every seed of the fuzz corpora and every input that once found a bug (fuzz/regressions/TARGET/), run through
/// the same checks as the fuzzer. An input that crashed the fuzzer is added to fuzz/regressions/ as it was saved.
@Suite("fuzz corpora and regressions")
struct FuzzCorpusTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz")

    /// The files in `fuzz/<kind>/<target>/`, empty when there is no such folder.
    static func inputs(_ kind: String, _ target: FuzzTarget) throws -> [URL] {
        let folder = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test("every target has seeds, and every seed and regression input keeps the target's properties",
          arguments: FuzzTarget.allCases)
    func corpus(target: FuzzTarget) throws {
        let checks = try FuzzChecks(targets: [target])
        let seeds = try Self.inputs("seeds", target)
        #expect(seeds.count >= 3, "fuzz/seeds/\(target.rawValue) needs seeds")
        for file in try seeds + Self.inputs("regressions", target) {
            let bytes = try [UInt8](Data(contentsOf: file))
            do {
                try checks.check(target, bytes)
            } catch {
                Issue.record("\(file.path): \(error)")
            }
        }
    }
}
