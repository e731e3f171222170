import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A stored chunk with its id and its document's path, format and title, as search results and exports show
/// it. The chunk's own fields read through (`stored.text`), so they are spelled once, in ``Chunk``.
@dynamicMemberLookup
public struct StoredChunk: Sendable, Equatable {
    public var id: Int64
    public var path: String
    public var format: DocumentFormat
    public var title: String?
    public var chunk: Chunk

    public init(id: Int64, path: String, format: DocumentFormat, title: String?, chunk: Chunk) {
        self.id = id
        self.path = path
        self.format = format
        self.title = title
        self.chunk = chunk
    }

    public subscript<Value>(dynamicMember field: KeyPath<Chunk, Value>) -> Value { chunk[keyPath: field] }
}

/// Read access to an index, for queries, statistics and export. Opened read-only: it never changes the file.
///
/// One reader belongs to one task; open one per index and per task.
public final class IndexReader {
    let connection: SQLiteConnection
    public let path: String
    /// For a file read as immutable (no locks): what it looked like when opened, to notice a writer since.
    let immutableStamp: FileStamp?
    /// Shared with the other readers of the same ``EmbeddingIndex``; set before the reader is first used.
    var vectorCache: VectorMatrixCache?
    /// Where readers of the same index share its keyword postings; nil to rank keywords with FTS5 alone.
    var keywordCache: KeywordPostingsCache?
    /// How many keyword rankings this reader took from the shared postings rather than FTS5.
    var keywordRankingsFromPostings = 0

    /// Opens the index at `path` for reading.
    ///
    /// Works for a user who may not write the index or its folder (another account, a read-only mount): a
    /// file at rest is then read as immutable, and ``changedSinceOpened`` tells whether a writer started
    /// meanwhile. A hot journal left by a killed writer is rolled back first when this process may write the
    /// file.
    /// - Parameter vectorCache: where readers of the same index share the vectors they read.
    /// - Throws: ``StoreError`` when the file is missing, unreadable, not an index, or from a newer embed.
    public init(path: String, vectorCache: VectorMatrixCache? = nil) throws {
        try IndexFile.checkIsIndexFile(path)
        (connection, immutableStamp) = try Self.open(path)
        self.path = path
        self.vectorCache = vectorCache
        try Migrations.checkKnown(connection)
    }

    /// True when the index was read as immutable and its file or log changed since it was opened: what was
    /// read may mix two states, so read again. Always false for an ordinary reader, whose snapshot is enough.
    public var changedSinceOpened: Bool {
        guard let immutableStamp else { return false }
        return FileStamp(indexPath: path) != immutableStamp
    }

    /// The identity, size and modification time of the index file and the size of its log: a writer that
    /// starts changes the log, and a checkpoint changes the file.
    struct FileStamp: Equatable {
        var device: UInt64 = 0
        var inode: UInt64 = 0
        var size: Int64 = 0
        var modified: Int64 = 0
        var logSize: Int64 = -1

        init(indexPath: String) {
            var info = stat()
            if stat(indexPath, &info) == 0 {
                device = UInt64(info.st_dev)
                inode = UInt64(info.st_ino)
                size = Int64(info.st_size)
                modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
            }
            if stat(IndexCompanions.logPath(indexPath), &info) == 0 { logSize = Int64(info.st_size) }
        }
    }

    /// Starts one snapshot of the index: every read until ``endSnapshot()`` sees the index as of one moment,
    /// even while a writer commits (WAL keeps the pages this read transaction started from). The scan of an
    /// async search happens in between, so this is a pair of calls rather than a closure.
    public func beginSnapshot() throws {
        try connection.execute("BEGIN")
        // BEGIN is deferred: the snapshot starts with the first read, so read now.
        _ = try IndexFile.generation(connection)
    }

    public func endSnapshot() {
        try? connection.execute("COMMIT")
    }

    /// Runs `body` on one snapshot of the index (see ``beginSnapshot()``).
    public func snapshot<T>(_ body: () throws -> T) throws -> T {
        try IndexFile.inReadTransaction(connection, body)
    }

