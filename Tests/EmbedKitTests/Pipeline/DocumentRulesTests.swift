@testable import EmbedKit
import Testing

@Suite("Document names")
struct DocumentNamesTests {
    @Test(
        "documents by extension, past .gz and Apache's language and charset tags",
        arguments: [
            ("notes.txt", true), ("README.md", true), ("guide.rst", true), ("manual.adoc", true),
            ("page.HTML", true), ("page.xhtml", true), ("book.xml", true), ("todo.org", true),
            ("index.html.en", true), ("index.html.ko.euc-kr", true), ("index.html.ja.utf8", true),
            ("index.html.pt-br", true), ("index.html.zh-cn", true), ("foo.xml.fr", true), ("page.html.iso-8859-1", true),
            ("notes.md.gz", true), ("notes.txt.gz", true), ("index.html.en.gz", true), ("index.html.md", true),
            ("stylesheet.css", false), ("app.js", false), ("package-lock.json", false), ("config.yaml", false),
            ("yarn.lock", false), ("logo.svg", false), ("logo.png", false), ("main.c", false), ("data.csv", false),
            ("paper.tex", false), ("ls.1", false), ("bar.js.gz", false), ("foo.tar.gz", false), ("README.gz", false),
            ("changelog.Debian.gz", false), ("index.html.var", false), ("page.html.bak", false),
            ("config.xml.in", false), ("page.html.en.js", false), ("Makefile", false), ("CMakeLists.txt", false),
            ("schema.xsd", false), ("tutor.pl", false), ("init.el", false), ("Program.cs", false), ("tutor.bar.utf-8", false),
            ("lib.so", false), ("page.md.gz", true),
        ])
    func byName(name: String, isDocument: Bool) {
        #expect(DocumentNames.isDocument(name) == isDocument, "\(name)")
    }

    @Test(
        "names without an extension, or with only a language and charset after the name, are left to their contents",
        arguments: [
            "README", "LICENSE", ".bashrc", "notes.", "tutor.ja.euc", "tutor.fr.utf-8", "tutor.ru", "tutor.zh_tw.utf-8",
            "tutor.el.cp737", "tutor.tr.iso9", "tutor.utf-8", "README.de", "tutor.ja.sjis", "tutor.zh.big5",
        ])
    func noExtension(name: String) {
        #expect(DocumentNames.isDocument(name) == nil)
    }

    @Test("the extension that names the format")
    func formatExtension() {
        #expect(DocumentNames.documentExtension(of: "index.html.ko.euc-kr") == .init(name: "html", compressed: false))
        #expect(DocumentNames.documentExtension(of: "notes.MD.gz") == .init(name: "MD", compressed: true))
        #expect(DocumentNames.documentExtension(of: "archive.tar.gz") == .init(name: "tar", compressed: true))
        #expect(DocumentNames.documentExtension(of: ".dot.txt").name == "txt")
        #expect(FormatDetector.format(path: "/d/index.html.en", bytes: Array("plain words".utf8)) == .html)
        #expect(FormatDetector.format(path: "/d/manual.xml.fr", bytes: Array("plain words".utf8)) == .xml)
        #expect(FormatDetector.format(path: "/d/notes.md.gz", bytes: Array("plain words".utf8)) == .markdown)
    }
}

@Suite("gitignore patterns")
struct IgnorePatternsTests {
    /// Whether each path is ignored under `text`: true, false (re-included) or nil (no pattern).
    func check(_ text: String, _ cases: [(String, Bool, Bool?)], sourceLocation: SourceLocation = #_sourceLocation) {
        let patterns = IgnorePatterns(text)
        for (path, isDirectory, expected) in cases {
            #expect(
                patterns.match(path[...], isDirectory: isDirectory) == expected, "\(path)", sourceLocation: sourceLocation)
        }
    }

    @Test("unanchored patterns match names at any depth; a slash anchors to the file's folder")
    func anchoring() {
        check("*.log\n/build\ndocs/tmp\n", [
            ("a.log", false, true), ("x/y/a.log", false, true), ("a.logs", false, nil),
            ("build", true, true), ("sub/build", true, nil),
            ("docs/tmp", true, true), ("x/docs/tmp", true, nil),
        ])
    }

    @Test("a trailing slash matches folders only")
    func folders() {
        check("out/\n", [("out", true, true), ("out", false, nil), ("a/out", true, true)])
    }

    @Test("** spans folders at the start, middle and end")
    func doubleStar() {
        check("**/cache\na/**/z.md\nlogs/**\n", [
            ("cache", true, true), ("p/q/cache", true, true),
            ("a/z.md", false, true), ("a/b/c/z.md", false, true), ("b/a/z.md", false, nil),
            ("logs", true, nil), ("logs/x.txt", false, true), ("logs/d/x.txt", false, true),
        ])
    }

    @Test("the last matching pattern wins; ! re-includes")
    func negation() {
        check("*.md\n!keep.md\n", [("drop.md", false, true), ("keep.md", false, false), ("d/keep.md", false, false)])
        check("!keep.md\n*.md\n", [("keep.md", false, true)])
    }

    @Test("comments, blank lines, trailing spaces, escapes and character classes")
    func syntax() {
        check("# comment\n\n\\#hash\n\\!bang\nspace\\ \ntrail   \nfile[0-9].txt\nq?.txt\r\n", [
            ("# comment", false, nil), ("#hash", false, true), ("!bang", false, true), ("space ", false, true),
            ("space", false, nil), ("trail", false, true), ("file7.txt", false, true), ("filex.txt", false, nil),
            ("q1.txt", false, true), ("q12.txt", false, nil),
        ])
    }

    @Test("wildcards match dot files but not across slashes")
    func wildcards() {
        check("*.swp\ndocs/*.html\n", [
            (".a.swp", false, true), ("docs/x.html", false, true), ("docs/sub/x.html", false, nil),
        ])
    }
}
