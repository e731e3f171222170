import EmbedKit
import Testing

@Suite("FormatDetector")
struct FormatDetectorTests {
    @Test("a known extension decides; otherwise the content is sniffed", arguments: [
        ("a/b/page.HTML", "hello", DocumentFormat.html),
        ("notes.md", "<html>", .markdown),
        ("README", "# Title\n\ntext", .markdown),
        ("Makefile", "all:\n\tcc x.c", .text),
        (".bashrc", "# comment\nexport A=1", .text),
        ("hosts", "# comment\n\n", .text),
        ("CHANGES", "## 1.0\n\n- fixed", .markdown),
        ("feed", "  <?xml version=\"1.0\"?><rss/>", .xml),
        ("page", "<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\">", .html),
        ("page.php", "<!DOCTYPE html><p>x", .html),
        ("book", "<!DOCTYPE book SYSTEM \"docbook.dtd\"><book/>", .xml),
        ("mail", "<a@b.c> wrote:", .text),
        ("empty", "", .text),
    ])
    func detection(path: String, content: String, expected: DocumentFormat) {
        #expect(DocumentFormat.detect(path: path, bytes: Array(content.utf8)) == expected)
    }

    @Test("binary signatures and NUL bytes are binary; UTF-16 with a byte-order mark is not")
    func binary() {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        #expect(throws: ParsingError(.binary, "binary file (PNG image), skipped")) {
            try FormatDetector.checkText(png)
        }
        #expect(throws: ParsingError(.binary, "binary file (NUL bytes in the first 8192 bytes), skipped")) {
            try FormatDetector.checkText(Array("abc\0def".utf8))
        }
        #expect(throws: Never.self) { try FormatDetector.checkText([0xFF, 0xFE, 0x61, 0x00]) }
        #expect(throws: Never.self) { try FormatDetector.checkText(Array("plain".utf8)) }
    }
}