    /// Opens a read-only connection that has read the index's metadata once.
    private static func open(_ path: String) throws -> (SQLiteConnection, FileStamp?) {
        do {
            return (try openAndProbe(path, immutable: false), nil)
        } catch let error as StoreError where SQLiteConnection.needsRecovery(error) {
            // A writer was killed mid-transaction: let a read-write connection roll back or recover, then read.
            guard access(path, W_OK) == 0 else {
                throw StoreError(
                    .readOnly,
                    "\(path) holds an unfinished write of a killed run that only a user who may write it can undo: "
                        + "run any `embed` command on it as its owner", path: path)
            }
            do {
                let writer = try SQLiteConnection(path: path, create: false)
                try IndexFile.configure(writer, writable: false)
                try IndexFile.probe(writer, path: path)
            }
            return (try openAndProbe(path, immutable: false), nil)
        } catch let error as StoreError where SQLiteConnection.lacksSharedMemory(error) {
            // This user cannot create the write-ahead log's shared memory (a read-only mount, another user's
            // folder). With no log beside it, the file holds the whole index: read it as immutable, unless a
            // writer is busy with it, which could change pages under an immutable reader. A writer that starts
            // later is noticed by `changedSinceOpened`.
            let log = IndexCompanions.logPath(path)
            var info = stat()
            let hasLog = stat(log, &info) == 0 && info.st_size > 0
            if !hasLog && !IndexLock.isHeld(indexPath: path) {
                let stamp = FileStamp(indexPath: path)
                return (try openAndProbe(path, immutable: true), stamp)
            }
            throw StoreError(
                .readOnly,
                "cannot read \(path): "
                    + (hasLog
                        ? "its write-ahead log \(log) needs shared memory (\(path)-shm) that this user cannot create; "
                            + "run `embed reindex --db \(path)` as its owner, which folds the log into the file"
                        : "an embed writer is busy with it and this user cannot share its lock; try again when it ends"),
                path: path)
        }
    }

