import Foundation

/// The mutable state of one ingest run, owned by the loop in ``process(_:)``.
struct IngestRun {
    let pipeline: IngestPipeline
    let observer: IngestPipeline.Observer
    let states: [String: StoredDocumentState]
    /// Files remembered as skipped for a lasting reason, by path.
    let skipped: [String: SkippedFile]
    /// The roots walked, when one of them is a shard of its tree (`--shard`): what decides which files are this
    /// run's. Empty when every root takes all its files.
    let shardedRoots: [IngestRoot]
    var report = IngestReport()

    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var filesFound = 0
    /// Bytes of the files found, and of those whose chunks are known or that need no embedding: with the
    /// chunks found so far, they estimate the chunks still to come, for the ETA.
    private var bytesFound: Int64 = 0
    private var bytesSettled: Int64 = 0
    /// Distinct chunk texts found that need embedding (not in the cache).
    private var chunksToEmbed = 0
    private var walkFinished = false
    private var stopping = false
    /// Embedding batches that failed in a row because the server could not be reached or kept failing.
    private var failedBatchesInARow = 0
    /// Why the run stopped on its own, thrown once complete documents are committed.
    private var stopError: EmbeddingError?

    /// Parsed documents waiting for vectors, by slot.
    private var pending: [Int: PendingDocument] = [:]
    private var nextSlot = 0
    /// Texts to embed (chunks with their headers) waiting to be batched, in order, with the chunks' tokens, and
    /// who waits for each vector.
    private var queue: [(hash: ContentDigest, text: String, tokens: Int)] = []
    private var waiters: [ContentDigest: [(slot: Int, chunk: Int)]] = [:]
    /// Complete documents waiting to be written, and files whose contents did not change.
    private var ready: [IndexedDocument] = []
    private var readyChunks = 0
    private var touched: [(path: String, size: Int64, modificationTimeNanoseconds: Int64)] = []
    /// Files newly skipped for a lasting reason, written with the next batch of documents.
    private var skips: [SkippedFile] = []
    /// Files skipped for a lasting reason by this run or as before: not ingestible, so not kept in the index.
    private var lastingSkips = Set<String>()
    /// Single-file roots removed because they are gone (another root may hold the same path).
    private var removedFileRoots = Set<String>()
    /// When the last write started: complete documents are committed every `writeInterval` too, so that a
    /// killed run keeps what it finished even when a write batch is minutes of model work.
    private var lastWrite: ContinuousClock.Instant
    /// Every ingestible file the walk found, and the folders it could not read: what decides removals.
    private var seen = Set<String>()
    private var unreadableFolders: [String] = []

    init(
        pipeline: IngestPipeline, observer: IngestPipeline.Observer, states: [String: StoredDocumentState],
        skipped: [String: SkippedFile] = [:], roots: [IngestRoot] = []
    ) {
        self.pipeline = pipeline
        self.observer = observer
        self.states = states
        self.skipped = skipped
        shardedRoots = roots.contains { $0.shard != nil } ? roots : []
        start = clock.now
        lastWrite = start
    }

    private var configuration: IngestPipeline.Configuration { pipeline.configuration }
    private var batchSize: Int { max(1, min(configuration.batchSize, pipeline.embedder.maxBatchSize)) }

    private enum Work: Sendable {
        case prepared(slot: Int, bytes: Int64, PreparedFile)
        case embedded(hashes: [ContentDigest], tokens: Int, Result<[[Float]], any Error>)
        case written
        /// A timer: wakes the loop to notice a stop request or a due write while every request hangs.
        case tick
    }

    struct PendingDocument {
        var prepared: PreparedDocument
        var vectors: [[Float]?]
        var missing: Int
    }

