import EmbedKitTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The built `embed` binary with a damaged, foreign or odd `<index>.vectors`, and on a full disk.
///
/// Whatever sits at the vector file's path, a query must answer exactly what SQLite alone answers.
@Suite("the vector file on the command line", .serialized)
struct VectorFileCLITests {
    static let queries = ["lighthouses word3n7 word3n8", "word12n40 word12n41 word12n42", "about word25n3"]

    /// An index of `count` documents; `prefix` changes every word but keeps the documents' shapes (and so the
    /// number of chunks and the vector file's size).
    func makeIndex(_ dir: TemporaryDirectory, folder: String = "docs", prefix: String = "word", count: Int = 60,
                   db: String? = nil) async throws -> String {
        for i in 0..<count {
            let words = (0..<150).map { "\(prefix)\(i)n\($0)" }.joined(separator: " ")
            try dir.write("\(folder)/d\(i).txt", "Document \(i) about lighthouses. \(words)")
        }
        let db = db ?? dir.path + "/\(folder).sqlite"
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/" + folder, "--db", db, "--embedder", "hash"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        return db
    }

    func query(_ db: String) async throws -> EmbedBinary.Output {
        try await EmbedBinary.run(["query", "--db", db, "-k", "8", "--json"] + Self.queries, timeout: 30)
    }

    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    static func flip(_ path: String, at offset: Int, count: Int = 1, with byte: UInt8 = 0x5A) throws {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let start = offset < 0 ? bytes.count + offset : offset
        for i in start..<min(bytes.count, start + count) { bytes[i] ^= byte }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func truncate(_ path: String, to size: (Int) -> Int) throws {
        let current = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(Glibc.truncate(path, off_t(size(current))) == 0)
    }

    /// The segment files beside the index.
    static func segments(_ db: String) throws -> [String] {
        let directory = (db as NSString).deletingLastPathComponent
        let prefix = (db as NSString).lastPathComponent + ".vectors.seg-"
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(prefix) }.sorted()
            .map { directory + "/" + $0 }
    }

