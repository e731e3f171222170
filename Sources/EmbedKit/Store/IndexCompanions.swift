import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The files that make up an index on disk: the SQLite file and what lives beside it.
public enum IndexCompanions {
    static let suffixes = ["", "-wal", "-shm", "-journal", ".lock", ".vectors"]

    /// The index file and its companions (never ingested as documents).
    public static func all(_ index: String) -> Set<String> { Set(suffixes.map { index + $0 }) }

    /// Deletes an index and its companions, if present. Unlinks names only: a symlink planted at one of them
    /// is removed, never followed, and a folder is left alone.
    public static func remove(_ index: String) {
        for path in all(index) { unlink(path) }
    }
}