    mutating func process(_ walk: some Sequence<FileWalker.Event>) async throws {
        var files = walk.makeIterator()
        try await withThrowingTaskGroup(of: Work.self) { group in
            var parsing = 0
            var embedding = 0
            var writing = 0
            var ticking = false
            while true {
                if !stopping && observer.shouldStop() {
                    stopping = true
                    report.interrupted = true
                    // Stop now, not after the batches in flight: cancelled requests return at once, and their
                    // documents are left for the next run. Writes already started still commit.
                    group.cancelAll()
                }
                // Read more files while few chunks are waiting: this is what bounds memory.
                while !stopping && !walkFinished && parsing < configuration.parseConcurrency
                    && queue.count < batchSize * configuration.embeddingConcurrency * 2
                {
                    guard let event = files.next() else {
                        walkFinished = true
                        break
                    }
                    switch event {
                    case .problem(let diagnostic):
                        if Self.isFolder(diagnostic.path) { unreadableFolders.append(diagnostic.path) }
                        record(diagnostic)
                    case .file(let file):
                        guard takes(file.path) else {
                            report.otherShards += 1
                            continue
                        }
                        filesFound += 1
                        bytesFound += file.size
                        seen.insert(file.path)
                        let stored = states[file.path]
                        if let stored, !configuration.checksum, stored.size == file.size,
                            stored.modificationTimeNanoseconds == file.modificationTimeNanoseconds
                        {
                            report.unchanged += 1
                            bytesSettled += file.size
                            continue
                        }
                        // Skipped before for a reason that holds until the file changes: not read, not reported.
                        // --checksum looks at every file again.
                        if let skip = skipped[file.path], !configuration.checksum,
                            skip.stillApplies(
                                to: file, maxFileSize: configuration.maxFileSize, rules: configuration.skipRules)
                        {
                            report.skippedAsBefore += 1
                            bytesSettled += file.size
                            lastingSkips.insert(file.path)
                            continue
                        }
                        let slot = nextSlot
                        nextSlot += 1
                        let pipeline = pipeline
                        group.addTask {
                            .prepared(slot: slot, bytes: file.size, pipeline.prepare(file, storedHash: stored?.contentHash))
                        }
                        parsing += 1
                    }
                }
                // Start batches: full ones, and the last partial one once no more chunks can come.
                let noMoreChunks = parsing == 0 && (walkFinished || stopping)
                while !stopping && embedding < configuration.embeddingConcurrency
                    && (queue.count >= batchSize || (noMoreChunks && !queue.isEmpty))
                {
                    let batch = Array(queue.prefix(batchSize))
                    queue.removeFirst(batch.count)
                    let embedder = pipeline.embedder
                    let tokens = batch.reduce(0) { $0 + $1.tokens }
                    group.addTask {
                        let texts = batch.map(\.text)
                        do {
                            let vectors = try await embedder.embed(texts)
                            try EmbeddingError.validate(
                                vectors, count: texts.count, dimension: embedder.identity.dimension,
                                source: "the \(embedder.identity.name) embedder")
                            return .embedded(hashes: batch.map(\.hash), tokens: tokens, .success(vectors))
                        } catch {
                            return .embedded(hashes: batch.map(\.hash), tokens: tokens, .failure(error))
                        }
                    }
                    embedding += 1
                }
                // Write in a child task, one write at a time, so batches keep starting while SQLite works
                // (awaiting the write here stalled every request slot for its duration).
                let writeDue = !(ready.isEmpty && skips.isEmpty) && clock.now - lastWrite >= configuration.writeInterval
                if writing == 0
                    && (readyChunks >= configuration.writeBatchChunks || touched.count >= 1024 || skips.count >= 1024
                        || writeDue)
                {
                    lastWrite = clock.now
                    let (documents, files, skipped) = (ready, touched, skips)
                    ready.removeAll(keepingCapacity: true)
                    readyChunks = 0
                    touched.removeAll(keepingCapacity: true)
                    skips.removeAll(keepingCapacity: true)
                    let store = pipeline.store
                    group.addTask {
                        if !documents.isEmpty || !skipped.isEmpty { try await store.write(documents, skipped: skipped) }
                        if !files.isEmpty { try await store.touch(files) }
                        return .written
                    }
                    writing += 1
                }
                if parsing == 0 && embedding == 0 && writing == 0 && (queue.isEmpty || stopping)
                    && (walkFinished || stopping)
                {
                    group.cancelAll()  // the timer
                    break
                }
                if !ticking && !stopping {
                    ticking = true
                    group.addTask {
                        try? await Task.sleep(for: .milliseconds(250))
                        return .tick
                    }
                }
                guard let work = try await group.next() else { break }
                switch work {
                case .prepared(_, _, _) where stopping:
                    parsing -= 1  // possibly cut short by the cancellation: never stored
                case .prepared(let slot, let bytes, let prepared):
                    parsing -= 1
                    bytesSettled += bytes
                    try await accept(prepared, slot: slot)
                case .embedded(_, _, _) where stopping:
                    embedding -= 1  // cancelled or not, its documents are left for the next run
                case .embedded(let hashes, let tokens, let result):
                    embedding -= 1
                    // A set-up problem fails every batch alike, and so does a server that is down: stop here,
                    // committing the documents already complete, then report it.
                    if let error = stopsRun(result) {
                        stopError = error
                        stopping = true
                        group.cancelAll()
                        continue
                    }
                    receive(result, for: hashes, tokens: tokens)
                case .written:
                    writing -= 1
                case .tick:
                    ticking = false
                }
                observer.progress(progress)
            }
        }
        try await flush()
        // Documents still waiting when a stop was asked for are left for the next run.
        pending.removeAll()
        observer.progress(progress)
        if let stopError { throw stopError }
    }

