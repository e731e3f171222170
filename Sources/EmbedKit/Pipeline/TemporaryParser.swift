// TEMPORARY until the parsing branch lands.
import Foundation
public struct ParserRegistry: DocumentParser {
    public init() {}
    public func parse(_ bytes: [UInt8], path: String) throws -> ParsedDocument {
        if bytes.contains(0) { throw ParsingError(.binary, "binary file, skipped") }
        let text = String(decoding: bytes, as: UTF8.self)
        var blocks: [ParsedDocument.Block] = []
        var line = 1
        for para in text.components(separatedBy: "\n\n") {
            let t = para.trimmingSpaces()
            if !t.isEmpty { blocks.append(.init(kind: t.hasPrefix("#") ? .heading(level: 1) : .paragraph, text: t, line: line)) }
            line += para.filter { $0 == "\n" }.count + 2
        }
        return ParsedDocument(format: .text, blocks: blocks)
    }
}
