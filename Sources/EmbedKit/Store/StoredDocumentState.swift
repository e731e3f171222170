/// The digest that identifies file contents and chunk texts (SHA-256, 32 bytes).
public typealias ContentDigest = [UInt8]

/// What the index knows of a stored file, for change detection.
public struct StoredDocumentState: Sendable, Equatable {
    public var size: Int64
    public var modificationTimeNanoseconds: Int64
    public var contentHash: ContentDigest
    public var chunkCount: Int
}