    private mutating func accept(_ prepared: PreparedFile, slot: Int) async throws {
        switch prepared {
        case .problem(let diagnostic):
            record(diagnostic)
        case .skipped(let file, let diagnostic):
            record(diagnostic)
            lastingSkips.insert(file.path)
            if !configuration.dryRun { skips.append(file) }
        case .sameContent(let file):
            report.unchanged += 1
            if !configuration.dryRun { touched.append((file.path, file.size, file.modificationTimeNanoseconds)) }
        case .document(let document) where configuration.dryRun:
            // Count what would be embedded (each distinct uncached text once), and go no further.
            let cached = try await pipeline.store.cachedVectors(for: document.textHashes)
            for (index, hash) in document.textHashes.enumerated() {
                if !document.chunks[index].isEmbedded {
                    report.chunksWithoutVector += 1
                } else if cached[hash] != nil {
                    report.cacheHits += 1
                } else if waiters[hash] == nil {
                    waiters[hash] = []
                    report.chunksEmbedded += 1
                    report.tokensEmbedded += document.chunks[index].tokenCount
                }
            }
            report.chunks += document.chunks.count
            if document.isUpdate { report.updated += 1 } else { report.added += 1 }
            observer.change(document.isUpdate ? .updated : .added, document.file.path)
        case .document(let document):
            report.bytesRead += document.file.size
            // One line per file, however many problems it has.
            if !document.parsed.warnings.isEmpty {
                report.warnings += document.parsed.warnings.count
                observer.diagnostic(
                    Diagnostic(path: document.file.path, .warning, document.parsed.warnings.joined(separator: "; ")))
            }
            let cached = try await pipeline.store.cachedVectors(for: document.textHashes)
            var entry = PendingDocument(
                prepared: document, vectors: Array(repeating: nil, count: document.chunks.count), missing: 0)
            for (index, hash) in document.textHashes.enumerated() {
                if !document.chunks[index].isEmbedded {
                    // Stored with an empty vector: no vector (see WordlessText).
                    entry.vectors[index] = []
                    report.chunksWithoutVector += 1
                } else if let vector = cached[hash] {
                    entry.vectors[index] = vector
                    report.cacheHits += 1
                } else {
                    entry.missing += 1
                    if waiters[hash] == nil {
                        queue.append((hash, document.embeddedTexts[index], document.chunks[index].tokenCount))
                        chunksToEmbed += 1
                    }
                    waiters[hash, default: []].append((slot, index))
                }
            }
            pending[slot] = entry
            if entry.missing == 0 { complete(slot) }
        }
    }

    /// After this many batches in a row fail with ``EmbeddingError/Code/transport`` (each after all its retries)
    /// the server is down or broken, not one input: the run stops, keeping what is stored.
    static let maxFailedBatchesInARow = 5

    /// The error that stops the run, if this batch's result is one: a set-up problem, or the last of
    /// ``maxFailedBatchesInARow`` transport failures in a row.
    private mutating func stopsRun(_ result: Result<[[Float]], any Error>) -> EmbeddingError? {
        if case .failure(let error as EmbeddingError) = result, error.stopsRun { return error }
        guard case .failure(let error as EmbeddingError) = result, error.code == .transport else {
            failedBatchesInARow = 0  // the server answered
            return nil
        }
        failedBatchesInARow += 1
        guard failedBatchesInARow >= Self.maxFailedBatchesInARow else { return nil }
        var last = error.message
        if last.hasSuffix(".") { last.removeLast() }
        return EmbeddingError(
            .transport,
            "the embedding server failed \(failedBatchesInARow) batches in a row: \(last); check it and run again "
                + "(what was stored is kept)", stopsRun: true)
    }

    private mutating func receive(_ result: Result<[[Float]], any Error>, for hashes: [ContentDigest], tokens: Int) {
        switch result {
        case .success(let vectors):
            report.chunksEmbedded += hashes.count
            report.tokensEmbedded += tokens
            for (hash, vector) in zip(hashes, vectors) {
                for waiter in waiters.removeValue(forKey: hash) ?? [] {
                    guard pending[waiter.slot] != nil else { continue }  // its document already failed
                    pending[waiter.slot]!.vectors[waiter.chunk] = vector
                    pending[waiter.slot]!.missing -= 1
                    if pending[waiter.slot]!.missing == 0 { complete(waiter.slot) }
                }
            }
        case .failure(let error):
            var failedSlots = Set<Int>()
            for hash in hashes {
                for waiter in waiters.removeValue(forKey: hash) ?? [] { failedSlots.insert(waiter.slot) }
            }
            for slot in failedSlots.sorted() {
                guard let document = pending.removeValue(forKey: slot) else { continue }
                record(Diagnostic(path: document.prepared.file.path, .error, "not indexed: embedding failed: \(error)"))
            }
        }
    }

