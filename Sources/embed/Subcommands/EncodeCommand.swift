import ArgumentParser
import EmbedKit
import EmbedKitBERT
import Foundation

struct EncodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Print the vectors of texts, one JSON array per line.",
        discussion: """
            With no TEXT, reads JSON lines from stdin: each a JSON string or an object with a "text" field, \
            so any text (control characters included) can be encoded.

            Texts are encoded as queries with --as query (the --query-prefix is put before each), or as \
            chunks of documents with --as document (the --document-prefix). Without --as, the one prefix \
            given says which; with no prefix, texts are encoded as they are.

            \(ExitStatus.readerHelp)
            """)

    @Argument(help: "Texts to encode.")
    var texts: [String] = []

    @Option(
        name: .customLong("as"),
        help: "What the texts are: query or document, which chooses the prefix put before each.")
    var textKind: TextKind?

    enum TextKind: String, ExpressibleByArgument, CaseIterable {
        case query, document
    }

    @OptionGroup var embedderOptions: EmbedderOptions

    func validate() throws {
        if textKind == nil && embedderOptions.queryPrefix != nil && embedderOptions.documentPrefix != nil {
            throw ValidationError(
                "with both --query-prefix and --document-prefix, say which the texts are: --as query or --as document.")
        }
    }

    /// The kind of text: as asked, else the kind of the one prefix given (with none, no prefix is added).
    var kind: PrefixedEmbedder.TextKind {
        switch textKind {
        case .query: .query
        case .document: .document
        case nil: embedderOptions.queryPrefix != nil ? .query : .document
        }
    }

    func run() async throws {
        let inputs = texts.isEmpty ? try readJSONLines() : texts
        let embedder: any Embedder
        do {
            embedder = try await embedderOptions.request().resolved(against: nil).makeEmbedder(embedding: kind)
        } catch {
            throw Terminal.fail(error)
        }
        let out = OutputBuffer()
        for start in stride(from: 0, to: inputs.count, by: embedder.maxBatchSize) {
            let batch = Array(inputs[start..<min(inputs.count, start + embedder.maxBatchSize)])
            do {
                for vector in try await embedder.embed(batch) { out.line(JSONLines.encode(vector)) }
            } catch {
                out.flush()
                throw Terminal.fail(error)
            }
        }
        out.flush()
    }

    private func readJSONLines() throws -> [String] {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        var inputs: [String] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let value = try? JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed])
            if let text = value as? String {
                inputs.append(text)
            } else if let object = value as? [String: Any], let text = object["text"] as? String {
                inputs.append(text)
            } else {
                throw Terminal.fail(
                    "stdin line \(number + 1): expected a JSON string or an object with a \"text\" field",
                    status: ExitStatus.usage)
            }
        }
        return inputs
    }
}
