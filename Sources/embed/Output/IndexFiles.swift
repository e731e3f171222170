import Foundation

/// The files that make up an index on disk, beside the SQLite file itself.
enum IndexFiles {
    static let suffixes = ["", "-wal", "-shm", "-journal", ".lock", ".vectors"]

    /// The index file and its companions (never ingested as documents).
    static func all(_ index: String) -> Set<String> { Set(suffixes.map { index + $0 }) }

    /// Deletes an index and its companions, if present.
    static func remove(_ index: String) {
        for path in all(index) { try? FileManager.default.removeItem(atPath: path) }
    }
}