    private static func openAndProbe(_ path: String, immutable: Bool) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, readOnly: true, immutable: immutable)
        try IndexFile.configure(connection, writable: false)
        try IndexFile.probe(connection, path: path)
        return connection
    }

    /// The settings the index was built with, or nil for an index that has never been written.
    public func settings() throws -> IndexSettings? { try IndexFile.settings(connection) }

    /// The roots ingested into this index, in the order they were first given.
    public func roots() throws -> [IngestRoot] { try IndexFile.roots(connection) }

    /// What the index was built with: its settings, its embedder's recorded configuration and its roots; nil
    /// for an index never written.
    public func recipe() throws -> IndexRecipe? { try IndexFile.recipe(connection) }

    public func statistics() throws -> IndexStatistics {
        try snapshot { try readStatistics() }
    }

    private func readStatistics() throws -> IndexStatistics {
        func count(_ table: String) throws -> Int {
            let statement = try connection.prepare("SELECT count(*) FROM \(table)")
            return try statement.step() ? Int(statement.int(0)) : 0
        }
        func size(_ path: String) -> Int64? {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value
        }
        let manifest = VectorFile.path(forIndex: path)
        var files: [IndexStatistics.FileSize] = []
        for file in [path, path + IndexCompanions.log, manifest] + IndexCompanions.segments(of: path).sorted() {
            if let bytes = size(file) { files.append(.init(path: file, bytes: bytes)) }
        }
        var deadRows = 0
        if case .found(let found) = VectorFile.readManifest(manifest) { deadRows = found.rows - found.liveRows }
        var statistics = IndexStatistics(
            documents: try count("documents"), chunks: try count("chunks"),
            vectors: try count("vectors WHERE length(embedding) > 0"),
            chunksWithoutVector: try count("chunks c JOIN vectors v ON v.id = c.vector_id WHERE length(v.embedding) = 0"),
            settings: try settings(), roots: try roots(),
            bytesOnDisk: (size(path) ?? 0) + (size(path + IndexCompanions.log) ?? 0))
        statistics.files = files
        statistics.quantization = try IndexFile.quantization(connection)
        statistics.deadRows = deadRows
        return statistics
    }

    /// Checks the file and the index's invariants; returns one line per problem, none when all is well.
    ///
    /// SQLite's integrity and foreign-key checks, then: every document has as many chunks as it says, every
    /// vector is used by a chunk, and every vector has the index's dimension.
    public func check() throws -> [String] {
        var problems: [String] = []
        let integrity = try connection.prepare("PRAGMA integrity_check")
        while try integrity.step() {
            let line = integrity.text(0)
            if line != "ok" { problems.append("integrity: \(line)") }
        }
        let foreignKeys = try connection.prepare("PRAGMA foreign_key_check")
        while try foreignKeys.step() { problems.append("row \(foreignKeys.int(1)) of \(foreignKeys.text(0)) refers to a missing \(foreignKeys.text(2))") }
        func count(_ sql: String) throws -> Int {
            let statement = try connection.prepare(sql)
            return try statement.step() ? Int(statement.int(0)) : 0
        }
        let unused = try count("SELECT count(*) FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.vector_id = v.id)")
        if unused > 0 { problems.append("\(unused) vectors are used by no chunk") }
        let incomplete = try count(
            "SELECT count(*) FROM documents d WHERE chunk_count != (SELECT count(*) FROM chunks c WHERE c.document_id = d.id)")
        if incomplete > 0 { problems.append("\(incomplete) documents do not have all their chunks") }
        let missing = try count("SELECT count(*) FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.id = c.vector_id)")
        if missing > 0 { problems.append("\(missing) chunks have no vector") }
        if let settings = try settings() {
            let dimension = settings.embedder.dimension
            let wrong = try count(
                "SELECT count(*) FROM vectors WHERE length(embedding) != \(dimension * 4) AND length(embedding) != 0")
            if wrong > 0 { problems.append("\(wrong) vectors do not have \(dimension) dimensions") }
            // An empty vector marks a chunk without words, which only an index that does not embed them has.
            let empty = try count("SELECT count(*) FROM vectors WHERE length(embedding) = 0")
            if empty > 0 && settings.chunking.embedsWordlessChunks {
                problems.append("\(empty) vectors are empty, in an index that embeds every chunk")
            } else if empty > 0 {
                let withWords = try emptyVectorsWithWords()
                if withWords > 0 { problems.append("\(withWords) chunks with words have no vector") }
            }
        }
        return problems
    }

    /// How many chunks have an empty vector though their text has words (each such chunk is read).
    private func emptyVectorsWithWords() throws -> Int {
        let statement = try connection.prepare(
            "SELECT c.text FROM chunks c JOIN vectors v ON v.id = c.vector_id WHERE length(v.embedding) = 0")
        var found = 0
        while try statement.step() {
            if !WordlessText.isWordless(statement.text(0)) { found += 1 }
        }
        return found
    }

    /// Whether the keyword index (FTS5) is there: read from the schema alone, cheap enough for every query.
    /// `.missing` and `.damaged` are both put right by `embed reindex`. It does not read the keyword index
    /// itself: ``keywordIndexProblem()`` does, for `stats --check`.
    public func keywordIndexState() throws -> KeywordIndexState {
        try KeywordIndex.state(connection)
    }

    /// What is wrong with the keyword index, or nil when nothing is, or when the index was written by an older
    /// embed and has no keyword index yet (``keywordIndexState()`` is then `.missing`): that is no damage.
    ///
    /// Reads it whole (every term and chunk id, and a sample of 256 chunks), so it costs about as much as
    /// SQLite's integrity check; for `stats --check`.
    public func keywordIndexProblem() throws -> KeywordIndexProblem? {
        try snapshot {
            switch try KeywordIndex.state(connection) {
            case .missing:
                guard try Migrations.checkKnown(connection).contains(KeywordIndex.migration) else { return nil }
                return KeywordIndexProblem(message: "the keyword index (table chunks_fts) is missing", foundByWriters: true)
            case .damaged(let reason):
                return KeywordIndexProblem(message: "the keyword index is damaged: \(reason)", foundByWriters: true)
            case .ready:
                return try KeywordIndex.contentProblem(connection, thorough: true).map {
                    KeywordIndexProblem(
                        message: "the keyword index does not match the chunks: \($0.reason)", foundByWriters: $0.writersFindIt)
                }
            }
        }
    }

    /// Every chunk's vector, in chunk-id order, as one contiguous row-major matrix: read from the index's
    /// vector file when that is provably this index's current one (see `VectorFile`). A stale file is first
    /// brought up to date by what changed, unless a writer holds the index (it does so when it finishes); anything
    /// else is read from SQLite, after which the vector file is rewritten from the same rows unless a writer holds
    /// the index. (A read-only folder or a full disk only leaves the next query to read SQLite too.)
    public func vectors(dimension: Int) throws -> VectorMatrix {
        try vectors(dimension: dimension, believeFile: true)
    }

    /// - Parameter believeFile: false to read SQLite (and rewrite the vector file) whatever the file holds.
    func vectors(dimension: Int, believeFile: Bool) throws -> VectorMatrix {
        try IndexFile.inReadTransaction(connection) {
            let file = VectorFile.path(forIndex: path)
            let generation = try IndexFile.generation(connection)
            // An index without an id (made by an older embed) cannot tell its vector file from another's.
            let indexID = try IndexFile.indexID(connection)
            if believeFile, let indexID {
                if let cached = try cachedVectors(dimension: dimension) { return cached }
                var verdict = VectorFile.load(path: file, dimension: dimension, generation: generation, indexID: indexID)
                if case .stale = verdict, updateVectorFileIfFree(dimension: dimension, believeFile: true) {
                    verdict = VectorFile.load(path: file, dimension: dimension, generation: generation, indexID: indexID)
                }
                if case .current(let matrix) = verdict {
                    if immutableStamp == nil { vectorCache?.keep(matrix, indexID: indexID, generation: generation) }
                    return matrix
                }
            }
            let matrix = try loadVectors(dimension: dimension)
            // A reader without locks (immutable) may have read a state torn by a writer; only a snapshot is kept.
            if let indexID, immutableStamp == nil { vectorCache?.keep(matrix, indexID: indexID, generation: generation) }
            if let indexID, !IndexLock.isHeld(indexPath: path), let lock = VectorFileLock(indexPath: path, wait: false) {
                try? VectorFile.write(
                    path: file, matrix: matrix, generation: generation, indexID: indexID,
                    changeSeq: try IndexFile.lastChange(connection),
                    codes: try IndexFile.quantization(connection).wantsCodes(rows: matrix.count))
                withExtendedLifetime(lock) {}
            }
            return matrix
        }
    }

    /// The vectors this reader's process already holds in memory for the index as it is now (`embed serve` keeps
    /// them between queries), if any.
    public func cachedVectors(dimension: Int) throws -> VectorMatrix? {
        guard let vectorCache else { return nil }
        return try IndexFile.inReadTransaction(connection) {
            guard let indexID = try IndexFile.indexID(connection),
                let cached = vectorCache.value(indexID: indexID, generation: try IndexFile.generation(connection)),
                cached.dimension == dimension
            else { return nil }
            return cached
        }
    }

    /// The index's vector file opened for a scan that streams it (see ``SegmentSearch``), when it is provably this
    /// index's current one; a stale file is first brought up to date by what changed, unless a writer holds the
    /// index. Nil when it cannot be used: the caller reads the vectors another way.
    /// - Parameter rewrite: write the file anew from SQLite first (a scan found it damaged).
    public func vectorSegments(dimension: Int, rewrite: Bool = false) throws -> VectorSegments? {
        try IndexFile.inReadTransaction(connection) {
            guard let indexID = try IndexFile.indexID(connection) else { return nil }
            let file = VectorFile.path(forIndex: path)
            let generation = try IndexFile.generation(connection)
            func open() -> Result<VectorSegments, VectorFile.VerdictBox> {
                VectorSegments.open(path: file, dimension: dimension, generation: generation, indexID: indexID)
            }
            var opened = rewrite ? .failure(VectorFile.VerdictBox(.unusable("rewritten"))) : open()
            if case .failure(let box) = opened {
                // Only a stale file is updated by what changed; a missing or damaged one is written anew.
                var stale = false
                if case .stale = box.verdict { stale = true }
                if updateVectorFileIfFree(dimension: dimension, believeFile: stale) { opened = open() }
            }
            if case .success(let segments) = opened { return segments }
            // Stale, and a writer runs (or the file cannot be updated): the old file with what changed since laid
            // over it, from the change log in this snapshot, rather than every vector read into memory.
            return try staleSegmentsWithChanges(file: file, dimension: dimension, indexID: indexID)
        }
    }

    /// Brings the vector file up to this snapshot unless a writer holds the index (it does so when it finishes),
    /// another process is updating the file, or this reader reads without locks. True when it did.
    private func updateVectorFileIfFree(dimension: Int, believeFile: Bool) -> Bool {
        guard immutableStamp == nil, !IndexLock.isHeld(indexPath: path),
            let lock = VectorFileLock(indexPath: path, wait: false)
        else { return false }
        defer { withExtendedLifetime(lock) {} }
        return (try? IndexFile.updateVectorFile(
            connection, indexPath: path, dimension: dimension, believeFile: believeFile)) != nil
    }

    /// The vector file as it was at its manifest's generation, overlaid with the chunks changed since (see
    /// ``VectorSegments/overlaid(changed:current:)``); nil when the change log since it is not whole, or holds
    /// more changes than a tenth of the file (reading those is then no cheaper than reading everything).
    private func staleSegmentsWithChanges(file: String, dimension: Int, indexID: [UInt8]) throws -> VectorSegments? {
        guard case .success(let stale) = VectorSegments.open(path: file, dimension: dimension, generation: nil, indexID: indexID),
            let since = stale.manifest.changeSeq, let last = try IndexFile.lastChange(connection),
            try IndexFile.changesAreComplete(connection, since: since, last: last)
        else { return nil }
        let log = try connection.prepare("SELECT DISTINCT chunk_id FROM vector_changes WHERE seq > ?1").bind([.int(since)])
        var changed = Set<Int64>()
        while try log.step() {
            changed.insert(log.int(0))
            if changed.count > max(1024, stale.liveRows / 10) { return nil }
        }
        let rows = try connection.prepare(
            "SELECT c.id, v.embedding, c.document_id FROM chunks c JOIN vectors v ON v.id = c.vector_id "
                + "WHERE length(v.embedding) > 0 AND c.id IN (SELECT chunk_id FROM vector_changes WHERE seq > ?1) "
                + "ORDER BY c.id"
        ).bind([.int(since)])
        var ids: [Int64] = []
        var documents: [Int64] = []
        var values: [Float] = []
        while try rows.step() {
            let ok = rows.withBlob(1) { blob -> Bool in
                guard blob.count == dimension * 4 else { return false }
                values.append(contentsOf: blob.bindMemory(to: Float.self))
                return true
            }
            guard ok else { return nil }
            ids.append(rows.int(0))
            documents.append(rows.int(2))
        }
        return stale.overlaid(
            changed: changed, current: VectorMatrix(dimension: dimension, ids: ids, documentIDs: documents, values: values))
    }

    /// Whether the index's vector file carries int8 codes.
    public func quantization() throws -> VectorQuantization { try IndexFile.quantization(connection) }

    /// The vectors of the chunks `ids`, read from SQLite (a chunk without a vector is left out).
    public func vectors(ofChunks ids: some Collection<Int64>, dimension: Int) throws -> [Int64: [Float]] {
        let statement = try connection.prepare(
            "SELECT v.embedding FROM chunks c JOIN vectors v ON v.id = c.vector_id WHERE c.id = ?1")
        var found: [Int64: [Float]] = [:]
        for id in ids {
            statement.bind([.int(id)])
            guard try statement.step() else { continue }
            let vector = statement.withBlob(0) { $0.count == dimension * 4 ? Array($0.bindMemory(to: Float.self)) : [] }
            if !vector.isEmpty { found[id] = vector }
        }
        return found
    }

    /// What is wrong with the index's vector file, or nil when it is current or absent (or the index has no
    /// id, so no vector file is ever used). Reads the whole file, checking every block.
    public func vectorFileProblem() throws -> String? {
        guard let dimension = try settings()?.embedder.dimension else { return nil }
        return try IndexFile.inReadTransaction(connection) {
            guard let indexID = try IndexFile.indexID(connection) else { return nil }
            let file = VectorFile.path(forIndex: path)
            let why: String
            switch VectorFile.load(
                path: file, dimension: dimension, generation: try IndexFile.generation(connection), indexID: indexID)
            {
            case .current, .missing: return nil
            case .stale(let reason):
                // A writer that is running rewrites it when it finishes.
                if IndexLock.isHeld(indexPath: path) { return nil }
                why = reason
            case .unusable(let reason): why = reason
            }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
                return "the vector file \(file) \(why); queries ignore it; delete it, and the next query rebuilds it"
            }
            return "the vector file \(file) \(why); queries ignore it, and the next query rebuilds it from the index"
        }
    }

    /// Every chunk's vector, in chunk-id order, read from SQLite into memory. Chunks without a vector (an empty
    /// one, for a chunk without words) are left out.
    public func loadVectors(dimension: Int) throws -> VectorMatrix {
        let statement = try connection.prepare(
            "SELECT c.id, v.embedding, c.document_id FROM chunks c JOIN vectors v ON v.id = c.vector_id "
                + "WHERE length(v.embedding) > 0 ORDER BY c.id")
        var ids: [Int64] = []
        var documents: [Int64] = []
        var values: [Float] = []
        let rowBytes = dimension * MemoryLayout<Float>.size
        while try statement.step() {
            let ok = statement.withBlob(1) { blob -> Bool in
                guard blob.count == rowBytes else { return false }
                values.append(contentsOf: blob.bindMemory(to: Float.self))
                return true
            }
            guard ok else {
                throw StoreError(
                    .corrupt, "\(path): chunk \(statement.int(0)) has a vector of the wrong size; rebuild the index",
                    path: path)
            }
            ids.append(statement.int(0))
            documents.append(statement.int(2))
        }
        return VectorMatrix(dimension: dimension, ids: ids, documentIDs: documents, values: values)
    }

    /// Every document's id, path and format.
    public func documents() throws -> [(id: Int64, path: String, format: DocumentFormat)] {
        let statement = try connection.prepare("SELECT id, path, format FROM documents")
        var documents: [(Int64, String, DocumentFormat)] = []
        while try statement.step() {
            documents.append((statement.int(0), statement.text(1), DocumentFormat(rawValue: statement.text(2)) ?? .text))
        }
        return documents
    }

    /// The chunks with these ids (missing ids are left out).
    public func chunks(ids: [Int64]) throws -> [Int64: StoredChunk] {
        let statement = try connection.prepare(Self.chunkSelect + " WHERE c.id = ?1")
        var found: [Int64: StoredChunk] = [:]
        for id in ids {
            statement.bind([.int(id)])
            if try statement.step() { found[id] = Self.chunk(statement) }
        }
        return found
    }

    /// Calls `body` with every chunk, in path then ordinal order, with its vector when `withVectors`, all from one
    /// snapshot.
    ///
    /// Document by document in path order, each one's chunks by the (document, ordinal) index: one sort of every
    /// chunk instead would need a temporary copy of them all (at ten million chunks with their vectors, 16 GB).
    public func forEachChunk(withVectors: Bool, _ body: (StoredChunk, [Float]?) throws -> Void) throws {
        try IndexFile.inReadTransaction(connection) {
            let documents = try connection.prepare("SELECT id FROM documents ORDER BY path")
            let chunks = try connection.prepare(
                "SELECT \(Self.chunkColumns)" + (withVectors ? ", v.embedding" : "") + " FROM \(Self.chunkTables) "
                    + (withVectors ? "JOIN vectors v ON v.id = c.vector_id " : "") + "WHERE c.document_id = ?1 ORDER BY c.ordinal")
            while try documents.step() {
                chunks.bind([.int(documents.int(0))])
                while try chunks.step() {
                    // A chunk without words has an empty vector: none.
                    let vector = withVectors ? chunks.withBlob(12) { VectorCoding.decode($0) }.nilIfEmpty : nil
                    try body(Self.chunk(chunks), vector)
                }
            }
        }
    }

    /// The columns ``chunk(_:)`` reads, in its order. A chunk without words has an empty vector.
    private static let chunkColumns =
        "c.id, d.path, d.format, d.title, c.ordinal, c.text, c.start_offset, c.end_offset, c.line, c.heading_path, "
        + "c.token_count, (SELECT length(embedding) > 0 FROM vectors WHERE id = c.vector_id)"
    private static let chunkTables = "chunks c JOIN documents d ON d.id = c.document_id"
    private static let chunkSelect = "SELECT \(chunkColumns) FROM \(chunkTables)"

    private static func chunk(_ s: SQLiteStatement) -> StoredChunk {
        StoredChunk(
            id: s.int(0), path: s.text(1), format: DocumentFormat(rawValue: s.text(2)) ?? .text,
            title: s.isNull(3) ? nil : s.text(3),
            chunk: Chunk(
                ordinal: Int(s.int(4)), text: s.text(5), startOffset: Int(s.int(6)), endOffset: Int(s.int(7)),
                line: Int(s.int(8)), headingPath: IndexFile.decodeHeadingPath(s.text(9)), tokenCount: Int(s.int(10)),
                isEmbedded: s.int(11) != 0))
    }
}

@available(*, unavailable, message: "An IndexReader owns a SQLite connection confined to one task")
extension IndexReader: Sendable {}

extension Array {
    /// nil for an empty array.
    fileprivate var nilIfEmpty: Self? { isEmpty ? nil : self }
}
