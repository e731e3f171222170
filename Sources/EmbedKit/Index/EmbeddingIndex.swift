import Foundation

/// An index on disk, opened once for what a command does with it: the one owner of its connection, its
/// writers' lock, its recipe, the files beside it, and the `--reembed` rebuild-and-swap.
///
/// ```swift
/// let index = try await EmbeddingIndex.open("docs.sqlite", for: .writeOrCreate(wait: false))
/// let store = try await index.writableStore()   // a new index is locked and created only now
/// ```
///
/// Searches read through a small pool of readers (``withReader(_:)``): each reader is used by one task at a
/// time, so concurrent searches of one index (`embed serve`) each get their own connection and snapshot.
public final class EmbeddingIndex: @unchecked Sendable {
    /// What a command does with the index.
    public enum Access: Sendable, Equatable {
        /// Reads it (query, stats, export): no lock; WAL lets it read while a writer works.
        case read
        /// Writes an index that must exist (reindex, remove): takes the lock, waiting for it when `wait`.
        case write(wait: Bool)
        /// Writes an index, creating it when missing (ingest). A new index is locked and created by
        /// ``writableStore(keywordIndexProgress:upkeep:)``, once the run is known to go ahead, so that a run
        /// refused before then leaves no file behind.
        case writeOrCreate(wait: Bool)
        /// Reads as a writer would and writes nothing: no lock; a missing index is compared with an empty one
        /// made in the temporary folder.
        case dryRun
    }

    public let path: String
    public let access: Access
    /// What the index was built with when it was opened; nil for a new index or one never written.
    public let recipe: IndexRecipe?
    /// True when there was no index at `path` when it was opened.
    public let isNew: Bool

    // Guarded by `mutex`. A reader is used outside the mutex, by the one task that took it from the pool.
    private let mutex = NSLock()
    private var lock: IndexLock?
    private var store: SQLiteIndexStore?
    /// Readers not in use; a reader opened before ``reopenReader()`` (an older generation) is not put back.
    private var idleReaders: [IndexReader] = []
    private var readerGeneration = 0
    /// The vectors its readers read last, shared between them.
    private let vectorCache = VectorMatrixCache()
    /// The keyword postings its readers read last, shared between them; nil to rank keywords with FTS5 alone.
    private let keywordCache: KeywordPostingsCache?
    /// Shares one pass over the vectors between the searches that scan at the same time.
    let scans = ScanCoalescer()
    /// How many searches read the index at once (each with its own reader); more wait their turn.
    private let readers = AsyncLimiter(limit: max(4, 2 * ProcessInfo.processInfo.activeProcessorCount))
    /// Where a PostgreSQL index lives; nil for a SQLite file.
    let postgres: PostgresLocation?
    /// Connections to the PostgreSQL index not in use.
    private var idlePostgresReaders: [PostgresReader] = []
    /// Indexes made beside (or for) this one that go when it closes: a dry run's empty index, a rebuild.
    private var scratch: [String] = []
    private var closed = false

    private init(
        path: String, access: Access, recipe: IndexRecipe?, isNew: Bool, keepsKeywordPostings: Bool = false,
        postgres: PostgresLocation? = nil
    ) {
        self.postgres = postgres
        self.keywordCache = keepsKeywordPostings ? KeywordPostingsCache() : nil
        self.path = path
        self.access = access
        self.recipe = recipe
        self.isNew = isNew
    }

    /// Opens the index at `path` for `access`.
    /// - Parameter keepsKeywordPostings: for a process that answers many queries (`embed serve`): its readers
    ///   hold the keyword index's posting lists in memory, read once per change of the index, and rank keywords
    ///   from them; otherwise each query asks FTS5, which costs more per query but holds nothing. Only for `.read`.
    /// - Throws: ``StoreError``: `.cannotOpen` when it is missing (except for `.writeOrCreate` and `.dryRun`),
    ///   `.notAnIndex` when the file is something else, `.locked` when another writer holds it, and so on.
    public static func open(
        _ path: String, for access: Access, keepsKeywordPostings: Bool = false
    ) async throws -> EmbeddingIndex {
        if PostgresLocation.isPostgres(path) {
            guard access == .read else {
                throw UsageError("this command works on SQLite indexes only for now, not on a PostgreSQL --db")
            }
            let location = try PostgresLocation(path)
            let reader = try PostgresReader(location)
            try reader.snapshot { try reader.requireIndex() }
            let index = EmbeddingIndex(
                path: path, access: access, recipe: try reader.recipe(), isNew: false, postgres: location)
            index.idlePostgresReaders = [reader]
            return index
        }
        let exists = FileManager.default.fileExists(atPath: path)
        switch access {
        case .read:
            let reader = try IndexReader(path: path)
            let index = EmbeddingIndex(
                path: path, access: access, recipe: try reader.recipe(), isNew: false,
                keepsKeywordPostings: keepsKeywordPostings)
            reader.vectorCache = index.vectorCache
            reader.keywordCache = index.keywordCache
            index.idleReaders = [reader]
            return index
        case .write(let wait), .writeOrCreate(let wait):
            guard exists else {
                if access == .write(wait: wait) { throw StoreError.missingIndex(path) }
                return EmbeddingIndex(path: path, access: access, recipe: nil, isNew: true)
            }
            // Locked before its recipe is read: another writer may be changing it.
            let lock = try IndexLock(indexPath: path, wait: wait)
            let store = try SQLiteIndexStore(existingAt: path)
            let index = EmbeddingIndex(path: path, access: access, recipe: try await store.recipe(), isNew: false)
            index.lock = lock
            index.store = store
            return index
        case .dryRun:
            if exists {
                let store = try SQLiteIndexStore(existingAt: path)
                let index = EmbeddingIndex(path: path, access: access, recipe: try await store.recipe(), isNew: false)
                index.store = store
                return index
            }
            return EmbeddingIndex(path: path, access: access, recipe: nil, isNew: true)
        }
    }