    @Test("damaged, truncated, foreign and odd vector files are never believed, reported by stats --check, and rebuilt")
    func neverBelieved() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await makeIndex(dir)
        let other = try await makeIndex(dir, folder: "other", prefix: "wxrd")
        let file = db + ".vectors"
        // What SQLite alone answers: no vector file to read (the query writes one).
        try? FileManager.default.removeItem(atPath: file)
        let expected = try await query(db)
        #expect(expected.status == 0, "\(expected.stderr)")
        #expect(expected.lines.count == 8 * Self.queries.count)
        let good = try Data(contentsOf: URL(fileURLWithPath: file))
        let segmentPath = try #require(try Self.segments(db).first)
        #expect(try Self.segments(db).count == 1, "a file written whole is one segment")
        let goodSegment = try Data(contentsOf: URL(fileURLWithPath: segmentPath))
        await #expect(try query(db).stdout == expected.stdout)
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
        _ = try await query(other)
        let foreign = try Data(contentsOf: URL(fileURLWithPath: other + ".vectors"))
        let foreignSegment = try Data(contentsOf: URL(fileURLWithPath: try #require(try Self.segments(other).first)))
        #expect(foreignSegment.count == goodSegment.count, "the other index's segment must have the same size")
        #expect(foreign != good)

        let nan: [UInt8] = [0x00, 0x00, 0xC0, 0x7F]
        let segment = segmentPath
        let cases: [(name: String, rebuilt: Bool, damage: () async throws -> Void)] = [
            // The manifest.
            ("manifest: bit flip in the magic", true, { try Self.flip(file, at: 3) }),
            ("manifest: bit flip in the dimension", true, { try Self.flip(file, at: 12, with: 0x01) }),
            ("manifest: bit flip in the generation", true, { try Self.flip(file, at: 16, with: 0x01) }),
            ("manifest: bit flip in the segment count", true, { try Self.flip(file, at: 32, with: 0x01) }),
            ("manifest: bit flip in the index id", true, { try Self.flip(file, at: 44, with: 0x01) }),
            ("manifest: bit flip in the serial", true, { try Self.flip(file, at: 64, with: 0x01) }),
            ("manifest: bit flip in the row count", true, { try Self.flip(file, at: 72, with: 0x01) }),
            ("manifest: bit flip in the largest norm", true, { try Self.flip(file, at: 87, with: 0x10) }),
            ("manifest: a dead row marked", true, { try Self.flip(file, at: 96, with: 0x01) }),
            ("manifest: bit flip in the last byte", true, { try Self.flip(file, at: -1, with: 0x01) }),
            ("manifest: truncated by one byte", true, { try Self.truncate(file) { $0 - 1 } }),
            ("manifest: truncated to the header", true, { try Self.truncate(file) { _ in 64 } }),
            ("manifest: empty", true, { try Self.truncate(file) { _ in 0 } }),
            ("manifest: grown by a block of zeros", true, { try Self.truncate(file) { $0 + 4096 } }),
            ("manifest: another index's", true, { try foreign.write(to: URL(fileURLWithPath: file)) }),
            ("manifest: a symbolic link to another index's", true, {
                try FileManager.default.removeItem(atPath: file)
                try FileManager.default.createSymbolicLink(atPath: file, withDestinationPath: other + ".vectors")
            }),
            ("manifest: a FIFO", true, {
                try FileManager.default.removeItem(atPath: file)
                #expect(mkfifo(file, 0o644) == 0)
            }),
            // A folder is not replaced (it is not ours to delete); queries read SQLite.
            ("manifest: a directory", false, {
                try FileManager.default.removeItem(atPath: file)
                try FileManager.default.createDirectory(atPath: file, withIntermediateDirectories: false)
            }),
            // The segment.
            ("segment: bit flip in the magic", true, { try Self.flip(segment, at: 3) }),
            ("segment: bit flip in the row count", true, { try Self.flip(segment, at: 16, with: 0x01) }),
            ("segment: bit flip in the serial", true, { try Self.flip(segment, at: 24, with: 0x01) }),
            ("segment: bit flip in the largest norm", true, { try Self.flip(segment, at: 33, with: 0x10) }),
            ("segment: bit flip near the start", true, { try Self.flip(segment, at: 72, with: 0x01) }),
            ("segment: bits flipped at 8192 (huge values)", true, { try Self.flip(segment, at: 8192, count: 64, with: 0x70) }),
            ("segment: bit flip in the middle", true, { try Self.flip(segment, at: goodSegment.count / 2, with: 0x01) }),
            ("segment: bit flip near the end", true, { try Self.flip(segment, at: -200, with: 0x01) }),
            ("segment: bit flip in the last byte", true, { try Self.flip(segment, at: -1, with: 0x01) }),
            ("segment: NaN rows", true, {
                var bytes = [UInt8](goodSegment)
                for i in stride(from: 8192, to: 8192 + 4 * 384 * 3, by: 4) { bytes.replaceSubrange(i..<(i + 4), with: nan) }
                try Data(bytes).write(to: URL(fileURLWithPath: segment))
            }),
            ("segment: truncated to half", true, { try Self.truncate(segment) { $0 / 2 } }),
            ("segment: grown by a block of zeros", true, { try Self.truncate(segment) { $0 + 4096 } }),
            ("segment: missing", true, { try FileManager.default.removeItem(atPath: segment) }),
            ("segment: another index's, renamed", true, { try foreignSegment.write(to: URL(fileURLWithPath: segment)) }),
            ("segment: a symbolic link to another index's", true, {
                try FileManager.default.removeItem(atPath: segment)
                try FileManager.default.createSymbolicLink(
                    atPath: segment, withDestinationPath: try #require(try Self.segments(other).first))
            }),
        ]
        var believed: [String] = []
        for (name, rebuilt, damage) in cases {
            try? FileManager.default.removeItem(atPath: file)
            for path in try Self.segments(db) { try FileManager.default.removeItem(atPath: path) }
            try good.write(to: URL(fileURLWithPath: file))
            try goodSegment.write(to: URL(fileURLWithPath: segment))
            try await damage()
            let check = try await EmbedBinary.run(["stats", "--db", db, "--check"], timeout: 30)
            #expect(check.status == 3, "\(name): stats --check passed: \(check.stderr)")
            #expect(check.stderr.contains("vector file") && check.stderr.contains("rebuil"), "\(name): \(check.stderr)")
            let result = try await query(db)
            #expect(result.status == 0, "\(name): \(result.stderr)")
            if result.status != 0 || result.stdout != expected.stdout { believed.append(name) }
            if rebuilt {
                #expect(Self.isRegularFile(file), "\(name): not rebuilt")
                #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0, "\(name)")
                await #expect(try query(db).stdout == expected.stdout, "\(name)")
                let segments = try Self.segments(db)
                #expect(segments.count == 1, "\(name): \(segments)")
            }
            #expect((try? Data(contentsOf: URL(fileURLWithPath: other + ".vectors"))) == foreign, "\(name): the link's target changed")
        }
        print("vector-file corruptions tried: \(cases.count), believed: \(believed.count) \(believed)")
        #expect(believed.isEmpty, "believed: \(believed)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test("a stale vector file is reported by stats --check and replaced by the next query")
    func stale() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = try await makeIndex(dir, count: 10)
        let old = try Data(contentsOf: URL(fileURLWithPath: db + ".vectors"))
        try dir.write("docs/new.txt", "A new document about lighthouses and robins.")
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"]).status == 0)
        let current = try Data(contentsOf: URL(fileURLWithPath: db + ".vectors"))
        try old.write(to: URL(fileURLWithPath: db + ".vectors"))
        let check = try await EmbedBinary.run(["stats", "--db", db, "--check"])
        #expect(check.status == 3, "\(check.stderr)")
        #expect(check.stderr.contains("vector file"), "\(check.stderr)")
        let result = try await EmbedBinary.run(["query", "--db", db, "-k", "3", "--json", "robins"])
        #expect(result.status == 0)
        #expect(result.lines.first?.contains("new.txt") == true, "\(result.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: db + ".vectors")) != old)
        #expect(current != old)
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
    }

    /// A real full filesystem: a 2 MiB tmpfs mounted in a temporary folder (this needs root and mount rights).
    @Test("a full disk: ingest fails with exit 3 and no signal, queries answer from SQLite, no temporary is left")
    func fullDisk() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let mount = dir.path + "/mnt"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        guard getuid() == 0, await StoreFaultCLITests.shell("mount -t tmpfs -o size=2m tmpfs '\(mount)'") == 0 else {
            print("skipped the full-disk test: cannot mount a tmpfs here (needs root with mount permission)")
            return
        }
        defer { _ = EmbedBinary.shellBlocking("umount '\(mount)'") }
        // Short documents, one chunk each: a vector file of about 230 KiB.
        for i in 0..<150 { try dir.write("docs/d\(i).txt", "Note \(i) about lighthouses and word\(i) things.") }
        let db = mount + "/index.sqlite"
        let ingest = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let expected = try await EmbedBinary.run(["query", "--db", db, "-k", "5", "--json", "lighthouses word7"])
        #expect(expected.status == 0)
        try FileManager.default.removeItem(atPath: db + ".vectors")

        // Fill the disk in 64 KiB files, then free 192 KiB: room for SQLite's commit, not for the vector file.
        var fillers: [String] = []
        let block = Data(repeating: 0xEE, count: 64 << 10)
        while fillers.count < 100 {
            let name = mount + "/fill-\(fillers.count)"
            guard FileManager.default.createFile(atPath: name, contents: block) else { break }
            fillers.append(name)
        }
        _ = FileManager.default.createFile(atPath: mount + "/fill-last", contents: Data(repeating: 1, count: 4096))
        let full = try await EmbedBinary.run(["query", "--db", db, "-k", "5", "--json", "lighthouses word7"], timeout: 30)
        #expect(full.status == 0, "query on a full disk: \(full.status) \(full.stderr)")
        #expect(full.stdout == expected.stdout)

        for name in fillers.suffix(3) { try FileManager.default.removeItem(atPath: name) }
        try dir.write("docs/new.txt", "A new note about robins.")
        let again = try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"], timeout: 60)
        #expect(again.status == 3, "ingest on a full disk: \(again.status) \(again.stderr)")
        #expect(again.stderr.contains("space") || again.stderr.contains("full"), "\(again.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: mount)
        #expect(!names.contains { $0.contains(".tmp-") }, "\(names)")
        let check = try await EmbedBinary.run(["stats", "--db", db, "--check"], timeout: 30)
        #expect(check.status == 0, "\(check.stderr)")
        let after = try await EmbedBinary.run(["query", "--db", db, "-k", "5", "--json", "lighthouses word7"], timeout: 30)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(!after.stdout.isEmpty)
    }
}
