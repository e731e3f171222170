
/// One chunk, as `embed export` prints it (and as every search result line includes it): the fields of the
/// stored chunk under their JSON names, and its vector when asked for.
public struct ChunkLine: Encodable, Sendable {
    public var chunk: StoredChunk
    public var vector: [Float]?

    public init(_ chunk: StoredChunk, vector: [Float]? = nil) {
        self.chunk = chunk
        self.vector = vector
    }

    private enum CodingKeys: String, CodingKey {
        case chunk_id, path, ordinal, start_offset, end_offset, line, heading_path, title, format, text, vector
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(chunk.id, forKey: .chunk_id)
        try container.encode(chunk.path, forKey: .path)
        try container.encode(chunk.ordinal, forKey: .ordinal)
        try container.encode(chunk.startOffset, forKey: .start_offset)
        try container.encode(chunk.endOffset, forKey: .end_offset)
        try container.encode(chunk.line, forKey: .line)
        try container.encode(chunk.headingPath, forKey: .heading_path)
        // Left out when absent, as before: a missing key, never `null`.
        try container.encodeIfPresent(chunk.title, forKey: .title)
        try container.encode(chunk.format.rawValue, forKey: .format)
        try container.encode(chunk.text, forKey: .text)
        try container.encodeIfPresent(vector, forKey: .vector)
    }
}