    /// The store to write through (a dry run's writes nothing). An existing index is brought up to date first:
    /// pending migrations, and the keyword index built or repaired as `upkeep` says. A new index is locked and
    /// created now; should another run make it meanwhile, its recipe is checked when the pipeline prepares it.
    /// - Parameter keywordIndexProgress: told how a build of the keyword index goes (it can take minutes).
    public func writableStore(
        keywordIndexProgress: KeywordIndexProgress? = nil, upkeep: KeywordIndexUpkeep = .repairIfNeeded
    ) async throws -> SQLiteIndexStore {
        precondition(access != .read, "a read-only EmbeddingIndex has no store")
        if let store = withMutex({ self.store }) {
            try await store.upgrade(
                keywordIndexProgress: keywordIndexProgress, upkeep: access == .dryRun ? .none : upkeep)
            return store
        }
        let store: SQLiteIndexStore
        if access == .dryRun {
            let empty = FileManager.default.temporaryDirectory.appendingPathComponent(
                "embed-dry-run-\(getpid())-\(UUID().uuidString).sqlite"
            ).path
            withMutex { scratch.append(empty) }
            store = try SQLiteIndexStore(path: empty, keywordIndexUpkeep: .none)
        } else {
            guard case .writeOrCreate(let wait) = access else { throw StoreError.missingIndex(path) }
            let lock = try IndexLock(indexPath: path, wait: wait)
            withMutex { self.lock = lock }
            store = try SQLiteIndexStore(path: path, keywordIndexProgress: keywordIndexProgress, keywordIndexUpkeep: upkeep)
        }
        withMutex { self.store = store }
        return store
    }

    /// A new, empty index beside this one, for `--reembed`: build it, then ``swapIn(_:)``. It is deleted when
    /// this index closes, and by the next writer if this process is killed.
    public func makeRebuild() throws -> SQLiteIndexStore {
        precondition(lock != nil || access == .dryRun, "a rebuild needs the index's lock")
        let rebuild = IndexCompanions.temporaryName(for: path, marker: IndexCompanions.rebuildMarker)
        withMutex { scratch.append(rebuild) }
        return try SQLiteIndexStore(path: rebuild, keywordIndexUpkeep: .none)
    }

    /// Replaces everything this index holds with what `rebuild` holds, in one transaction: queries see the old
    /// vectors until it commits, and the new ones after. Then writes the vector file.
    /// - Returns: a warning when the vector file could not be written (queries are slower, never wrong).
    public func swapIn(_ rebuild: SQLiteIndexStore) async throws -> String? {
        let store = try await writableStore(upkeep: .none)
        try await store.replaceContents(withIndexAt: rebuild.path)
        return try await store.refreshVectorFile()
    }

    /// The files that belong to this index, and to the indexes made for it: never ingested as documents.
    public var ownFiles: Set<String> {
        let made = withMutex { scratch }
        return ([path] + made).reduce(into: Set<String>()) {
            $0.formUnion(IndexCompanions.all(FileWalker.canonicalPath($1) ?? $1))
        }
    }

    /// Runs `body` with a reader of its own: one from the pool, or a new one when every pooled reader is in
    /// use (a reader holds one snapshot at a time). At most ``readers``' limit run at once; the rest wait.
    public func withReader<T>(_ body: (IndexReader) async throws -> T) async throws -> T {
        precondition(access == .read, "EmbeddingIndex.withReader needs access .read")
        return try await readers.run {
            let (pooled, generation) = withMutex { (idleReaders.popLast(), readerGeneration) }
            let reader = try pooled ?? makeReader()
            defer {
                withMutex { if generation == readerGeneration && !closed { idleReaders.append(reader) } }
            }
            return try await body(reader)
        }
    }

    /// Runs `body` with a connection of its own to the PostgreSQL index, as ``withReader(_:)`` does for SQLite.
    func withPostgresReader<T>(_ body: (PostgresReader) throws -> T) async throws -> T {
        guard let postgres else { preconditionFailure("withPostgresReader needs a PostgreSQL index") }
        return try await readers.run {
            let pooled = withMutex { idlePostgresReaders.popLast() }
            let reader = try pooled ?? PostgresReader(postgres)
            defer { withMutex { if !closed && reader.connection.isUp { idlePostgresReaders.append(reader) } } }
            return try body(reader)
        }
    }

    /// Runs `body` with what statistics, checks and export read, whichever the store.
    public func withContents<T>(_ body: (any IndexContents) throws -> T) async throws -> T {
        if postgres != nil { return try await withPostgresReader(body) }
        return try await withReader { try body($0) }
    }

    private func makeReader() throws -> IndexReader {
        let reader = try IndexReader(path: path, vectorCache: vectorCache)
        reader.keywordCache = keywordCache
        return reader
    }

    /// Opens the readers again: for readers that read the file as immutable and saw a writer change it.
    func reopenReader() throws {
        let fresh = try makeReader()
        withMutex {
            readerGeneration += 1
            idleReaders = [fresh]
        }
    }

    /// Releases the lock and deletes the indexes made for this one. Called when the index is released;
    /// call it earlier to let another writer in.
    public func close() {
        let (made, _) = withMutex { () -> ([String], IndexLock?) in
            defer { scratch = []; store = nil; lock = nil; idleReaders = []; idlePostgresReaders = []; closed = true }
            return (scratch, lock)
        }
        for path in made { IndexCompanions.remove(path) }
    }

    deinit { close() }

    private func withMutex<T>(_ body: () throws -> T) rethrows -> T {
        mutex.lock()
        defer { mutex.unlock() }
        return try body()
    }
}
