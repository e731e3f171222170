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

    @Test("include and exclude globs")
    func globs() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for name in ["a.md", "b.txt", "drafts/c.md", "docs/d.md"] { try dir.write(name, "x") }
        var options = FileWalker.Options()
        options.include = ["*.md"]
        options.exclude = ["drafts"]
        let names = walk([dir.path], options).files.map { ($0 as NSString).lastPathComponent }
        #expect(names == ["a.md", "d.md"])
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
