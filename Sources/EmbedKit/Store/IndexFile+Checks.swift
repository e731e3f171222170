import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The checks that a file is an embed index, made by readers and writers before they trust or change it.
extension IndexFile {
    /// Refuses a path that cannot be an index with a message that says what it is instead.
    static func checkIsIndexFile(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT {
                throw StoreError.missingIndex(path)
            }
            throw StoreError(.cannotOpen, "cannot read \(path): \(String(cString: strerror(errno)))", path: path)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR:
            throw StoreError(
                .notAnIndex, "\(path) is a folder, not an index file: give --db the index's file name", path: path)
        default:
            throw StoreError(.notAnIndex, "\(path) is not a regular file, so it cannot be an index", path: path)
        }
        guard info.st_size > 0 else { return }
        // A file that is not SQLite at all deserves better than SQLite's "file is not a database".
        let handle = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard handle >= 0 else {
            throw StoreError(.cannotOpen, "cannot read \(path): \(String(cString: strerror(errno)))", path: path)
        }
        defer { close(handle) }
        var header = [UInt8](repeating: 0, count: 16)
        let count = header.withUnsafeMutableBytes { pread(handle, $0.baseAddress, 16, 0) }
        if count != 16 || header != Array("SQLite format 3\0".utf8) {
            throw StoreError(
                .notAnIndex, "\(path) is not an embed index (not a SQLite database); check --db", path: path)
        }
    }

    /// Reads the tables every index has: this is where a missing table or an unreadable file shows.
    static func probe(_ connection: SQLiteConnection, path: String) throws {
        do {
            _ = try connection.prepare("SELECT 1 FROM index_meta LIMIT 1").step()
            _ = try connection.prepare("SELECT 1 FROM chunks LIMIT 1").step()
        } catch {
            if error.code == .corrupt || SQLiteConnection.needsRecovery(error)
                || SQLiteConnection.lacksSharedMemory(error)
            {
                throw error
            }
            if let table = error.message.firstMatch(of: /no such table: (\w+)/)?.1 {
                throw StoreError(
                    .notAnIndex, "\(path) is a SQLite database, but not an embed index (it has no \(table) table); check --db",
                    path: path)
            }
            throw StoreError(.notAnIndex, "\(path): not an embed index (\(error.message))", path: path)
        }
    }
}

extension StoreError {
    /// No index at `path`, where one must be.
    public static func missingIndex(_ path: String) -> StoreError {
        StoreError(.cannotOpen, "\(path): no index here; build one with `embed ingest PATH... --db \(path)`", path: path)
    }

    /// `reindex` of an index that records no roots to walk (or of none at all).
    public static func noRoots(_ path: String, isNew: Bool) -> StoreError {
        if isNew { return missingIndex(path) }
        return StoreError(
            .nothingRecorded, "\(path) records no folders yet; add some with `embed ingest PATH... --db \(path)`",
            path: path)
    }
}
