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
        "embeddings match sentence-transformers with cosine ≥ 0.9999 for every reference text, with every kernel variant the CPU can run",
        .enabled(if: ReferenceFixture.isModelAvailable, "model not fetched: run scripts/fetch-model.sh"),
        arguments: KernelsTests.variants
    )
    func parity(_ kernels: String) async throws {
        let embedder = try BertEmbedder.load(configuration: .init(kernels: kernels))
        #expect(embedder.kernelVariant == kernels)
        try await checkParity(embedder, label: "\(kernels) kernels, \(embedder.matrixLibrary)")
    }

    /// The linear-layer libraries: OpenBLAS (the portable path) always, oneDNN fp32 where the CPU has AVX-512.
    static let matrixLibraries = ["openblas", "onednn"]

    @Test(
        "embeddings match sentence-transformers with cosine ≥ 0.9999 with each library for the linear layers",
        .enabled(if: ReferenceFixture.isModelAvailable, "model not fetched: run scripts/fetch-model.sh"),
        arguments: matrixLibraries
    )
    func parityMatrixLibrary(_ library: String) async throws {
        let embedder = try BertEmbedder.load(configuration: .init(kernels: "portable", matrixLibrary: library))
        guard library == "openblas" || Bert.MatrixBackend.isAvailable(.oneDNN) else {
            // Asked for and not there: the embedder falls back to the one that is, and says so.
            #expect(embedder.matrixLibrary == "openblas")
            print("onednn parity not run: oneDNN has no AVX-512 kernels on this CPU (\(BertEmbedder.oneDNNInstructionSet))")
            return
        }
        #expect(embedder.matrixLibrary == library)
        try await checkParity(embedder, label: "portable kernels, \(library)")
    }

    @Test("oneDNN fp32 is picked exactly where /proc/cpuinfo lists AVX-512, bf16 where it lists AVX512_BF16")
    func matrixDispatch() throws {
        #if arch(x86_64) && os(Linux)
            let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
            let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? [])
            let avx512 = ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy { flags.contains(Substring($0)) }
            #expect(Bert.MatrixBackend.isAvailable(.oneDNN) == avx512)
            #expect(Bert.MatrixBackend.bestFP32 == (avx512 ? .oneDNN : .openBLAS))
            #expect(BertEmbedder.availablePrecisions.contains(.bf16) == (avx512 && flags.contains("avx512_bf16")))
        #else
            print("matrix dispatch checked against the CPU's flags on x86-64 Linux only; here fp32 on OpenBLAS is expected")
            #expect(Bert.MatrixBackend.bestFP32 == .openBLAS || Bert.MatrixBackend.isAvailable(.oneDNN))
        #endif
        #expect(BertEmbedder.availablePrecisions.first == .fp32)
    }

    @Test(
        "bf16 stays within the parity bound of fp32 and of sentence-transformers, under the same identity; refused without AVX512_BF16",
        .enabled(if: ReferenceFixture.isModelAvailable, "model not fetched: run scripts/fetch-model.sh")
    )
    func bf16() async throws {
        guard BertEmbedder.availablePrecisions.contains(.bf16) else {
            let error = try #require(throws: EmbeddingError.self) {
                try BertEmbedder.load(configuration: .init(precision: .bf16))
            }
            #expect(error.code == .modelUnavailable)
            #expect(error.message.contains("AVX512_BF16") && error.message.contains("--precision"))
            print("bf16 accuracy not measured: this CPU has no AVX512_BF16; checked that bf16 is refused with a clear error")
            return
        }
        let fp32 = try BertEmbedder.load()
        let bf16 = try BertEmbedder.load(configuration: .init(precision: .bf16))
        #expect(bf16.matrixLibrary == "onednn-bf16")
        #expect(bf16.identity == fp32.identity)
        let cases = try ReferenceFixture.cases()
        let texts = cases.map(\.case.text)
        let exact = try await fp32.embed(texts)
        let reduced = try await bf16.embed(texts)
        var worst = 1.0
        var closest = 0.0
        for (index, (a, b)) in zip(exact, reduced).enumerated() {
            let similarity = Self.cosine(a, b)
            worst = min(worst, similarity)
            closest = max(closest, similarity)
            // The parity bound, which is why the index does not record the precision (D66); the gate is 0.995.
            #expect(similarity >= 0.9999, "case \(index): cosine \(similarity) against fp32")
            #expect(Self.cosine(b, cases[index].case.embedding) >= 0.9999)
        }
        // Really bf16: fp32 itself agrees with fp32 to about 1e-10.
        #expect(worst < 0.999999, "bf16 vectors are as close to fp32 as fp32's own: is bf16 running?")
        // A text alone (a query) gets the vector it gets in a packed pass: bf16 runs every pass the same way.
        for index in [0, texts.count / 2, texts.count - 1] {
            let single = try await bf16.embed([texts[index]])
            #expect(Self.cosine(single[0], reduced[index]) > 0.99999)
        }
        print("minilm bf16: \(texts.count) texts, worst cosine against fp32 \(worst), best \(closest)")
    }

    private func checkParity(_ embedder: BertEmbedder, label: String) async throws {
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
        // The same texts one at a time give the same vectors as the packed call; the short ones run alone on
        // the row kernel (split over two cores when both are free) instead of OpenBLAS.
        let short = cases.indices.filter { embedder.inputIDs(cases[$0].case.text).count <= Kernels.fewRows }
        #expect(short.count >= 3, "the reference texts should include short ones")
        for index in Array(cases.indices.prefix(5)) + short {
            let single = try await embedder.embed([cases[index].case.text])
            #expect(Self.cosine(single[0], vectors[index]) > 0.999999)
            #expect(Self.cosine(single[0], cases[index].case.embedding) >= 0.9999)
        }
        print("minilm parity (\(label)): \(cases.count) texts, worst cosine \(worst)")
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

    @Test("the model is found at --model-dir, EMBED_MODEL_DIR, beside the binary, in data folders, ./models")
    func resolution() throws {
        let root = try TemporaryDirectory()
        defer { root.remove() }
        let files = FileManager.default
        let explicit = URL(fileURLWithPath: "/explicit/model")
        #expect(Bert.resolveModelDirectory(explicit: explicit, environment: ["EMBED_MODEL_DIR": "/env"]) == explicit)
        #expect(
            Bert.resolveModelDirectory(environment: ["EMBED_MODEL_DIR": "/env/model"], currentDirectory: root.url)?.path
                == "/env/model")

        let work = root.url.appendingPathComponent("work")
        let repository = root.url.appendingPathComponent("repo")
        let build = repository.appendingPathComponent(".build/release/embed")
        let installed = root.url.appendingPathComponent("prefix/bin/embed")
        let system = [root.url.appendingPathComponent("usr-local-share"), root.url.appendingPathComponent("usr-share")]
        let environment = ["HOME": root.path + "/home"]
        try files.createDirectory(at: work, withIntermediateDirectories: true)
        try files.createDirectory(at: installed.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data().write(to: installed)
        // A symlink to the installed binary resolves to it.
        let link = root.url.appendingPathComponent("links/embed")
        try files.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
        try files.createSymbolicLink(at: link, withDestinationURL: installed)

        func resolved(_ executable: URL, _ environment: [String: String] = environment) -> String? {
            Bert.resolveModelDirectory(
                environment: environment, currentDirectory: work, executable: executable,
                systemDataDirectories: system)?.path
        }
        func make(_ url: URL) throws -> String {
            let model = url.appendingPathComponent("all-MiniLM-L6-v2")
            try files.createDirectory(at: model, withIntermediateDirectories: true)
            return model.standardizedFileURL.path
        }
        #expect(resolved(build) == nil)
        #expect(resolved(link) == nil)

        // Each place, from the last to the first, takes over from those after it.
        let inRepository = try make(repository.appendingPathComponent("models"))
        #expect(resolved(build) == inRepository)
        #expect(resolved(link) == nil)
        let inWork = try make(work.appendingPathComponent("models"))
        #expect(resolved(build) == inWork)
        #expect(resolved(link) == inWork)
        let inUsrShare = try make(system[1].appendingPathComponent("embed/models"))
        #expect(resolved(link) == inUsrShare)
        let inUsrLocal = try make(system[0].appendingPathComponent("embed/models"))
        #expect(resolved(link) == inUsrLocal)
        let inHome = try make(root.url.appendingPathComponent("home/.local/share/embed/models"))
        #expect(resolved(link) == inHome)
        let inXDG = try make(root.url.appendingPathComponent("xdg/embed/models"))
        #expect(resolved(link) == inHome)
        #expect(resolved(link, ["HOME": root.path + "/home", "XDG_DATA_HOME": root.path + "/xdg"]) == inXDG)
        #expect(resolved(link, ["HOME": root.path + "/home", "XDG_DATA_HOME": "relative/xdg"]) == inHome)
        let beside = try make(root.url.appendingPathComponent("prefix/share/embed/models"))
        #expect(resolved(link) == beside)
        #expect(resolved(installed) == beside)

        // The error names every place, in order.
        let locations = Bert.modelLocations(
            environment: environment, currentDirectory: work, executable: build, systemDataDirectories: system)
        #expect(
            locations.map(\.origin) == [
                "beside the executable", "~/.local/share", "system", "system", "./models",
                "the repository of this build",
            ])
        let message = Bert.notFoundMessage(locations)
        #expect(message.contains("looked in \(locations[0].url.path) (beside the executable), "))
    }
}
