/// Puts a prefix before every text and hands it to the embedder it wraps: the query prefix for an embedder
/// of queries, the document prefix for one of chunks.
///
/// Models such as e5 (`query: ` / `passage: `), nomic-embed-text (`search_query: ` / `search_document: `) and
/// bge were trained with such prefixes and rank worse without them. Both prefixes are part of the
/// ``identity`` whichever kind of text this embedder embeds, so an index built with one pair of prefixes
/// refuses vectors made with another, and a query embedder matches the index its documents were embedded for.
public struct PrefixedEmbedder: Embedder {
    /// Which kind of text an embedder embeds, and so which prefix it puts before each.
    public enum TextKind: String, Sendable, CaseIterable {
        case query
        case document
    }

    public let base: any Embedder
    public let kind: TextKind
    public let identity: EmbedderIdentity
    /// The tokens the prefix takes from the base embedder's input window.
    public let prefixTokens: Int

    /// - Parameter kind: the kind of text this embedder is given, which chooses the prefix it adds.
    public init(_ base: any Embedder, queryPrefix: String, documentPrefix: String, embedding kind: TextKind) {
        self.base = base
        self.kind = kind
        identity = base.identity.withPrefixes(query: queryPrefix, document: documentPrefix)
        let prefix = kind == .query ? queryPrefix : documentPrefix
        // Token counts add up across whitespace; a prefix that does not end in it joins the text's first word,
        // which can cost one token more than the two counted apart.
        let joins = prefix.last.map { !$0.isWhitespace } ?? false
        prefixTokens = prefix.isEmpty ? 0 : base.tokenCounter.tokenCount(prefix[...]) + (joins ? 1 : 0)
    }

    /// The prefix this embedder puts before every text.
    public var prefix: String { kind == .query ? identity.queryPrefix : identity.documentPrefix }

    public var maxBatchSize: Int { base.maxBatchSize }
    public var tokenCounter: any TokenCounter { base.tokenCounter }

    /// The base embedder's window less the prefix's tokens: a text of at most this many tokens still fits
    /// once prefixed, so chunks sized to it are embedded whole.
    public var maxInputTokens: Int? { base.maxInputTokens.map { max(0, $0 - prefixTokens) } }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        let prefix = prefix
        return try await base.embed(prefix.isEmpty ? texts : texts.map { prefix + $0 })
    }
}

extension Embedder {
    /// This embedder with `queryPrefix` and `documentPrefix` in its identity, putting the one for `kind`
    /// before every text; itself when both are empty.
    public func prefixing(query queryPrefix: String, document documentPrefix: String, embedding kind: PrefixedEmbedder.TextKind)
        -> any Embedder
    {
        if queryPrefix.isEmpty && documentPrefix.isEmpty { return self }
        return PrefixedEmbedder(self, queryPrefix: queryPrefix, documentPrefix: documentPrefix, embedding: kind)
    }
}
