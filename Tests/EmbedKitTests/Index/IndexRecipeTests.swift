@testable import EmbedKit
import EmbedKitTestSupport
import Foundation
import Testing

@Suite("IndexRecipe")
struct IndexRecipeTests {
    /// A copy of a fixture index written by embed before IndexRecipe existed (commit 1395757's binary), in `dir`.
    static func fixture(_ name: String, in dir: TemporaryDirectory) throws -> String {
        let source = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/indexes/\(name)")
        let copy = dir.path + "/" + name
        try FileManager.default.copyItem(atPath: source.path, toPath: copy)
        return copy
    }

    /// The `index_meta` rows the recipe is read from, as stored.
    static func rows(_ path: String) throws -> [String: String] {
        let connection = try SQLiteConnection(path: path, readOnly: true)
        var rows: [String: String] = [:]
        for key in [IndexFile.Key.settings, IndexFile.Key.embedderOptions, IndexFile.Key.roots] {
            rows[key] = try IndexFile.meta(connection, key)
        }
        return rows
    }

    @Test("an index written before the typed recipe reads back field by field, and writes back byte for byte")
    func hashFixture() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try Self.fixture("recipe-hash.sqlite", in: dir)
        let before = try Self.rows(path)
        let index = try await EmbeddingIndex.open(path, for: .read)
        let recipe = try #require(index.recipe)
        #expect(recipe.identity.name == "hash")
        #expect(recipe.identity.model == "fnv1a-words-bigrams-v1")
        #expect(recipe.identity.dimension == 384)
        #expect(recipe.identity.isNormalized)
        #expect(recipe.identity.queryPrefix == "query: ")
        #expect(recipe.identity.documentPrefix == "passage: ")
        #expect(recipe.settings.chunking == .init(maxTokens: 64, overlapTokens: 8, joinsWrappedLines: true, embedsWordlessChunks: false))
        #expect(recipe.settings.chunkContext == .titleHeadings)
        #expect(recipe.embedder == .hash(dimension: 384))
        #expect(recipe.openai == nil)
        let root = try #require(recipe.roots.first)
        #expect(recipe.roots.count == 1)
        #expect(root.path == "/tmp/fx/docs")
        #expect(root.options.include == ["*.log"])
        #expect(root.options.exclude == ["guide/skip/**"])
        #expect(root.options.includeHidden)
        index.close()
        // Encoded by today's types, each row is the stored text.
        #expect(try IndexFile.encode(recipe.settings) == before[IndexFile.Key.settings])
        #expect(try IndexFile.encode(recipe.roots) == before[IndexFile.Key.roots])

        // Written again by today's code, every row is what was there.
        let writer = try await EmbeddingIndex.open(path, for: .write(wait: false))
        let store = try await writer.writableStore()
        try await store.prepare(recipe.settings, roots: recipe.roots)
        try await store.recordEmbedder(nil)
        writer.close()
        #expect(try Self.rows(path) == before)
    }

    @Test("an openai index's recorded configuration reads back typed, and writes back byte for byte")
    func openaiFixture() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try Self.fixture("recipe-openai.sqlite", in: dir)
        let before = try Self.rows(path)
        let index = try await EmbeddingIndex.open(path, for: .read)
        let recipe = try #require(index.recipe)
        let expected = OpenAIRecipe(
            baseURL: "http://127.0.0.1:18089/v1", model: "fake-embed", dimensions: 8, encoding: .base64,
            apiKeyEnvironmentVariable: "FAKE_KEY", maxInputsPerRequest: 16, maxInputTokens: nil,
            inputLengthPolicy: .truncate, requestTimeoutSeconds: 20)
        #expect(recipe.openai == expected)
        #expect(recipe.embedder == .openai(expected))
        #expect(recipe.identity.model == "fake-embed@127.0.0.1:18089")
        #expect(recipe.identity.dimension == 8)
        index.close()
        #expect(try IndexFile.encode(recipe.openai) == before[IndexFile.Key.embedderOptions])
        #expect(try IndexFile.encode(recipe.settings) == before[IndexFile.Key.settings])

        let writer = try await EmbeddingIndex.open(path, for: .write(wait: false))
        try await writer.writableStore().recordEmbedder(recipe.openai)
        writer.close()
        #expect(try Self.rows(path) == before)
    }

    @Test("recorded values that do not parse count as not given; unknown keys are ignored")
    func lenientDecoding() throws {
        let json = #"{"base_url":"http://h/v1","dimensions":"many","encoding":"yaml","request_timeout":"9","extra":"x"}"#
        let recipe = try JSONDecoder().decode(OpenAIRecipe.self, from: Data(json.utf8))
        #expect(recipe == OpenAIRecipe(baseURL: "http://h/v1", requestTimeoutSeconds: 9))
    }

    @Test("an unreadable recipe row is refused with the index's path, not believed")
    func unreadableSettings() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try Self.fixture("recipe-hash.sqlite", in: dir)
        do {
            let connection = try SQLiteConnection(path: path, create: false)
            try IndexFile.setMeta(connection, IndexFile.Key.settings, #"{"embedder":{"name":"hash"}}"#)
        }
        let error = await #expect(throws: StoreError.self) { try await EmbeddingIndex.open(path, for: .read) }
        #expect(error?.code == .notAnIndex)
        #expect(error?.message.contains(path) == true)
    }
}

