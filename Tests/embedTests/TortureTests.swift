import Foundation
import Testing

/// The built `embed` binary on the hostile corpus that `scripts/make-torture-corpus.sh` generates.
@Suite("torture corpus", .serialized)
struct TortureTests {
    static let secret = "tortsecretmarker"

    /// Runs a shell command, failing the test on a non-zero status.
    static func shell(_ command: String) async {
        let result = await EmbedBinary.shell(command)
        #expect(result.status == 0, "\(command): \(result.output)")
    }

    @Test("hostile files are reported once each, never hang or crash the run, and leak nothing; good files all go in")
    func tortureCorpus() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embed-torture-\(UUID().uuidString)").path
        // rm, not FileManager: it copes with mode-000 files, 3,000-byte paths and names that are not UTF-8.
        defer { _ = EmbedBinary.shellBlocking("rm -rf '\(dir)'") }
        await Self.shell("'\(EmbedBinary.repository.path)/scripts/make-torture-corpus.sh' '\(dir)'")
        let db = dir + "/index.sqlite"

        let ingest = try await EmbedBinary.run(["ingest", dir + "/root", "--db", db, "--embedder", "hash"], timeout: 240)
        let seconds = ingest.seconds
        #expect(seconds < 240, "the ingest was killed after \(seconds)s: a hang or a blowup")
        // Root reads a mode-000 file, so nothing fails then; anyone else gets one error for it.
        #expect(ingest.status == (geteuid() == 0 ? 0 : 1), "\(ingest.stderr)")

        // Each problem file is named at most once, and the expected ones are all there.
        var reported: [String: Int] = [:]
        for line in ingest.stderr.split(separator: "\n") {
            for severity in [": warning: ", ": error: "] {
                if let range = line.range(of: severity) { reported[String(line[..<range.lowerBound]), default: 0] += 1 }
            }
        }
        #expect(reported.filter { $0.value > 1 }.isEmpty, "reported more than once: \(reported)")
        var expected = [
            "billion-laughs.xml", "quadratic-blowup.xml", "deep.xml", "deep.html", "nul.txt", "truncated-utf8.txt",
            "truncated-utf16.txt", "lying-charset.html", "lying-charset.xml", "fifo.txt", "zero.txt", "urandom.txt",
            "self-loop", "loop-a", "loop-b", "escape", "escape.txt",
        ]
        if geteuid() != 0 { expected.append("unreadable.txt") }
        if FileManager.default.fileExists(atPath: dir + "/root/bad/null-device") { expected.append("null-device") }
        for name in expected {
            #expect(reported.keys.contains { $0.hasSuffix("/bad/" + name) }, "\(name) not reported:\n\(ingest.stderr)")
        }
        #expect(reported.keys.contains { $0.contains("/bad/bad-name-") }, "the non-UTF-8 name was not reported")

        // Every good file is stored and findable.
        let export = try await EmbedBinary.run(["export", "--db", db])
        #expect(export.status == 0, "\(export.stderr)")
        let texts = try export.lines.map { try EmbedBinary.json($0)["text"] as? String ?? "" }.joined(separator: "\n")
        var markers = ["tortgoodlongpath", "tortgoodlongname", "tortgoodnewline"]
        for format in ["txt", "md", "html", "xml"] {
            markers += (1...20).map { String(format: "tortgood\(format)%02d", $0) }
        }
        let missing = markers.filter { !texts.contains($0) }
        #expect(missing.isEmpty, "good files not indexed: \(missing)")

        // Nothing from outside the root, not through symlinks, XXE, XInclude or a DTD.
        #expect(!texts.contains(Self.secret))
        for file in [db, db + "-wal", db + ".vectors"] {
            if let bytes = FileManager.default.contents(atPath: file) {
                #expect(bytes.range(of: Data(Self.secret.utf8)) == nil, "\(file) holds the secret")
            }
        }

        let check = try await EmbedBinary.run(["stats", "--db", db, "--check"])
        #expect(check.status == 0, "\(check.stderr)")
    }
}
