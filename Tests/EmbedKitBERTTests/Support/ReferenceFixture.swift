import EmbedKitBERT
import Foundation

/// The model under `models/` and the reference values made by `scripts/make-reference-embeddings.py`.
enum ReferenceFixture {
    struct Case: Decodable, Sendable {
        var text: String
        var ids: [Int32]
        var tokenCount: Int
        var embedding: [Float]
    }

    struct Document: Decodable, Sendable {
        var model: String
        var maxLength: Int
        var cases: [Case]
    }

    /// The model directory as the embedder resolves it, when it holds a model.
    static let modelDirectory: URL? = {
        guard let url = Bert.resolveModelDirectory(),
            FileManager.default.fileExists(atPath: url.appendingPathComponent("model.safetensors").path)
        else { return nil }
        return url
    }()

    /// True when the model has been fetched (`scripts/fetch-model.sh`); model tests are skipped otherwise.
    static var isModelAvailable: Bool { modelDirectory != nil }

    /// The committed fixture, plus the file named by `EMBED_BERT_REFERENCE` (made by the script from
    /// other texts) when set.
    static func documents() throws -> [(name: String, document: Document)] {
        var urls: [URL] = []
        if let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil) {
            urls.append(fixtures.appendingPathComponent("reference-embeddings.json"))
        }
        if let extra = ProcessInfo.processInfo.environment["EMBED_BERT_REFERENCE"], !extra.isEmpty {
            urls.append(URL(fileURLWithPath: extra))
        }
        return try urls.map { url in
            (url.lastPathComponent, try JSONDecoder().decode(Document.self, from: Data(contentsOf: url)))
        }
    }

    /// Every reference case with the name of the file it came from.
    static func cases() throws -> [(file: String, index: Int, case: Case)] {
        try documents().flatMap { entry in
            entry.document.cases.enumerated().map { (entry.name, $0.offset, $0.element) }
        }
    }
}
