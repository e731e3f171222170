import EmbedKit
@testable import EmbedKitBERT
import EmbedKitTestSupport
import Foundation
import Testing

@Suite("BertEmbedder")
struct BertEmbedderTests {
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            na += Double(x) * Double(x)
            nb += Double(y) * Double(y)
        }
        return dot / max((na * nb).squareRoot(), 1e-30)
    }

    @Test(
        "embeddings match sentence-transformers with cosine ≥ 0.9999 for every reference text",
        .enabled(if: ReferenceFixture.isModelAvailable, "model not fetched: run scripts/fetch-model.sh")
    )
    func parity() async throws {
        let embedder = try BertEmbedder.load()
        let cases = try ReferenceFixture.cases()
        #expect(cases.count >= 30)
        // One call over all texts: exercises sorting, packing and concurrent passes.
        let vectors = try await embedder.embed(cases.map(\.case.text))
        var worst = 1.0
        for ((file, index, reference), vector) in zip(cases, vectors) {
            #expect(embedder.inputIDs(reference.text) == reference.ids, "\(file) case \(index)")
            let similarity = Self.cosine(vector, reference.embedding)
            worst = min(worst, similarity)
            #expect(similarity >= 0.9999, "\(file) case \(index): cosine \(similarity)")
        }
        // The same texts one at a time give the same vectors as the packed call.
        for (index, text) in cases.prefix(5).map(\.case.text).enumerated() {
            let single = try await embedder.embed([text])
            #expect(Self.cosine(single[0], vectors[index]) > 0.999999)
        }
        print("minilm parity: \(cases.count) texts, worst cosine \(worst)")
    }

    @Test(
        "identity, limits and token counter describe all-MiniLM-L6-v2",
        .enabled(if: ReferenceFixture.isModelAvailable, "model not fetched: run scripts/fetch-model.sh")
    )
    func identity() throws {
        let embedder = try BertEmbedder.load()
        #expect(embedder.identity == EmbedderIdentity(
            name: "minilm", model: "sentence-transformers/all-MiniLM-L6-v2", dimension: 384, isNormalized: true))
        #expect(embedder.maxInputTokens == 254)
        #expect(embedder.tokenCounter.tokenCount("Hello, world!") == 4)
    }

    @Test(
        "vectors are unit length and an empty batch gives no vectors",
        .enabled(if: ReferenceFixture.isModelAvailable, "model not fetched: run scripts/fetch-model.sh")
    )
    func normalized() async throws {
        let embedder = try BertEmbedder.load()
        #expect(try await embedder.embed([]).isEmpty)
        let vectors = try await embedder.embed(["a", "", String(repeating: "long text ", count: 400)])
        for vector in vectors {
            #expect(abs(vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)
        }
    }

    @Test("a missing model gives one modelUnavailable error naming the fetch script")
    func missingModel() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.url.appendingPathComponent("nothing-here")
        let error = try #require(throws: EmbeddingError.self) { try BertEmbedder.load(modelDirectory: missing) }
        #expect(error.code == .modelUnavailable)
        #expect(error.message.contains("scripts/fetch-model.sh"))
    }

    @Test(
        "a damaged model gives one modelUnavailable error naming the fetch script",
        .enabled(if: ReferenceFixture.isModelAvailable, "model not fetched: run scripts/fetch-model.sh")
    )
    func damagedModel() throws {
        let source = try #require(ReferenceFixture.modelDirectory)
        let directory = try TemporaryDirectory()
        let copy = directory.url.appendingPathComponent("model")
        let files = FileManager.default
        try files.createDirectory(at: copy.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        for name in ["config.json", "vocab.txt", "1_Pooling/config.json"] {
            try files.copyItem(at: source.appendingPathComponent(name), to: copy.appendingPathComponent(name))
        }
        // A truncated checkpoint: the first 100 kB of the real one.
        let handle = try FileHandle(forReadingFrom: source.appendingPathComponent("model.safetensors"))
        let prefix = try handle.read(upToCount: 100_000) ?? Data()
        try handle.close()
        try prefix.write(to: copy.appendingPathComponent("model.safetensors"))
        let error = try #require(throws: EmbeddingError.self) { try BertEmbedder.load(modelDirectory: copy) }
        #expect(error.code == .modelUnavailable)
        #expect(error.message.contains("scripts/fetch-model.sh"))
        #expect(error.message.contains("past the data section"))
    }

    @Test("the model directory comes from the argument, then EMBED_MODEL_DIR, then ./models, then the executable")
    func resolution() throws {
        let root = try TemporaryDirectory()
        let files = FileManager.default
        let explicit = URL(fileURLWithPath: "/explicit/model")
        #expect(Bert.resolveModelDirectory(explicit: explicit, environment: ["EMBED_MODEL_DIR": "/env"]) == explicit)
        #expect(
            Bert.resolveModelDirectory(environment: ["EMBED_MODEL_DIR": "/env/model"], currentDirectory: root.url)?.path
                == "/env/model")

        let work = root.url.appendingPathComponent("work")
        let repository = root.url.appendingPathComponent("repo")
        let executable = repository.appendingPathComponent(".build/release/embed")
        try files.createDirectory(at: work, withIntermediateDirectories: true)
        #expect(Bert.resolveModelDirectory(environment: [:], currentDirectory: work, executable: executable) == nil)

        let besideExecutable = repository.appendingPathComponent("models/all-MiniLM-L6-v2")
        try files.createDirectory(at: besideExecutable, withIntermediateDirectories: true)
        #expect(
            Bert.resolveModelDirectory(environment: [:], currentDirectory: work, executable: executable)?.path
                == besideExecutable.standardizedFileURL.path)

        let inWork = work.appendingPathComponent("models/all-MiniLM-L6-v2")
        try files.createDirectory(at: inWork, withIntermediateDirectories: true)
        #expect(
            Bert.resolveModelDirectory(environment: [:], currentDirectory: work, executable: executable)?.path
                == inWork.standardizedFileURL.path)
    }
}
