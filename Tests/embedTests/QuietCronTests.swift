import EmbedKitTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Cron runs stay quiet: files skipped for a lasting reason are reported once, deleted single-file roots leave
/// the index, and `embed remove` takes files, folders and roots out.
@Suite("quiet cron runs and embed remove", .serialized)
struct QuietCronTests {
    /// A tree with one good file, a PNG saved under a document's name (a `.png` is not read at all), a 1.5 MiB
    /// text file and a UTF-16 file without a byte-order mark (its NUL bytes make it undecodable as text).
    static func writeTree(_ dir: TemporaryDirectory) throws {
        try dir.write("docs/good.txt", "A good file about lighthouses and their keepers.")
        try dir.write("docs/scan.html", bytes: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 1, 2])
        try dir.write("docs/big.txt", String(repeating: "A line of an oversized log file.\n", count: 48_000))
        try dir.write("docs/utf16.txt", bytes: utf16("Plain words in UTF-16 with no mark."))
    }

    /// `text` as UTF-16LE without a byte-order mark.
    static func utf16(_ text: String) -> [UInt8] {
        Array(text.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    }

    func json(_ run: EmbedBinary.Output) throws -> [String: Any] {
        #expect(run.status == 0, "\(run.stderr)")
        return try EmbedBinary.json(run.lines.last ?? "")
    }

    /// Sets a file's modification time `seconds` into the future, as `touch` would.
    func touch(_ path: String, _ seconds: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(seconds)], ofItemAtPath: path)
    }

    @Test("reindex --quiet over an unchanged tree with binary, over-size and undecodable files prints nothing")
    func quietUnchanged() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeTree(dir)
        let docs = dir.path + "/docs"
        let db = dir.path + "/index.sqlite"
        let limit = ["--max-file-mib", "1"]
        let first = try await EmbedBinary.run(["ingest", docs, "--db", db, "--embedder", "hash"] + limit)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("\(docs)/scan.html: warning: binary file (PNG image), skipped"))
        #expect(first.stderr.contains("\(docs)/big.txt: warning: larger than 1 MiB, skipped"))
        #expect(first.stderr.contains("\(docs)/utf16.txt: warning: "))

        for _ in 0..<2 {
            let quiet = try await EmbedBinary.run(["reindex", "--quiet", "--db", db] + limit)
            #expect(quiet.status == 0)
            #expect(quiet.stdout == "")
            #expect(quiet.stderr == "")
        }
        let summary = try json(try await EmbedBinary.run(["reindex", "--db", db, "--json"] + limit))
        #expect(summary["skipped_as_before"] as? Int == 3)
        #expect(summary["skipped"] as? Int == 0)
        #expect(summary["unchanged"] as? Int == 1)
        #expect(summary["bytes_read"] as? Int == 0)
        let plain = try await EmbedBinary.run(["reindex", "--db", db] + limit)
        #expect(plain.status == 0)
        #expect(plain.stderr.hasPrefix("Indexed 1 file: 0 added, 0 updated, 1 unchanged"))
        #expect(plain.stderr.hasSuffix("; 3 skipped as before\n"))

        // Touched: reported again, once.
        try touch(docs + "/scan.html", 60)
        let touched = try await EmbedBinary.run(["reindex", "--quiet", "--db", db] + limit)
        #expect(touched.status == 0)
        #expect(touched.stderr == "\(docs)/scan.html: warning: binary file (PNG image), skipped\n")
        #expect(try await EmbedBinary.run(["reindex", "--quiet", "--db", db] + limit).stderr == "")

        // Changed contents, still undecodable: reported once.
        try dir.write("docs/utf16.txt", bytes: Self.utf16("Other words, still UTF-16."))
        try touch(docs + "/utf16.txt", 120)
        let changed = try await EmbedBinary.run(["reindex", "--quiet", "--db", db] + limit)
        #expect(changed.stderr.hasPrefix("\(docs)/utf16.txt: warning: "))
        #expect(changed.stderr.split(separator: "\n").count == 1)
        #expect(try await EmbedBinary.run(["reindex", "--quiet", "--db", db] + limit).stderr == "")

        // --checksum looks at every file again, so it reports them again.
        let checksum = try await EmbedBinary.run(["reindex", "--quiet", "--checksum", "--db", db] + limit)
        #expect(checksum.stderr.split(separator: "\n").count == 3)

        // A larger limit retries the file skipped as too large: it is indexed, and forgotten as a skip.
        let larger = try json(try await EmbedBinary.run(["reindex", "--db", db, "--json", "--max-file-mib", "2"]))
        #expect(larger["added"] as? Int == 1)
        #expect(larger["skipped_as_before"] as? Int == 2)
        // The smaller limit again: a stored document that did not change is left as it is.
        let smaller = try json(try await EmbedBinary.run(["reindex", "--quiet", "--db", db, "--json"] + limit))
        #expect(smaller["unchanged"] as? Int == 2)

        // A binary file that becomes text is indexed; one that is deleted is forgotten.
        try dir.write("docs/scan.html", "Now a page about logos.")
        try touch(docs + "/scan.html", 180)
        try FileManager.default.removeItem(atPath: docs + "/utf16.txt")
        let fixed = try json(try await EmbedBinary.run(["reindex", "--db", db, "--json"] + limit))
        #expect(fixed["added"] as? Int == 1)
        #expect(fixed["skipped_as_before"] as? Int == 0)
        #expect(fixed["removed"] as? Int == 0)
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
        await #expect(Self.rows(db, "SELECT count(*) FROM skipped_files") == ["0"])
    }

    @Test("a stored file that becomes binary leaves the index, reported once")
    func becomesBinary() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "Notes about semaphores and signal flags.")
        try dir.write("docs/b.txt", "Notes about lanterns.")
        let db = dir.path + "/index.sqlite"
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"]).status == 0)
        try dir.write("docs/a.txt", bytes: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])
        try touch(dir.path + "/docs/a.txt", 60)
        let run = try json(try await EmbedBinary.run(["reindex", "--db", db, "--json"]))
        #expect(run["removed"] as? Int == 1)
        #expect(run["skipped"] as? Int == 1)
        let quiet = try await EmbedBinary.run(["reindex", "--quiet", "--db", db])
        #expect((quiet.status, quiet.stdout, quiet.stderr) == (0, "", ""))
        let stats = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect(stats["documents"] as? Int == 1)
        #expect(try await EmbedBinary.run(["query", "--db", db, "-k", "5", "semaphores"]).stdout.contains("a.txt") == false)
    }

    /// The result rows of a query, read with the sqlite3 shell (another client, as a user might use).
    static func rows(_ db: String, _ sql: String) async -> [String] {
        let result = await EmbedBinary.shell("sqlite3 '\(db)' \"\(sql)\"")
        #expect(result.status == 0, "\(result.output)")
        return result.output.split(separator: "\n").map(String.init)
    }

    @Test("a deleted single-file root is removed with its root; a missing folder root is kept and reported")
    func deletedFileRoot() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let single = try dir.write("single.txt", "One file ingested on its own, about tides.")
        try dir.write("folder/a.txt", "A file in a folder root, about harbours.")
        try dir.write("docs/b.txt", "A file in another folder, about cranes.")
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(
            ["ingest", single, dir.path + "/folder", dir.path + "/docs", "--db", db, "--embedder", "hash"])
        #expect(ingest.status == 0, "\(ingest.stderr)")

        try FileManager.default.removeItem(atPath: single)
        let run = try await EmbedBinary.run(["reindex", "--quiet", "--db", db])
        #expect(run.status == 0)
        #expect(run.stderr == "\(single): warning: file no longer exists; removed from the index with its root\n")
        let stats = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect(stats["documents"] as? Int == 2)
        #expect((stats["roots"] as? [Any])?.count == 2)
        #expect(try await EmbedBinary.run(["reindex", "--quiet", "--db", db]).stderr == "")

        // A folder root that is missing (an unmounted disk?) is reported and its documents are kept.
        try FileManager.default.removeItem(atPath: dir.path + "/folder")
        let missing = try await EmbedBinary.run(["reindex", "--quiet", "--db", db])
        #expect(missing.status == 1)
        #expect(missing.stderr == "\(dir.path)/folder: error: no such file or directory\n")
        #expect(try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)["documents"] as? Int == 2)
    }

    @Test("embed remove takes out a file, a folder, a root and a deleted file, and names a path that matches nothing")
    func remove() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("docs/a.txt", "Alpha: a note about anchors.")
        try dir.write("docs/sub/b.txt", "Bravo: a note about buoys.")
        try dir.write("docs/sub/c.txt", "Charlie: a note about capstans.")
        try dir.write("docs/gone.txt", "Delta: a note about docks.")
        try dir.write("docs/scan.html", bytes: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])
        try dir.write("other/d.txt", "Echo: a note about estuaries.")
        let single = try dir.write("single.txt", "Foxtrot: a note about ferries.")
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(
            ["ingest", "docs", "other", "single.txt", "--db", db, "--embedder", "hash"], in: dir.url)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        func documents() async throws -> Int? {
            try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)["documents"] as? Int
        }
        await #expect(try documents() == 6)

        // A folder inside a root: removed now, with a warning that the next reindex adds it again.
        let folder = try await EmbedBinary.run(["remove", "docs/sub/", "--db", db], in: dir.url)
        #expect(folder.status == 0, "\(folder.stderr)")
        #expect(folder.lines == ["removed docs/sub/b.txt", "removed docs/sub/c.txt"])
        #expect(
            folder.stderr == "docs/sub/: warning: still on disk under the root docs; the next reindex adds it again "
                + "(delete it, or ingest the root again with --exclude)\nRemoved 2 files and 0 roots from \(db)\n")
        await #expect(try documents() == 4)

        // A file deleted from disk is still found by the path it was stored under; a root that was a single
        // file and a folder root go with their documents, and reindex no longer walks them.
        try FileManager.default.removeItem(atPath: dir.path + "/docs/gone.txt")
        let several = try await EmbedBinary.run(["remove", "docs/gone.txt", single, "./other", "--db", db], in: dir.url)
        #expect(several.status == 0, "\(several.stderr)")
        #expect(
            several.lines == [
                "removed docs/gone.txt", "removed single.txt", "removed root single.txt", "removed other/d.txt",
                "removed root other",
            ])
        #expect(several.stderr == "Removed 3 files and 2 roots from \(db)\n")
        await #expect(try documents() == 1)
        let stats = try EmbedBinary.json(try await EmbedBinary.run(["stats", "--db", db, "--json"]).stdout)
        #expect((stats["roots"] as? [Any])?.count == 1)

        // A path that matches nothing: reported, status 1, and the others are still removed.
        let nothing = try await EmbedBinary.run(["remove", "nowhere/x.txt", "docs/a.txt", "--db", db], in: dir.url)
        #expect(nothing.status == 1)
        #expect(nothing.lines == ["removed docs/a.txt"])
        #expect(nothing.stderr.hasPrefix("nowhere/x.txt: error: not in the index\n"))
        await #expect(try documents() == 0)

        // The remembered skip goes with its root; the vector file and the index stay consistent.
        let root = try await EmbedBinary.run(["remove", "docs", "--db", db, "--quiet"], in: dir.url)
        #expect(root.status == 0, "\(root.stderr)")
        #expect(root.stderr == "")
        #expect(root.lines == ["removed root docs"])
        await #expect(Self.rows(db, "SELECT count(*) FROM skipped_files") == ["0"])
        await #expect(try documents() == 0)
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
        #expect(try await EmbedBinary.run(["reindex", "--db", db]).status == 3)  // no roots left

        // Another writer holds the lock: status 4, nothing changed. A missing index: status 3, none created.
        let fd = open(db + ".lock", O_RDWR)
        #expect(flock(fd, LOCK_EX) == 0)
        #expect(try await EmbedBinary.run(["remove", "docs", "--db", db]).status == 4)
        close(fd)
        #expect(try await EmbedBinary.run(["remove", "docs", "--db", dir.path + "/none.sqlite"]).status == 3)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/none.sqlite"))
    }

    @Test("an index written before skipped files were remembered opens, upgrades and stays quiet")
    func oldIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeTree(dir)
        let db = dir.path + "/index.sqlite"
        let limit = ["--max-file-mib", "1"]
        #expect(try await EmbedBinary.run(["ingest", dir.path + "/docs", "--db", db, "--embedder", "hash"] + limit).status == 0)
        // Back to the first schema, as an older embed wrote it.
        _ = await Self.rows(
            db,
            OlderSchema.withoutKeywordIndex
                + "DROP TABLE skipped_files; DELETE FROM schema_migrations WHERE identifier = 'v2-skipped-files'")
        await #expect(Self.rows(db, "SELECT identifier FROM schema_migrations") == ["v1-documents-chunks-vectors"])
        let hits = try await EmbedBinary.run(["query", "--db", db, "-k", "1", "lighthouses"])
        #expect(hits.status == 0, "\(hits.stderr)")
        #expect(hits.stdout.contains("good.txt"))

        // The first writer upgrades it; the skips are reported once more and then remembered.
        let upgraded = try await EmbedBinary.run(["reindex", "--quiet", "--db", db] + limit)
        #expect(upgraded.status == 0)
        #expect(upgraded.stderr.split(separator: "\n").count == 3)
        await #expect(Self.rows(db, "SELECT identifier FROM schema_migrations ORDER BY identifier")
            == ["v1-documents-chunks-vectors", "v2-skipped-files", "v3-chunks-fts", "v4-chunks-without-vectors",
               "v5-vector-changes"])
        let quiet = try await EmbedBinary.run(["reindex", "--quiet", "--db", db] + limit)
        #expect((quiet.status, quiet.stdout, quiet.stderr) == (0, "", ""))
        #expect(try await EmbedBinary.run(["stats", "--db", db, "--check"]).status == 0)
    }
}