@Suite("Resolving requests against a recipe")
struct RecipeResolutionTests {
    static let recipe = IndexRecipe(
        settings: IndexSettings(
            embedder: EmbedderIdentity(
                name: "openai", model: "m@h", dimension: 8, isNormalized: false, queryPrefix: "q: ", documentPrefix: "d: "),
            chunking: .init(maxTokens: 100, overlapTokens: 10, joinsWrappedLines: true, embedsWordlessChunks: true),
            chunkContext: .titleHeadings),
        openai: OpenAIRecipe(baseURL: "http://h/v1", model: "m", maxInputsPerRequest: 16, requestTimeoutSeconds: 20))

    @Test("flag, else recorded, else the library's default, field by field")
    func embedderFieldByField() throws {
        var request = EmbedderRequest(openai: OpenAIRecipe(model: "other", requestTimeoutSeconds: 5))
        var resolved = request.resolved(against: Self.recipe)
        #expect(resolved.spec == .openai(OpenAIRecipe(baseURL: "http://h/v1", model: "other", maxInputsPerRequest: 16, requestTimeoutSeconds: 5)))
        #expect(resolved.recordedDimension == 8)
        #expect(resolved.queryPrefix == "q: " && resolved.documentPrefix == "d: ")
        // What neither the flags nor the index give is the library's default: one default, in one place.
        let configuration = try #require(resolved.recordedOpenAI).configuration(maxConcurrentRequests: 3)
        let library = OpenAICompatibleEmbedder.Configuration(baseURL: URL(string: "http://h/v1")!, model: "x")
        #expect(configuration.maxInputTokens == library.maxInputTokens)
        #expect(configuration.encoding == library.encoding)
        #expect(configuration.apiKeyEnvironmentVariable == library.apiKeyEnvironmentVariable)
        #expect(configuration.requestTimeout == .seconds(5))
        #expect(configuration.maxInputsPerRequest == 16)
        #expect(configuration.maxConcurrentRequests == 3)
        let bare = try OpenAIRecipe(baseURL: "http://h/v1", model: "m").configuration(maxConcurrentRequests: 8)
        #expect(bare.maxInputsPerRequest == library.maxInputsPerRequest)
        #expect(bare.requestTimeout == library.requestTimeout)

        // Another embedder asked for takes nothing of the recorded one's.
        request = EmbedderRequest(kind: .hash, queryPrefix: "")
        resolved = request.resolved(against: Self.recipe)
        #expect(resolved.spec == .hash(dimension: HashEmbedder.defaultDimension))
        #expect(resolved.recordedDimension == nil)
        #expect(resolved.queryPrefix == "" && resolved.documentPrefix == "d: ")
        // No index: the defaults.
        #expect(EmbedderRequest().resolved(against: nil).spec == .minilm)
    }

    @Test("a URL's user name and password are never recorded")
    func noUserInfo() {
        let request = EmbedderRequest(kind: .openai, openai: OpenAIRecipe(baseURL: "http://me:secret@h/v1", model: "m"))
        #expect(request.resolved(against: nil).recordedOpenAI?.baseURL == "http://h/v1")
    }

    @Test("an openai request without a base URL or model is a usage error")
    func openaiNeedsURLAndModel() throws {
        #expect(throws: UsageError.self) { try OpenAIRecipe(model: "m").configuration(maxConcurrentRequests: 1) }
        #expect(throws: UsageError.self) { try OpenAIRecipe(baseURL: "http://h/v1").configuration(maxConcurrentRequests: 1) }
    }

    @Test("chunking: flag, else recorded, else default; chunks that cannot fit the window are refused")
    func chunking() throws {
        let embedder = HashEmbedder()
        let recorded = try ChunkingRequest(overlapTokens: 4).resolved(against: Self.recipe, embedder: embedder)
        #expect(recorded.configuration == .init(maxTokens: 100, overlapTokens: 4, joinsWrappedLines: true, embedsWordlessChunks: true))
        #expect(recorded.context == .titleHeadings)
        let fresh = try ChunkingRequest().resolved(against: nil, embedder: embedder)
        #expect(fresh.configuration == TextChunker.Configuration())
        #expect(fresh.context == ChunkingRequest.defaultContext)

        let windowed = WindowedEmbedder(window: 128)
        let error = #expect(throws: UsageError.self) {
            try ChunkingRequest(maxTokens: 120, context: .titleHeadings).resolved(against: nil, embedder: windowed)
        }
        #expect(error?.message.contains("--chunk-tokens 96 or less") == true)
        // A new index gets chunks that fit.
        #expect(try ChunkingRequest().resolved(against: nil, embedder: windowed).configuration.maxTokens == 128)
        // An index that already has longer chunks is warned about, not refused.
        var old = Self.recipe
        old.settings.chunking.maxTokens = 200
        old.settings.chunkContext = .none
        let warned = try ChunkingRequest().resolved(against: old, embedder: windowed)
        #expect(warned.warnings.count == 1)
        #expect(warned.configuration.maxTokens == 200)
    }

    /// The hash embedder with an input window, as a model has.
    struct WindowedEmbedder: Embedder {
        var window: Int
        var identity: EmbedderIdentity { HashEmbedder().identity }
        var maxBatchSize: Int { 8 }
        var maxInputTokens: Int? { window }
        var tokenCounter: any TokenCounter { HashEmbedder().tokenCounter }
        func embed(_ texts: [String]) async throws -> [[Float]] { try await HashEmbedder().embed(texts) }
    }
}
