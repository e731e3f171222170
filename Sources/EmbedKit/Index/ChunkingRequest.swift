/// The chunking a writer asks for: every field nil unless given. Resolved against an index's recipe field by
/// field: what is asked, else what the index recorded, else the library's default.
public struct ChunkingRequest: Sendable, Equatable {
    public var maxTokens: Int?
    public var overlapTokens: Int?
    public var joinsWrappedLines: Bool?
    public var embedsWordlessChunks: Bool?
    public var context: ChunkContext?

    public init(
        maxTokens: Int? = nil, overlapTokens: Int? = nil, joinsWrappedLines: Bool? = nil,
        embedsWordlessChunks: Bool? = nil, context: ChunkContext? = nil
    ) {
        self.maxTokens = maxTokens
        self.overlapTokens = overlapTokens
        self.joinsWrappedLines = joinsWrappedLines
        self.embedsWordlessChunks = embedsWordlessChunks
        self.context = context
    }

    /// The chunk context used when neither the request nor the index names one.
    public static let defaultContext: ChunkContext = .none

    /// The chunking for an index built with `recipe` (nil: a new one) and embedded by `embedder`.
    ///
    /// A chunk longer than the embedder's input window would be embedded from its start only: the rest could
    /// never be found. Asking for such chunks is a usage error; an index that already has them (built before
    /// this check) gets a warning with the way out.
    /// - Throws: ``UsageError`` when the chunks asked for cannot fit the embedder's input window.
    public func resolved(against recipe: IndexRecipe?, embedder: any Embedder) throws -> ResolvedChunking {
        let stored = recipe?.settings
        let context = context ?? stored?.chunkContext ?? Self.defaultContext
        let fit = try Self.window(for: embedder, context: context)
        var warnings: [String] = []
        if maxTokens == nil, let window = fit?.window, let storedTokens = stored?.chunking.maxTokens, storedTokens > window {
            warnings.append(
                "this index has chunks of up to \(storedTokens) tokens, over the \(window)-token input window of "
                    + "\(embedder.identity.model), so their ends are not embedded; rebuild with --reembed "
                    + "--chunk-tokens \(window)")
        }
        if let asked = maxTokens, let fit, asked > fit.window {
            throw UsageError(
                "--chunk-tokens \(asked) is larger than \(fit.room): "
                    + "text past the window would never be embedded. Use --chunk-tokens \(fit.window) or less.")
        }
        let defaults = TextChunker.Configuration()
        let configuration = TextChunker.Configuration(
            maxTokens: maxTokens ?? stored?.chunking.maxTokens ?? min(defaults.maxTokens, fit?.window ?? .max),
            overlapTokens: overlapTokens ?? stored?.chunking.overlapTokens ?? defaults.overlapTokens,
            joinsWrappedLines: joinsWrappedLines ?? stored?.chunking.joinsWrappedLines ?? defaults.joinsWrappedLines,
            embedsWordlessChunks: embedsWordlessChunks ?? stored?.chunking.embedsWordlessChunks
                ?? defaults.embedsWordlessChunks)
        return ResolvedChunking(configuration: configuration, context: context, warnings: warnings)
    }

    /// The tokens of text a chunk may have under `embedder` with `context`, and how to describe that room; nil
    /// when the embedder has no input window.
    static func window(for embedder: any Embedder, context: ChunkContext) throws -> (window: Int, room: String)? {
        guard let input = embedder.maxInputTokens else { return nil }
        let model = embedder.identity.model
        // The document prefix and the chunk header are embedded with every chunk: they take their tokens from
        // the chunk's room.
        let window = input - context.reservedTokens
        if window < 8 {
            throw UsageError(
                "--chunk-context \(context.rawValue) takes up to \(context.reservedTokens) of the \(input) tokens \(model) "
                    + "reads, leaving too few for the text; use --chunk-context none.")
        }
        var takers: [String] = []
        var full = input
        if let prefixed = embedder as? PrefixedEmbedder, prefixed.prefixTokens > 0 {
            takers.append("the document prefix \(EmbedderIdentity.quoted(prefixed.prefix))")
            full += prefixed.prefixTokens
        }
        if context.reservedTokens > 0 {
            takers.append("the chunk header (--chunk-context \(context.rawValue), up to \(context.reservedTokens) tokens)")
        }
        var room = "the input window of \(model), \(window) tokens"
        if !takers.isEmpty {
            room = "the \(window) tokens \(takers.joined(separator: " and ")) \(takers.count == 1 ? "leaves" : "leave") of the "
                + "\(full)-token input window of \(model)"
        }
        return (window, room)
    }
}

/// A chunking request resolved against an index.
public struct ResolvedChunking: Sendable, Equatable {
    public var configuration: TextChunker.Configuration
    public var context: ChunkContext
    /// Problems worth saying that do not stop the run.
    public var warnings: [String]
}
