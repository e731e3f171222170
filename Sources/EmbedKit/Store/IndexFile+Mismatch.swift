/// The messages of a writer or a query refused because the index was built with another recipe.
extension IndexFile {
    static func mismatchMessage(stored: IndexSettings, requested: IndexSettings, path: String) -> String {
        if let message = prefixMismatchMessage(stored: stored.embedder, requested: requested.embedder, path: path) {
            return message + ", or --reembed to rebuild the index with the new prefixes"
        }
        if stored.embedder != requested.embedder {
            return "\(path) was built with the embedder \(stored.embedder), not \(requested.embedder): "
                + "use --embedder \(stored.embedder.name) with the same model, or another --db, "
                + "or --reembed to rebuild the index with the new embedder"
        }
        if stored.chunking == requested.chunking, stored.chunkContext != requested.chunkContext {
            return "\(path) was built with chunk context \(stored.chunkContext.rawValue), not "
                + "\(requested.chunkContext.rawValue): an index embeds all its chunks one way. "
                + "Use --chunk-context \(stored.chunkContext.rawValue) (or leave it out to use the index's own), or another --db, "
                + "or --reembed to rebuild the index with chunk context \(requested.chunkContext.rawValue)"
        }
        if stored.chunking.joinsWrappedLines != requested.chunking.joinsWrappedLines
            || stored.chunking.embedsWordlessChunks != requested.chunking.embedsWordlessChunks
        {
            func describe(_ c: TextChunker.Configuration) -> String {
                "wrapped lines \(c.joinsWrappedLines ? "joined" : "kept") and chunks without words "
                    + (c.embedsWordlessChunks ? "embedded" : "not embedded")
            }
            return "\(path) was built with \(describe(stored.chunking)), not \(describe(requested.chunking)): "
                + "leave out --join-wrapped-lines and --embed-wordless-chunks to use the index's own, or use another "
                + "--db, or --reembed to rebuild the index with the new chunking"
        }
        return "\(path) was built with chunks of \(stored.chunking.maxTokens) tokens overlapping by "
            + "\(stored.chunking.overlapTokens), not \(requested.chunking.maxTokens) and "
            + "\(requested.chunking.overlapTokens): use the same --chunk-tokens and --overlap-tokens, or another --db, "
            + "or --reembed to rebuild the index with the new chunking"
    }

    /// When two identities differ only in their prefixes, what differs and how to use the index's own
    /// (the caller may add more ways out); nil otherwise.
    static func prefixMismatchMessage(stored: EmbedderIdentity, requested: EmbedderIdentity, path: String) -> String? {
        guard stored != requested, stored.withPrefixes(query: "", document: "") == requested.withPrefixes(query: "", document: "")
        else { return nil }
        func describe(_ identity: EmbedderIdentity) -> String {
            "query prefix \(EmbedderIdentity.quoted(identity.queryPrefix)) and document prefix "
                + EmbedderIdentity.quoted(identity.documentPrefix)
        }
        return "\(path) was built with the embedder \(stored.name) (model \(stored.model)) and \(describe(stored)), "
            + "not \(describe(requested)): texts embedded with other prefixes are not comparable. Leave out "
            + "--query-prefix and --document-prefix to use the index's own, or give them as recorded, or use another --db"
    }
}
