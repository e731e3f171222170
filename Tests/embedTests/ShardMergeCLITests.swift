import EmbedKitTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `embed ingest --shard I/N` by several processes, `embed reindex` of a shard, and `embed merge` of the shards:
/// the merged index must hold exactly what one ingest of the whole tree holds.
@Suite("shards and merge", .serialized)
struct ShardMergeCLITests {
    static func document(_ i: Int) -> String {
        "Document \(i) on tides, moorings and harbour pilots. "
            + (0..<40).map { "word\(i)n\($0) term\(($0 * 5 + i) % 23)" }.joined(separator: " ")
    }

    /// A tree of `count` documents in a few folders.
    static func tree(in dir: TemporaryDirectory, count: Int = 30) throws {
        for i in 0..<count { try dir.write("tree/part\(i % 4)/d\(i).txt", document(i)) }
    }

    static func contents(_ db: String) async throws -> [String] {
        try await EmbedBinary.comparableContents(db)
    }

    static func paths(_ db: String) async throws -> Set<String> {
        let export = try await EmbedBinary.run(["export", "--db", db])
        return Set(export.lines.compactMap { line in
            line.firstMatch(of: /"path":"([^"]+)"/).map { String($0.1).replacing("\\/", with: "/") }
        })
    }

    static func ingestShards(_ dir: TemporaryDirectory, count: Int) async throws -> [String] {
        var shards: [String] = []
        for i in 1...count {
            let db = dir.path + "/shard-\(i).sqlite"
            let run = try await EmbedBinary.run(
                ["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--shard", "\(i)/\(count)"])
            try #require(run.status == 0, "\(run.stderr)")
            shards.append(db)
        }
        return shards
    }

    @Test("shards take disjoint parts that cover the tree, say what they left, and merge into the whole index")
    func shardsMergeIntoWhole() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir)
        let whole = dir.path + "/whole.sqlite"
        let reference = try await EmbedBinary.run(["ingest", dir.path + "/tree", "--db", whole, "--embedder", "hash"])
        try #require(reference.status == 0, "\(reference.stderr)")

        let shards = try await Self.ingestShards(dir, count: 3)
        var taken: [Set<String>] = []
        for db in shards { taken.append(try await Self.paths(db)) }
        #expect(taken.allSatisfy { !$0.isEmpty }, "a shard of 30 files is empty: \(taken.map(\.count))")
        #expect(taken.reduce(0) { $0 + $1.count } == 30)
        #expect(taken.reduce(Set()) { $0.union($1) } == (try await Self.paths(whole)))
        let one = try await EmbedBinary.run(
            ["ingest", dir.path + "/tree", "--db", dir.path + "/again.sqlite", "--embedder", "hash", "--shard", "1/3"])
        #expect(one.stderr.contains("\(30 - taken[0].count) files left to other shards"), "\(one.stderr)")

        let merged = dir.path + "/merged.sqlite"
        let merge = try await EmbedBinary.run(["merge", merged] + shards)
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(merge.stderr.contains("Merged 3 indexes of 3 into"), "\(merge.stderr)")
        #expect(try await Self.contents(merged) == (try await Self.contents(whole)))
        let check = try await EmbedBinary.run(["stats", "--db", merged, "--check"])
        #expect(check.status == 0, "\(check.stderr)")
        // The same query, the same answers, with the vector file the merge wrote. (Vector mode: keyword scores tie
        // often here, and ties go by chunk id, which differs between two indexes of the same documents.)
        let question = ["query", "harbour pilots term7", "-k", "5", "--json", "--mode", "vector"]
        let a = try await EmbedBinary.run(question + ["--db", merged])
        let b = try await EmbedBinary.run(question + ["--db", whole])
        #expect(a.status == 0 && !a.stdout.isEmpty, "\(a.stderr)")
        #expect(
            a.stdout.replacing(/"chunk_id":\d+,/, with: "").replacing(merged, with: "DB")
                == b.stdout.replacing(/"chunk_id":\d+,/, with: "").replacing(whole, with: "DB"))

        // Merging again changes nothing; the merged roots are whole, so a reindex finds nothing to do.
        let again = try await EmbedBinary.run(["merge", merged] + shards)
        #expect(again.status == 0 && again.stderr.contains("merged before and unchanged since"), "\(again.stderr)")
        let reindex = try await EmbedBinary.run(["reindex", "--db", merged])
        #expect(reindex.stderr.contains("0 added, 0 updated, 30 unchanged, 0 removed"), "\(reindex.stderr)")
        #expect(try await Self.contents(merged) == (try await Self.contents(whole)))
    }

    @Test("reindex of a shard keeps its part: it adds and removes only its own files")
    func reindexKeepsTheShard() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir)
        let shards = try await Self.ingestShards(dir, count: 2)
        let mine = try await Self.paths(shards[0])
        // Delete one file of each shard, and add files until each shard gains some.
        let theirs = try await Self.paths(shards[1])
        try FileManager.default.removeItem(atPath: mine.sorted()[0])
        try FileManager.default.removeItem(atPath: theirs.sorted()[0])
        for i in 30..<40 { try dir.write("tree/new/d\(i).txt", Self.document(i)) }
        let run = try await EmbedBinary.run(["reindex", "--db", shards[0]])
        #expect(run.status == 0, "\(run.stderr)")
        let after = try await Self.paths(shards[0])
        let added = after.subtracting(mine)
        #expect(!after.contains(mine.sorted()[0]), "the shard's deleted file stayed")
        #expect(after.isDisjoint(with: theirs), "the reindex took the other shard's files")
        #expect(!added.isEmpty && added.allSatisfy { $0.contains("/tree/new/") }, "\(added)")
        #expect(run.stderr.contains("\(added.count) added") && run.stderr.contains("1 removed"), "\(run.stderr)")
    }

    @Test("--shard out of range or malformed is a usage error, and nothing is written")
    func badShard() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir, count: 2)
        for bad in ["0/2", "3/2", "2", "x/y", "1/0"] {
            let db = dir.path + "/bad.sqlite"
            let run = try await EmbedBinary.run(["ingest", dir.path + "/tree", "--db", db, "--embedder", "hash", "--shard", bad])
            #expect(run.status == 2, "\(bad): \(run.stderr)")
            #expect(run.stderr.contains("--shard must be I/N"), "\(bad): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: db))
        }
    }

    @Test("bad inputs are reported by name and left out; the others are merged")
    func badInputs() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir)
        let shards = try await Self.ingestShards(dir, count: 2)
        let other = dir.path + "/other-recipe.sqlite"
        let built = try await EmbedBinary.run(
            ["ingest", dir.path + "/tree", "--db", other, "--embedder", "hash", "--chunk-tokens", "64"])
        try #require(built.status == 0, "\(built.stderr)")
        let text = try dir.write("not-an-index.sqlite", "just text")
        let merged = dir.path + "/merged.sqlite"
        let merge = try await EmbedBinary.run(
            ["merge", merged, shards[0], text, other, dir.path + "/missing.sqlite", shards[0], shards[1]])
        #expect(merge.status == 1, "status \(merge.status): \(merge.stderr) OUT \(merge.stdout)")
        for name in ["not-an-index.sqlite", "other-recipe.sqlite", "missing.sqlite"] {
            #expect(merge.stderr.contains(name), "\(name) is not named: \(merge.stderr)")
        }
        #expect(merge.stderr.contains("given twice"), "\(merge.stderr)")
        #expect(merge.stderr.contains("Merged 2 indexes of 6"), "\(merge.stderr)")
        #expect((try await Self.paths(merged)).count == 30)
        // The output named as an input, and a merge of nothing mergeable: refused, nothing created.
        let itself = try await EmbedBinary.run(["merge", merged, merged])
        #expect(itself.status == 3 && itself.stderr.contains("is the output itself"), "\(itself.stderr)")
        let nothing = try await EmbedBinary.run(["merge", dir.path + "/new.sqlite", text])
        #expect(nothing.status == 3, "\(nothing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/new.sqlite"))
        // An output built with another recipe refuses the inputs.
        let into = try await EmbedBinary.run(["merge", other, shards[0]])
        #expect(into.status == 3 && into.stderr.contains("merge into a new index"), "\(into.stderr)")
    }

    @Test("the same path in two inputs: the newer, different contents win")
    func newerWins() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("tree/a.txt", "Old words about anchors and chains.")
        try dir.write("tree/b.txt", "Words about sails.")
        let old = dir.path + "/old.sqlite"
        let new = dir.path + "/new.sqlite"
        try #require((try await EmbedBinary.run(["ingest", dir.path + "/tree", "--db", old, "--embedder", "hash"])).status == 0)
        try await Task.sleep(for: .milliseconds(20))
        try dir.write("tree/a.txt", "New words about propellers and shafts.")
        try #require((try await EmbedBinary.run(["ingest", dir.path + "/tree", "--db", new, "--embedder", "hash"])).status == 0)
        let merged = dir.path + "/merged.sqlite"
        let forward = try await EmbedBinary.run(["merge", merged, old, new])
        #expect(forward.stderr.contains("1 replaced, 1 kept"), "\(forward.stderr)")
        let backward = dir.path + "/backward.sqlite"
        let reverse = try await EmbedBinary.run(["merge", backward, new, old])
        #expect(reverse.stderr.contains("0 documents added, 0 replaced, 2 kept"), "\(reverse.stderr)")
        for db in [merged, backward] {
            let export = try await EmbedBinary.run(["export", "--db", db])
            #expect(export.stdout.contains("propellers") && !export.stdout.contains("anchors"), "\(db): \(export.stdout)")
            let check = try await EmbedBinary.run(["stats", "--db", db, "--check"])
            #expect(check.status == 0, "\(check.stderr)")
        }
    }

    @Test("a merge killed with SIGKILL inside an input's transaction or after it resumes to the whole index")
    func killedMerge() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.tree(in: dir)
        let whole = dir.path + "/whole.sqlite"
        try #require((try await EmbedBinary.run(["ingest", dir.path + "/tree", "--db", whole, "--embedder", "hash"])).status == 0)
        let expected = try await Self.contents(whole)
        let shards = try await Self.ingestShards(dir, count: 3)
        for step in ["merge-input-uncommitted:2", "merge-input-committed:2"] {
            let merged = dir.path + "/merged-\(step.prefix(20)).sqlite"
            let ready = dir.path + "/ready"
            try? FileManager.default.removeItem(atPath: ready)
            let process = try EmbedBinary.start(
                ["merge", merged] + shards, environment: ["EMBED_FAILPOINT": step, "EMBED_FAILPOINT_READY": ready])
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning && !FileManager.default.fileExists(atPath: ready) && Date() < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(FileManager.default.fileExists(atPath: ready), "\(step) was never reached")
            kill(process.processIdentifier, SIGKILL)
            await EmbedBinary.waitForExit(process)
            // Killed: the first input whole, the second whole or not at all, never half.
            let partial = try await Self.paths(merged)
            let first = try await Self.paths(shards[0])
            let second = try await Self.paths(shards[1])
            let expectedPartial = step.hasPrefix("merge-input-committed") ? first.union(second) : first
            #expect(partial == expectedPartial, "\(step): \(partial.count) documents")
            let resumed = try await EmbedBinary.run(["merge", merged] + shards)
            #expect(resumed.status == 0, "\(step): \(resumed.stderr)")
            let skipped = resumed.stderr.components(separatedBy: "merged before and unchanged since").count - 1
            #expect(skipped == (step.hasPrefix("merge-input-committed") ? 2 : 1), "\(step): \(resumed.stderr)")
            #expect(try await Self.contents(merged) == expected, "\(step): the resumed merge differs from the whole index")
        }
    }
}
