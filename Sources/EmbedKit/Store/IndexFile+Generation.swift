import Foundation

/// The index's generation and id, which bind its vector file to it, and the vector file's writing.
extension IndexFile {
    /// The index's generation: a counter that every transaction changing chunks or vectors increments.
    static func generation(_ connection: SQLiteConnection) throws -> Int64 {
        Int64(try meta(connection, Key.generation) ?? "0") ?? 0
    }

    /// Increments the generation; call inside the transaction that changes chunks or vectors.
    static func advanceGeneration(_ connection: SQLiteConnection) throws {
        try connection.prepare(
            """
            INSERT INTO index_meta(key, value) VALUES ('generation', '1')
            ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1
            """
        ).run()
    }

    /// The index's random id, which binds its vector file to it; nil for an index made before ids existed (or
    /// whose id is damaged): no vector file is ever believed for such an index.
    static func indexID(_ connection: SQLiteConnection) throws -> [UInt8]? {
        guard let hex = try meta(connection, Key.indexID) else { return nil }
        let digits = Array(hex.utf8)
        guard digits.count == 2 * VectorFile.indexIDSize else { return nil }
        var id: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            id.append(byte)
        }
        return id
    }

    /// Gives the index a new random id when it has none (an index made by an older embed) or a damaged one.
    /// Writers only: called when an index is created and before a writer writes its vector file.
    @discardableResult
    static func ensureIndexID(_ connection: SQLiteConnection) throws -> [UInt8] {
        if let id = try indexID(connection) { return id }
        var random = SystemRandomNumberGenerator()
        let id = (0..<VectorFile.indexIDSize).map { _ in UInt8.random(in: 0...255, using: &random) }
        try setMeta(connection, Key.indexID, id.map { String(format: "%02x", $0) }.joined())
        return id
    }

    /// Runs `body` in one read transaction, so that all it reads is one snapshot of the index; when the caller
    /// already opened a transaction, in that one.
    static func inReadTransaction<T>(_ connection: SQLiteConnection, _ body: () throws -> T) throws -> T {
        if connection.isInTransaction { return try body() }
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        return try body()
    }

    /// Writes `<index>.vectors` anew from the index as it is now, read in one snapshot so it is consistent (the
    /// caller's transaction when one is open, else its own).
    static func buildVectorFile(_ connection: SQLiteConnection, indexPath: String, dimension: Int) throws {
        try inReadTransaction(connection) {
            guard let indexID = try indexID(connection) else {
                throw StoreError(.corrupt, "\(indexPath): the index has no id to bind a vector file to", path: indexPath)
            }
            let generation = try generation(connection)
            let changeSeq = try lastChange(connection)
            // Chunks left without a vector (an empty one: no words) are not rows of the file.
            let counter = try connection.prepare(
                "SELECT count(*) FROM chunks c JOIN vectors v ON v.id = c.vector_id WHERE length(v.embedding) > 0")
            let count = try counter.step() ? Int(counter.int(0)) : 0
            let rows = try connection.prepare(
                "SELECT c.id, c.document_id, v.embedding FROM chunks c JOIN vectors v ON v.id = c.vector_id "
                    + "WHERE length(v.embedding) > 0 ORDER BY c.id")
            try VectorFile.write(
                path: VectorFile.path(forIndex: indexPath), dimension: dimension, count: count, generation: generation,
                indexID: indexID, changeSeq: changeSeq,
                codes: try quantization(connection).wantsCodes(rows: count)
            ) { emit in
                while try rows.step() {
                    try rows.withBlob(2) { try emit(rows.int(0), rows.int(1), $0) }
                }
            }
        }
    }
}
