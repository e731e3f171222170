import ArgumentParser
import EmbedKit
import Foundation

struct EncodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Print the vectors of texts, one JSON array per line.",
        discussion: """
            With no TEXT, reads JSON lines from stdin: each a JSON string or an object with a "text" field, \
            so any text (control characters included) can be encoded.
            """)

    @Argument(help: "Texts to encode.")
    var texts: [String] = []

    @OptionGroup var embedderOptions: EmbedderOptions

    func run() async throws {
        let inputs = texts.isEmpty ? try readJSONLines() : texts
        let embedder: any Embedder
        do {
            embedder = try await embedderOptions.makeEmbedder(for: nil)
        } catch {
            throw Terminal.fail("\(error)")
        }
        let out = OutputBuffer()
        for start in stride(from: 0, to: inputs.count, by: embedder.maxBatchSize) {
            let batch = Array(inputs[start..<min(inputs.count, start + embedder.maxBatchSize)])
            do {
                for vector in try await embedder.embed(batch) { out.line(JSONLines.encode(vector)) }
            } catch {
                out.flush()
                throw Terminal.fail("\(error)")
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