    private mutating func complete(_ slot: Int) {
        guard let entry = pending.removeValue(forKey: slot) else { return }
        let document = entry.prepared
        ready.append(
            IndexedDocument(
                path: document.file.path, size: document.file.size,
                modificationTimeNanoseconds: document.file.modificationTimeNanoseconds,
                contentHash: document.contentHash, format: document.parsed.format, title: document.parsed.title,
                chunks: document.chunks, textHashes: document.textHashes, vectors: entry.vectors.map { $0 ?? [] }))
        readyChunks += document.chunks.count
        if document.isUpdate { report.updated += 1 } else { report.added += 1 }
        report.chunks += document.chunks.count
        observer.change(document.isUpdate ? .updated : .added, document.file.path)
    }

    private mutating func flush() async throws {
        if !ready.isEmpty || !skips.isEmpty {
            try await pipeline.store.write(ready, skipped: skips)
            ready.removeAll(keepingCapacity: true)
            readyChunks = 0
            skips.removeAll(keepingCapacity: true)
        }
        if !touched.isEmpty {
            try await pipeline.store.touch(touched)
            touched.removeAll(keepingCapacity: true)
        }
    }

    /// Removes stored documents under `roots` that are no longer ingestible files under the current rules:
    /// deleted, excluded, hidden, replaced by a folder, a FIFO or a symlink out of the root, or now skipped for a
    /// lasting reason (binary, too large...). Documents under a folder the walk could not read are kept (it may
    /// be a passing problem; it was reported). Remembered skips of files that are gone are forgotten.
    /// Call only after a walk that ran to its end.
    mutating func removeMissing(under roots: [IngestRoot]) async throws {
        // A shard removes only its own files: the others belong to other writers of the same store.
        func isGone(_ path: String) -> Bool {
            roots.contains { $0.contains(path) } && takes(path) && !seen.contains(path)
                && !unreadableFolders.contains { path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }
        }
        let gone = states.keys.filter {
            (isGone($0) || lastingSkips.contains($0)) && !removedFileRoots.contains($0)
        }.sorted()
        // A document that became a lasting skip goes, and the skip just remembered for it stays.
        let forgotten = skipped.keys.filter { isGone($0) && !removedFileRoots.contains($0) }
        if !configuration.dryRun {
            try await pipeline.store.remove(documents: gone, skips: forgotten.sorted(), roots: [])
        }
        for path in gone { observer.change(.removed, path) }
        report.removed += gone.count
    }

    /// True when one of the roots that hold `path` takes it (always, unless a root is a shard of its tree).
    private func takes(_ path: String) -> Bool {
        shardedRoots.isEmpty || shardedRoots.contains { $0.contains(path) && $0.takes(path) }
    }

    /// Removes roots that were single files and no longer exist, with their documents, in one transaction, and
    /// says so: the index no longer walks them.
    mutating func removeFileRoots(_ paths: [String]) async throws {
        if !configuration.dryRun { try await pipeline.store.remove(paths: paths, roots: paths) }
        removedFileRoots.formUnion(paths)
        for path in paths.sorted() {
            if states[path] != nil {
                observer.change(.removed, path)
                report.removed += 1
            }
            if !configuration.dryRun {
                observer.diagnostic(
                    Diagnostic(path: path, .warning, "file no longer exists; removed from the index with its root"))
            }
        }
    }

    /// True when `path` is a folder itself (not a symlink to one).
    private static func isFolder(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    mutating func finish() {
        report.seconds = (clock.now - start).seconds
    }

    private mutating func record(_ diagnostic: Diagnostic) {
        switch diagnostic.severity {
        case .warning: report.skipped += 1
        case .error: report.failed += 1
        }
        observer.diagnostic(diagnostic)
    }

    private var progress: IngestProgress {
        IngestProgress(
            filesFound: filesFound, filesDone: report.files, walkFinished: walkFinished, chunksStored: report.chunks,
            chunksEmbedded: report.chunksEmbedded, bytesRead: report.bytesRead, elapsedSeconds: (clock.now - start).seconds,
            bytesFound: bytesFound, bytesSettled: bytesSettled, chunksToEmbed: chunksToEmbed)
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
