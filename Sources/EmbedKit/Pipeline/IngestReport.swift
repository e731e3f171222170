/// What an ingest run did, for the summary line and `--json`.
public struct IngestReport: Sendable, Equatable, Codable {
    /// Files new to the index.
    public var added = 0
    /// Files whose contents changed and were indexed again.
    public var updated = 0
    /// Files left as they were (same size and time, or same contents).
    public var unchanged = 0
    /// Files removed from the index because they are gone from disk.
    public var removed = 0
    /// Files that could not be indexed (errors).
    public var failed = 0
    /// Files skipped with a warning (binary, not a regular file, symlink not followed).
    public var skipped = 0
    /// Files skipped silently because they were skipped for a lasting reason before and have not changed.
    public var skippedAsBefore = 0
    /// Files left to the other shards of the tree (`--shard`): neither read nor counted as seen.
    public var otherShards = 0
    /// Warnings, including those about files that were still indexed.
    public var warnings = 0
    /// Chunks stored by this run.
    public var chunks = 0
    /// Chunks sent to the embedder.
    public var chunksEmbedded = 0
    /// The embedder's tokens in the chunks sent to it (as the chunker counts them, without prefixes or headers).
    public var tokensEmbedded = 0
    /// Chunks whose vector came from the index instead of the embedder.
    public var cacheHits = 0
    /// Chunks stored without a vector: chunks without words, which the index's recipe does not embed.
    public var chunksWithoutVector = 0
    /// Bytes of the files that were read.
    public var bytesRead: Int64 = 0
    public var seconds: Double = 0
    /// True when the run stopped early on SIGINT or SIGTERM.
    public var interrupted = false

    public init() {}

    /// Files seen by the run, whatever became of them.
    public var files: Int { added + updated + unchanged + failed + skipped + skippedAsBefore }
}

/// A snapshot of a running ingest, for progress display.
public struct IngestProgress: Sendable {
    /// Files found so far (the walk runs ahead of the work, so this grows).
    public var filesFound: Int
    /// Files finished (stored, unchanged, skipped or failed).
    public var filesDone: Int
    /// Whether the walk has found every file, so `filesFound` is the total.
    public var walkFinished: Bool
    public var chunksStored: Int
    public var chunksEmbedded: Int
    public var bytesRead: Int64
    public var elapsedSeconds: Double
    /// Bytes of the files found so far.
    public var bytesFound: Int64 = 0
    /// Bytes of the files whose chunks are known (parsed), or that need no embedding (unchanged, skipped).
    public var bytesSettled: Int64 = 0
    /// Distinct chunks found so far that need embedding.
    public var chunksToEmbed = 0

    /// Seconds until the run ends, estimated once the walk has finished: the chunks still to embed (those
    /// found, scaled up to every byte found) at the embedding rate so far. Nil until there is a rate.
    public var estimatedSecondsLeft: Double? {
        guard walkFinished, bytesSettled > 0, chunksEmbedded > 0, elapsedSeconds > 0 else { return nil }
        let expectedChunks = Double(chunksToEmbed) * Double(bytesFound) / Double(bytesSettled)
        let left = max(0, expectedChunks - Double(chunksEmbedded))
        return left / (Double(chunksEmbedded) / elapsedSeconds)
    }
}
