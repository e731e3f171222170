import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

@Suite("FileWalker")
struct FileWalkerTests {
    func walk(_ roots: [String], _ options: FileWalker.Options = .init()) -> (files: [String], problems: [Diagnostic]) {
        var files: [String] = []
        var problems: [Diagnostic] = []
        for event in FileWalker(roots: roots, options: options) {
            switch event {
            case .file(let file): files.append(file.path)
            case .problem(let problem): problems.append(problem)
            }
        }
        return (files, problems)
    }

    @Test("walks in sorted order, files before subfolders, skipping hidden entries")
    func order() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for name in ["b.txt", "a.md", "sub/z.txt", "sub/deeper/y.txt", ".hidden/x.txt", ".dot.txt", "c/d.html"] {
            try dir.write(name, "text")
        }
        let root = FileWalker.canonicalPath(dir.path)!
        let result = walk([dir.path])
        #expect(result.files == ["a.md", "b.txt", "c/d.html", "sub/z.txt", "sub/deeper/y.txt"].map { root + "/" + $0 })
        #expect(result.problems.isEmpty)
        var options = FileWalker.Options()
        options.includeHidden = true
        #expect(walk([dir.path], options).files.count == 7)
    }

    @Test("only and exclude globs")
    func globs() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for name in ["a.md", "b.txt", "drafts/c.md", "docs/d.md", "e.css"] { try dir.write(name, "x") }
        var options = FileWalker.Options()
        options.only = ["*.md", "*.css"]
        options.exclude = ["drafts"]
        let names = walk([dir.path], options).files.map { ($0 as NSString).lastPathComponent }
        #expect(names == ["a.md", "e.css", "d.md"])
    }

    /// The files found under `dir`, relative to it.
    func relativeFiles(_ dir: TemporaryDirectory, _ options: FileWalker.Options = .init()) -> [String] {
        let root = FileWalker.canonicalPath(dir.path)! + "/"
        return walk([dir.path], options).files.map { String($0.dropFirst(root.count)) }
    }

    @Test("by default only documents are found, silently")
    func documentsByDefault() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let documents = [
            "README", "guide.rst", "index.html.en", "index.html.ko.euc-kr", "manual.xml.fr", "notes.md.gz",
            "page.html", "book/ch1.xhtml", "book/ch2.md", "book/data.xml",
        ]
        let others = [
            "stylesheet.css", "app.js", "package-lock.json", "config.yaml", "yarn.lock", "logo.svg", "main.c",
            "bar.js.gz", "foo.tar.gz", "README.gz", "Makefile", "node_modules/pkg/README.md",
            "book/__pycache__/x.txt", "env/lib/site.txt", "env/pyvenv.cfg", "cache/CACHEDIR.TAG", "cache/a.txt",
        ]
        for name in documents + others { try dir.write(name, "plain text") }
        try dir.write("logo.png", bytes: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0])
        try dir.write("LICENSE-binary", bytes: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
        try dir.write("configure", "#!/bin/sh\necho hi\n")
        let result = walk([dir.path])
        #expect(result.problems.isEmpty)
        #expect(Set(relativeFiles(dir)) == Set(documents))
        // Names alone decide, except for files without an extension: those are looked into.
        var only = FileWalker.Options()
        only.only = ["*"]
        #expect(relativeFiles(dir, only).contains("stylesheet.css"))
    }

    @Test("--include brings files back, and enters skipped folders only when it names them")
    func includeBringsBack() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for name in [
            "a.md", "style.css", "node_modules/pkg/README.md", "node_modules/pkg/index.js",
            "node_modules/other/README.md",
            "ignored/x.md", "ignored/y.css", "sub/node_modules/z.md",
        ] { try dir.write(name, "text") }
        try dir.write(".gitignore", "ignored/\n")
        var options = FileWalker.Options()
        options.include = ["*.css"]
        #expect(relativeFiles(dir, options) == ["a.md", "style.css"])
        options.include = ["node_modules/pkg/**", "*.md"]
        #expect(relativeFiles(dir, options) == ["a.md", "node_modules/pkg/README.md", "node_modules/pkg/index.js"])
        options.include = ["ignored/*.css", "sub/node_modules/*.md"]
        #expect(relativeFiles(dir, options) == ["a.md", "ignored/y.css", "sub/node_modules/z.md"])
        options.include = []
        options.exclude = ["a.md"]
        #expect(relativeFiles(dir, options) == [])
    }

    @Test(".gitignore and .ignore files, nested, with negation; --no-ignore turns them off")
    func gitignore() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write(".gitignore", "# built pages\n_build/\n*.txt\n!keep.txt\n/top.md\n")
        try dir.write("docs/.gitignore", "!*.txt\ndraft-*.md\n")
        try dir.write("docs/.ignore", "secret.md\n")
        for name in [
            "top.md", "a.txt", "keep.txt", "readme.md", "_build/page.html", "docs/top.md", "docs/b.txt",
            "docs/draft-1.md", "docs/final.md", "docs/secret.md", "docs/sub/c.txt", "docs/sub/_build/x.md",
        ] { try dir.write(name, "text") }
        #expect(
            relativeFiles(dir) == [
                "keep.txt", "readme.md", "docs/b.txt", "docs/final.md", "docs/top.md", "docs/sub/c.txt",
            ])
        var options = FileWalker.Options()
        options.useIgnoreFiles = false
        #expect(relativeFiles(dir, options).count == 12)
    }

    @Test("the .gitignore files above a root apply up to the top of its git work tree")
    func enclosingRepository() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("repo/.git/HEAD", "ref: refs/heads/main\n")
        try dir.write("repo/.gitignore", "docs/generated/\n*.tmp.md\n")
        try dir.write("repo/docs/.gitignore", "!keep.tmp.md\n")
        for name in ["guide/a.md", "guide/b.tmp.md", "guide/keep.tmp.md", "generated/c.md"] {
            try dir.write("repo/docs/" + name, "text")
        }
        let root = FileWalker.canonicalPath(dir.path)!
        let guide = walk([dir.path + "/repo/docs/guide"]).files
        #expect(guide == ["a.md", "keep.tmp.md"].map { root + "/repo/docs/guide/" + $0 })
        // A root named on the command line is walked even when a .gitignore above ignores it.
        #expect(walk([dir.path + "/repo/docs/generated"]).files.count == 1)
        // A nested repository is its own work tree.
        try dir.write("repo/docs/guide/.git/HEAD", "ref: refs/heads/main\n")
        #expect(walk([dir.path + "/repo/docs/guide"]).files.count == 3)
        try FileManager.default.removeItem(atPath: dir.path + "/repo/docs/guide/.git")
        // Outside a work tree, a .gitignore above the root says nothing about it.
        try FileManager.default.removeItem(atPath: dir.path + "/repo/.git")
        #expect(walk([dir.path + "/repo/docs/guide"]).files.count == 3)
    }

    @Test("links out of the root are reported only when named like documents")
    func linksOutOfTheRoot() throws {
        let dir = try TemporaryDirectory()
        let outside = try TemporaryDirectory()
        defer {
            dir.remove()
            outside.remove()
        }
        try outside.write("notes", "outside text")
        try outside.write("style.css", "p {}")
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: dir.path + "/NOTES", withDestinationPath: outside.path + "/notes")
        try fm.createSymbolicLink(atPath: dir.path + "/theme.css", withDestinationPath: outside.path + "/style.css")
        let result = walk([dir.path])
        #expect(result.files.isEmpty)
        #expect(result.problems.map { ($0.path as NSString).lastPathComponent } == ["NOTES"])
    }

    @Test("a file named as a root is read whatever its type")
    func fileRoot() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("style.css", "body {}")
        #expect(walk([dir.path + "/style.css"]).files.count == 1)
    }

    @Test("recorded options: old ones keep their include globs as a filter; new ones round-trip")
    func recordedOptions() throws {
        let old = #"{"include_hidden":false,"follow_symlinks":true,"include":["*.md"],"exclude":["drafts"]}"#
        let decoded = try JSONDecoder().decode(FileWalker.Options.self, from: Data(old.utf8))
        #expect(decoded.only == ["*.md"] && decoded.include.isEmpty && decoded.exclude == ["drafts"])
        #expect(decoded.followSymlinks && decoded.useIgnoreFiles)
        var options = FileWalker.Options()
        options.include = ["*.css"]
        options.only = ["*.txt"]
        options.useIgnoreFiles = false
        let again = try JSONDecoder().decode(FileWalker.Options.self, from: JSONEncoder().encode(options))
        #expect(again == options)
    }

    @Test("symlink loops are not followed twice; links out of the root are reported, not followed")
    func symlinks() throws {
        let dir = try TemporaryDirectory()
        let outside = try TemporaryDirectory()
        defer {
            dir.remove()
            outside.remove()
        }
        try dir.write("docs/a.txt", "a")
        try outside.write("secret.txt", "secret")
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: dir.path + "/docs/loop", withDestinationPath: dir.path + "/docs")
        try fm.createSymbolicLink(atPath: dir.path + "/docs/out", withDestinationPath: outside.path)
        try fm.createSymbolicLink(atPath: dir.path + "/docs/alias.txt", withDestinationPath: dir.path + "/docs/a.txt")
        try fm.createSymbolicLink(atPath: dir.path + "/docs/broken", withDestinationPath: dir.path + "/nothing")
        let result = walk([dir.path])
        #expect(!result.files.contains { $0.contains("secret") })
        #expect(result.files.filter { $0.hasSuffix("a.txt") }.count == 1)
        #expect(result.files.contains { $0.hasSuffix("alias.txt") })
        #expect(result.problems.contains { $0.path.hasSuffix("/out") && $0.message.contains("--follow-symlinks") })
        #expect(result.problems.contains { $0.path.hasSuffix("/broken") && $0.message == "broken symlink, skipped" })
        var options = FileWalker.Options()
        options.followSymlinks = true
        #expect(walk([dir.path], options).files.contains { $0.hasSuffix("secret.txt") })
    }

    @Test("FIFOs are reported and skipped, never opened; a missing root is an error")
    func special() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try dir.write("a.txt", "a")
        #expect(mkfifo(dir.path + "/pipe", 0o644) == 0)
        let result = walk([dir.path, dir.path + "/missing"])
        #expect(result.files.count == 1)
        #expect(result.problems.map(\.severity) == [.warning, .error])
        #expect(result.problems[0].message.contains("not a regular file"))
        #expect(result.problems[1].message == "no such file or directory")
    }
}
