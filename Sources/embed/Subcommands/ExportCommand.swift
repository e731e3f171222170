import ArgumentParser
import EmbedKit
import Foundation

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every chunk as a JSON line (path, ordinal, offsets, line, heading path, text).",
        discussion: ExitStatus.readerHelp)

    @OptionGroup var store: StoreOptions

    @Flag(help: "Include each chunk's vector.")
    var vectors = false

    func run() async throws {
        let out = OutputBuffer()
        do {
            let index = try await EmbeddingIndex.open(store.db, for: .read)
            try await index.withContents { reader in
                try reader.forEachChunk(withVectors: vectors) { chunk, vector in
                    out.line(JSONLines.encode(ChunkLine(chunk, vector: vector)))
                }
            }
        } catch {
            out.flush()
            throw Terminal.fail(error)
        }
        out.flush()
    }
}
