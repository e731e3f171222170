import EmbedKitTestSupport
import Foundation
import Testing

/// End to end: what `embed ingest` reads from a documentation tree by default, and how --include, --only and
/// --no-ignore change it, and what `reindex` does with options recorded by an older version.
@Suite("embed reads documents by default", .serialized)
struct DefaultDocumentsCLITests {
    /// A docs tree as found in the wild: documents among style sheets, scripts, lock files, images, a git folder,
    /// node_modules, a build folder listed in .gitignore, Apache's negotiated names and gzipped files.
    static func makeTree(_ dir: TemporaryDirectory) async throws -> String {
        let text = "Lighthouses guide ships along dangerous coasts at night."
        for name in [
            "README", "guide.rst", "page.md", "keep.draft.md", "sub/chapter.txt",
            ".git/HEAD", ".git/description", "node_modules/pkg/README.md", "_build/page.md", "notes.draft.md",
            "stylesheet.css", "app.js", "package-lock.json", "yarn.lock", "data.json", "config.yaml", "logo.svg",
        ] {
            try dir.write("docs/" + name, text)
        }
        try dir.write("docs/node_modules/pkg/index.js", "module.exports = 1")
        try dir.write("docs/index.html.en", "<html><body><p>\(text)</p></body></html>")
        try dir.write("docs/index.html.ko.euc-kr", "<html><body><p>\(text)</p></body></html>")
        try dir.write("docs/manual.xml.fr", "<?xml version=\"1.0\"?><doc><p>\(text)</p></doc>")
        try dir.write("docs/logo.png", bytes: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])
        try dir.write("docs/configure", "#!/bin/sh\necho configuring\n")
        try dir.write("docs/.gitignore", "# build output\n_build/\n*.draft.md\n!keep.draft.md\n")
        for name in ["notes.md", "bar.js", "foo.tar"] { try dir.write("gz/" + name, text) }
        let gzip = await EmbedBinary.shell(
            "cd '\(dir.path)/gz' && gzip -c notes.md > '\(dir.path)/docs/notes.md.gz' && gzip -c bar.js > "
                + "'\(dir.path)/docs/bar.js.gz' && gzip -c foo.tar > '\(dir.path)/docs/foo.tar.gz'")
        #expect(gzip.status == 0, "\(gzip.output)")
        return dir.path + "/docs"
    }

    static let documents: Set<String> = [
        "README", "guide.rst", "page.md", "keep.draft.md", "sub/chapter.txt", "index.html.en",
        "index.html.ko.euc-kr", "manual.xml.fr",
    ]

    /// `path` with its symlinks resolved, as the index stores it (the temporary folder may be behind one).
    static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }

    /// The stored documents' paths below `root`.
    static func stored(_ db: String, under root: String) async throws -> Set<String> {
        let list = await EmbedBinary.shell("sqlite3 '\(db)' 'SELECT path FROM documents'")
        #expect(list.status == 0, "\(list.output)")
        let prefix = canonical(root) + "/"
        return Set(list.output.split(separator: "\n").map { String($0.dropFirst(prefix.count)) })
    }

    @Test("the default ingest reads documents only, silently, and reindex keeps to the same rule")
    func defaults() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try await Self.makeTree(dir)
        let db = dir.path + "/index.sqlite"
        let ingest = try await EmbedBinary.run(["ingest", root, "--db", db, "--embedder", "hash"])
        let found = try await Self.stored(db, under: root)
        // Decompression is another part's work: a gzipped Markdown file must reach the reader, stored or reported.
        #expect(found.subtracting(["notes.md.gz"]) == Self.documents, "\(ingest.stderr)")
        #expect(found.contains("notes.md.gz") || ingest.stderr.contains("notes.md.gz: "))
        for skipped in [
            ".css", ".js", ".json", ".lock", ".yaml", ".svg", ".png", "node_modules", ".git", "_build", "notes.draft",
            "configure", "foo.tar.gz",
        ] {
            #expect(!ingest.stderr.contains(skipped), "\(skipped): \(ingest.stderr)")
        }

        // reindex applies the recorded rules: a new style sheet is not added, a new document is.
        try dir.write("docs/more.css", "p { color: red }")
        try dir.write("docs/more.md", "# More\n\nAbout lighthouse keepers.")
        let reindex = try await EmbedBinary.run(["reindex", "--db", db, "--json"])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        #expect(try EmbedBinary.json(reindex.stdout)["added"] as? Int == 1)
        await #expect(try Self.stored(db, under: root).subtracting(["notes.md.gz"]) == Self.documents.union(["more.md"]))
        let refused = try await EmbedBinary.run(["reindex", "--db", db, "--no-ignore"])
        #expect(refused.status == 2)
    }

    @Test("--include brings back types and named folders, --no-ignore drops .gitignore, --only narrows")
    func options() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try await Self.makeTree(dir)
        let included = dir.path + "/included.sqlite"
        let run = try await EmbedBinary.run([
            "ingest", root, "--db", included, "--embedder", "hash", "--include", "*.css", "--include",
            "node_modules/pkg/**", "--include", "notes.draft.md",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        await #expect(
            try Self.stored(included, under: root).subtracting(["notes.md.gz"])
                == Self.documents.union([
                    "stylesheet.css", "node_modules/pkg/README.md", "node_modules/pkg/index.js", "notes.draft.md",
                ]))

        let noIgnore = dir.path + "/no-ignore.sqlite"
        #expect(try await EmbedBinary.run(["ingest", root, "--db", noIgnore, "--embedder", "hash", "--no-ignore"]).status == 0)
        await #expect(
            try Self.stored(noIgnore, under: root).subtracting(["notes.md.gz"])
                == Self.documents.union(["_build/page.md", "notes.draft.md"]))

        let only = dir.path + "/only.sqlite"
        #expect(try await EmbedBinary.run(["ingest", root, "--db", only, "--embedder", "hash", "--only", "*.md"]).status == 0)
        await #expect(try Self.stored(only, under: root) == ["page.md", "keep.draft.md"])
    }

    @Test("an index written by an older version gets the new defaults; its include globs keep narrowing")
    func olderIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = try await Self.makeTree(dir)
        let canonical = Self.canonical(root)
        let db = dir.path + "/index.sqlite"
        // Every file, as older versions read them.
        _ = try await EmbedBinary.run(["ingest", root, "--db", db, "--embedder", "hash", "--only", "*", "--no-ignore"])
        await #expect(try Self.stored(db, under: root).contains("stylesheet.css"))

        func recordOldOptions(include: [String]) async throws {
            let options: [String: Any] = [
                "include_hidden": false, "follow_symlinks": false, "include": include, "exclude": [String](),
            ]
            let roots = try JSONSerialization.data(withJSONObject: [["path": canonical, "options": options]])
            let sql = "UPDATE index_meta SET value = '\(String(decoding: roots, as: UTF8.self))' WHERE key = 'roots'"
            let update = await EmbedBinary.shell("sqlite3 '\(db)' \"\(sql.replacingOccurrences(of: "\"", with: "\\\""))\"")
            #expect(update.status == 0, "\(update.output)")
        }
        try await recordOldOptions(include: [])
        let reindex = try await EmbedBinary.run(["reindex", "--db", db, "--json"])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        await #expect(try Self.stored(db, under: root).subtracting(["notes.md.gz"]) == Self.documents)

        try await recordOldOptions(include: ["*.md"])
        #expect(try await EmbedBinary.run(["reindex", "--db", db]).status == 0)
        await #expect(try Self.stored(db, under: root) == ["page.md", "keep.draft.md"])
    }
}

