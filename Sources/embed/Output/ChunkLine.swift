import EmbedKit

/// One chunk, as `embed export` prints it (and as every search result line includes it).
struct ChunkLine: Encodable {
    var chunk_id: Int64
    var path: String
    var ordinal: Int
    var start_offset: Int
    var end_offset: Int
    var line: Int
    var heading_path: [String]
    var title: String?
    var format: String
    var text: String
    var vector: [Float]?

    init(_ chunk: StoredChunk, vector: [Float]? = nil) {
        chunk_id = chunk.id
        path = chunk.path
        ordinal = chunk.ordinal
        start_offset = chunk.startOffset
        end_offset = chunk.endOffset
        line = chunk.line
        heading_path = chunk.headingPath
        title = chunk.title
        format = chunk.format.rawValue
        text = chunk.text
        self.vector = vector
    }
}
