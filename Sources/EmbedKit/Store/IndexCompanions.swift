import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The files that make up an index on disk: the SQLite file and what lives beside it. The one place where
/// their names are spelled.
public enum IndexCompanions {
    /// SQLite's write-ahead log.
    static let log = "-wal"
    /// The log's shared-memory index.
    static let sharedMemory = "-shm"
    /// SQLite's rollback journal (the brief non-WAL moments of creation).
    static let journal = "-journal"
    /// The writers' lock (``IndexLock``).
    static let lock = ".lock"
    /// The vector file's manifest (``VectorFile``).
    static let vectors = ".vectors"
    /// The vector file's segments, `<index>.vectors.seg-<serial>`.
    static let segmentMarker = ".seg-"
    /// The lock taken by whoever updates the vector file (a writer, or a query when no writer runs).
    static let vectorsLock = vectors + ".lock"

    /// What a run keeps beside an index while it works, `<index><marker><pid>-<random>`: a new index being
    /// created, a `--reembed` rebuild, and a vector file being written.
    static let creatingMarker = ".creating-"
    static let rebuildMarker = ".reembed-"
    static let vectorsTemporaryMarker = vectors + temporaryMarker
    /// A temporary beside any file (the vector file's own temporaries are `<index>.vectors.tmp-...`).
    static let temporaryMarker = ".tmp-"
    static let leftoverMarkers = [creatingMarker, rebuildMarker, vectorsTemporaryMarker]

    static let suffixes = ["", log, sharedMemory, journal, lock, vectors, vectorsLock]

    /// The index file and its companions, the vector file's segments present now included (never ingested as
    /// documents).
    public static func all(_ index: String) -> Set<String> { Set(suffixes.map { index + $0 } + segments(of: index)) }

    /// The paths of the vector file's segments beside the index at `index`, whichever manifest names them.
    static func segments(of index: String) -> [String] { segments(besidesManifest: vectorsPath(index)) }

    /// The paths of the segment files beside the vector file's manifest at `manifest`.
    static func segments(besidesManifest manifest: String) -> [String] {
        let directory = (manifest as NSString).deletingLastPathComponent
        let prefix = (manifest as NSString).lastPathComponent + segmentMarker
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        // The name of a segment is the prefix and 16 hex digits (see `VectorFile.segmentPath`).
        return names.filter { $0.hasPrefix(prefix) && $0.count == prefix.count + 16 }
            .map { directory.isEmpty ? $0 : directory + "/" + $0 }
    }

    static func logPath(_ index: String) -> String { index + log }
    static func vectorsPath(_ index: String) -> String { index + vectors }

    /// Deletes an index and its companions, if present. Unlinks names only: a symlink planted at one of them
    /// is removed, never followed, and a folder is left alone.
    public static func remove(_ index: String) {
        for path in all(index) { unlink(path) }
    }

    /// A fresh name `<path><marker><pid>-<random>`: the pid lets a later run recognise a dead run's leftovers,
    /// and the random part keeps the name from being guessed and prepared (a planted symlink) in advance.
    public static func temporaryName(for path: String, marker: String) -> String {
        path + marker + "\(getpid())-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Deletes `<path><marker><pid>` files (and their SQLite companions) left by processes that no longer run,
    /// such as a half-created index whose creator was killed.
    public static func removeLeftovers(of path: String, marker: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + marker
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        for name in names where name.hasPrefix(prefix) {
            let pidText = name.dropFirst(prefix.count).prefix { $0.isNumber }
            guard let pid = Int32(pidText), kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(directory.isEmpty ? name : directory + "/" + name)
        }
    }

    /// Deletes what killed writers left beside the index at `path`: a writer (holding the lock) calls it.
    static func removeWritersLeftovers(of path: String) {
        for marker in leftoverMarkers { removeLeftovers(of: path, marker: marker) }
    }
}
