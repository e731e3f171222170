import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// When segments are merged.
extension VectorFile {
    enum Policy {
        /// More dead rows than this share of all rows: every live row is rewritten into one segment.
        static let deadShare = 0.25
        /// More segments than this: the two smallest are merged, until this many are left.
        static let segments = 8
        /// More changed chunks than this share of the live rows (and at least `smallChange`): rewriting the
        /// whole file from SQLite costs little more than the update.
        static let changedShare = 0.5
        static let smallChange = 1024
    }

    /// What an update of the vector file did, for the tests and for `stats`.
    struct UpdateOutcome: Equatable, Sendable {
        enum Kind: Equatable, Sendable {
            /// The file already held the index's current vectors.
            case current
            /// Changed chunks were appended as a segment and their old rows marked dead.
            case updated
            /// The whole file was written anew from SQLite.
            case rebuilt
        }
        var kind: Kind
        /// The last change-log entry the file now reflects (nil for an index without a log).
        var reflects: Int64?
        var appended = 0
        var deleted = 0
        /// Rows copied by merging segments.
        var merged = 0
    }
}

extension IndexFile {
    static let changeLogTriggers = ["vector_changes_after_insert", "vector_changes_after_delete", "vector_changes_after_update"]

    /// The change log: a table, and the triggers that fill it in the transaction that changes the chunks.
    static func changeLogSQL(ifNotExists: Bool) -> String {
        let maybe = ifNotExists ? "IF NOT EXISTS " : ""
        return """
            CREATE TABLE \(maybe)vector_changes (
                seq      INTEGER PRIMARY KEY AUTOINCREMENT,
                chunk_id INTEGER NOT NULL
            );
            CREATE TRIGGER \(maybe)vector_changes_after_insert AFTER INSERT ON chunks BEGIN
                INSERT INTO vector_changes(chunk_id) VALUES (new.id);
            END;
            CREATE TRIGGER \(maybe)vector_changes_after_delete AFTER DELETE ON chunks BEGIN
                INSERT INTO vector_changes(chunk_id) VALUES (old.id);
            END;
            CREATE TRIGGER \(maybe)vector_changes_after_update AFTER UPDATE OF id, vector_id ON chunks BEGIN
                INSERT INTO vector_changes(chunk_id) VALUES (old.id);
                INSERT INTO vector_changes(chunk_id) VALUES (new.id);
            END;
            """
    }

    /// The index's change log: the last sequence number ever given (0 for none), or nil when the index has
    /// no whole log: made by an older embed and not yet opened by a writer, or with a trigger missing (then
    /// changes may have gone unlogged, and only a file written anew can be trusted).
    static func lastChange(_ connection: SQLiteConnection) throws -> Int64? {
        let parts = try connection.prepare(
            "SELECT count(*) FROM sqlite_master WHERE (type = 'table' AND name = 'vector_changes') "
                + "OR (type = 'trigger' AND name IN ('" + changeLogTriggers.joined(separator: "', '") + "'))")
        guard try parts.step(), parts.int(0) == 1 + Int64(changeLogTriggers.count) else { return nil }
        let last = try connection.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'vector_changes'")
        return try last.step() ? last.int(0) : 0
    }

    /// True when every change after `since` up to `last` is still in the log (none was pruned).
    static func changesAreComplete(_ connection: SQLiteConnection, since: Int64, last: Int64) throws -> Bool {
        guard since <= last else { return false }
        let counter = try connection.prepare("SELECT count(*) FROM vector_changes WHERE seq > ?1").bind([.int(since)])
        return try counter.step() && counter.int(0) == last - since
    }

    /// Puts back a change log whose table or triggers are missing (a damaged index). Writers only, right after the
    /// vector file was written anew: no change can have gone unlogged since, as the writer holds the index.
    static func repairChangeLog(_ connection: SQLiteConnection) throws {
        guard try lastChange(connection) == nil, try Migrations.checkKnown(connection).contains("v5-vector-changes")
        else { return }
        try connection.transaction { try connection.execute(changeLogSQL(ifNotExists: true)) }
    }

    /// Whether the index's vector file carries int8 codes (see ``VectorQuantization``).
    static func quantization(_ connection: SQLiteConnection) throws -> VectorQuantization {
        try meta(connection, Key.quantization).flatMap(VectorQuantization.init(rawValue:)) ?? .auto
    }

    static func setQuantization(_ connection: SQLiteConnection, _ quantization: VectorQuantization) throws {
        try setMeta(connection, Key.quantization, quantization.rawValue)
    }

    /// Deletes the change log's entries up to `through`, which the vector file now reflects. Writers only, after
    /// the manifest that reflects them was renamed into place. It changes no chunk, so the generation stays.
    static func pruneChanges(_ connection: SQLiteConnection, through: Int64) throws {
        try connection.transaction {
            try connection.prepare("DELETE FROM vector_changes WHERE seq <= ?1").bind([.int(through)]).run()
        }
    }

    /// Brings `<index>.vectors` up to the index as it is now, read in one snapshot (the caller's transaction
    /// when one is open, else its own): by appending the chunks changed since the manifest was written and
    /// marking their old rows dead, when the manifest and the change log allow it; else by writing it anew.
    /// - Parameter believeFile: false to write it anew whatever it holds (a reader found it damaged).
    @discardableResult
    static func updateVectorFile(
        _ connection: SQLiteConnection, indexPath: String, dimension: Int, believeFile: Bool = true
    ) throws -> VectorFile.UpdateOutcome {
        try inReadTransaction(connection) {
            guard let indexID = try indexID(connection) else {
                throw StoreError(.corrupt, "\(indexPath): the index has no id to bind a vector file to", path: indexPath)
            }
            let generation = try generation(connection)
            let last = try lastChange(connection)
            let path = VectorFile.path(forIndex: indexPath)
            if believeFile, let last,
                case .success(let manifest) = VectorFile.checkedManifest(
                    path, dimension: dimension, generation: nil, indexID: indexID),
                let since = manifest.changeSeq, try changesAreComplete(connection, since: since, last: last),
                let outcome = try appendChanges(
                    connection, to: manifest, path: path, since: since, last: last, generation: generation)
            {
                return outcome
            }
            try buildVectorFile(connection, indexPath: indexPath, dimension: dimension)
            return VectorFile.UpdateOutcome(kind: .rebuilt, reflects: last)
        }
    }

    /// Applies the changes logged after `since` to `manifest`: nil when they are too many, or a segment cannot
    /// be used, so that the caller writes the file anew.
    private static func appendChanges(
        _ connection: SQLiteConnection, to manifest: VectorFile.Manifest, path: String, since: Int64, last: Int64,
        generation: Int64
    ) throws -> VectorFile.UpdateOutcome? {
        var changed: [Int64] = []
        let log = try connection.prepare(
            "SELECT DISTINCT chunk_id FROM vector_changes WHERE seq > ?1 ORDER BY chunk_id").bind([.int(since)])
        let limit = max(VectorFile.Policy.smallChange, Int(Double(manifest.liveRows) * VectorFile.Policy.changedShare))
        while try log.step() {
            changed.append(log.int(0))
            if changed.count > limit { return nil }
        }
        // Codes wanted now and live segments written otherwise (the setting changed, or `auto` crossed its size):
        // write the file anew, all one way.
        let quantization = try quantization(connection)
        let codes = quantization.wantsCodes(rows: manifest.liveRows)
        if manifest.segments.contains(where: { $0.liveRows > 0 && $0.hasCodes != codes }) { return nil }
        if changed.isEmpty && manifest.generation == generation && manifest.changeSeq == last {
            // Segments of an updater killed before its manifest was renamed into place.
            VectorFile.removeSegments(besides: path, keeping: manifest.segments)
            return VectorFile.UpdateOutcome(kind: .current, reflects: last)
        }
        var segments: [VectorFile.OpenSegment] = []
        defer { for segment in segments { close(segment.fd) } }
        for entry in manifest.segments {
            guard case .success(let open) = VectorFile.openSegment(
                entry, manifestPath: path, dimension: manifest.dimension, indexID: manifest.indexID)
            else { return nil }
            segments.append(open)
        }
        var next = manifest
        next.generation = generation
        next.changeSeq = last
        var outcome = VectorFile.UpdateOutcome(kind: .updated, reflects: last)
        // The old rows of changed chunks die: a chunk deleted, or changed and appended again below.
        if !changed.isEmpty {
            let changedSet = Set(changed)
            for (s, segment) in segments.enumerated() {
                let found = VectorFile.forEachID(of: segment) { row, id in
                    if changedSet.contains(id) && !next.segments[s].isDead(row) {
                        next.segments[s].markDead(row)
                        outcome.deleted += 1
                    }
                }
                guard found else { return nil }
            }
        }
        var written: [VectorFile.SegmentEntry] = []
        do {
            let selection = """
                FROM chunks c JOIN vectors v ON v.id = c.vector_id
                WHERE length(v.embedding) > 0 AND c.id IN (SELECT chunk_id FROM vector_changes WHERE seq > ?1)
                """
            let counter = try connection.prepare("SELECT count(*) " + selection).bind([.int(since)])
            let count = try counter.step() ? Int(counter.int(0)) : 0
            if count > 0 {
                let rows = try connection.prepare(
                    "SELECT c.id, c.document_id, v.embedding " + selection + " ORDER BY c.id").bind([.int(since)])
                let entry = try VectorFile.writeSegment(
                    manifestPath: path, dimension: manifest.dimension, count: count, indexID: manifest.indexID,
                    codes: codes
                ) { emit in
                    while try rows.step() {
                        try rows.withBlob(2) { try emit(rows.int(0), rows.int(1), $0) }
                    }
                }
                written.append(entry)
                next.segments.append(entry)
                outcome.appended = count
            }
            next.segments.removeAll { $0.liveRows == 0 }
            try VectorFile.merge(
                &next, open: segments, manifestPath: path, codes: codes, written: &written, outcome: &outcome)
            try VectorFile.writeManifest(next, to: path)
        } catch {
            for entry in written { unlink(VectorFile.segmentPath(path, serial: entry.serial)) }
            throw error
        }
        VectorFile.removeSegments(besides: path, keeping: next.segments)
        return outcome
    }
}

extension VectorFile {
    /// Merges segments as `Policy` says: all of them into one when too many rows are dead, else the two smallest
    /// while there are too many. `open` are the segments of the manifest before the update (a segment written by
    /// this update is opened here when a merge needs it).
    static func merge(
        _ manifest: inout Manifest, open: [OpenSegment], manifestPath: String, codes: Bool,
        written: inout [SegmentEntry], outcome: inout UpdateOutcome
    ) throws {
        let rows = manifest.rows
        let everything = rows > 0 && Double(rows - manifest.liveRows) > Double(rows) * Policy.deadShare
        while everything ? manifest.segments.count > 1 || manifest.rows > manifest.liveRows
            : manifest.segments.count > Policy.segments
        {
            let chosen: [SegmentEntry] = everything
                ? manifest.segments
                : Array(manifest.segments.sorted { $0.liveRows < $1.liveRows }.prefix(2))
            var segments: [OpenSegment] = []
            defer { for segment in segments where !open.contains(where: { $0.fd == segment.fd }) { close(segment.fd) } }
            for entry in chosen {
                if let known = open.first(where: { $0.entry.serial == entry.serial }) {
                    segments.append(OpenSegment(fd: known.fd, entry: entry, layout: known.layout, checksums: known.checksums))
                    continue
                }
                switch openSegment(entry, manifestPath: manifestPath, dimension: manifest.dimension, indexID: manifest.indexID) {
                case .success(let opened): segments.append(opened)
                case .failure(let problem): throw StoreError(.corrupt, "\(manifestPath) \(problem.message)")
                }
            }
            let merged = try mergeSegments(
                segments, manifestPath: manifestPath, dimension: manifest.dimension, indexID: manifest.indexID,
                codes: codes)
            written.append(merged)
            outcome.merged += merged.rows
            let gone = Set(chosen.map(\.serial))
            // The merged segment takes the place of the first one it replaces, so the order stays stable.
            let at = manifest.segments.firstIndex { gone.contains($0.serial) }!
            manifest.segments.removeAll { gone.contains($0.serial) }
            manifest.segments.insert(merged, at: min(at, manifest.segments.count))
            if everything { break }
        }
    }

    /// Writes one segment of the live rows of `segments`, in chunk-id order, each read once, in order, block by
    /// block, every block checked.
    static func mergeSegments(
        _ segments: [OpenSegment], manifestPath: String, dimension: Int, indexID: [UInt8], codes: Bool
    ) throws -> SegmentEntry {
        var heads: [(ids: [Int64], documents: [Int64])] = []
        for segment in segments {
            guard let read = readIdentifiers(segment) else {
                throw StoreError(.corrupt, "\(manifestPath): a segment's ids fail their checksums")
            }
            heads.append(read)
        }
        let count = segments.reduce(0) { $0 + $1.entry.liveRows }
        var readers = segments.map { RowReader(segment: $0) }
        defer { for reader in readers { reader.buffer.deallocate() } }
        let row = UnsafeMutableRawBufferPointer.allocate(byteCount: dimension * 4, alignment: 64)
        defer { row.deallocate() }
        return try writeSegment(
            manifestPath: manifestPath, dimension: dimension, count: count, indexID: indexID, codes: codes
        ) { emit in
            try forEachLiveRowInIDOrder(segments, ids: heads.map(\.ids)) { s, r in
                guard readers[s].read(row: r, into: row) else {
                    throw StoreError(.corrupt, "\(manifestPath): a segment's rows fail their checksums")
                }
                try emit(heads[s].ids[r], heads[s].documents[r], UnsafeRawBufferPointer(row))
            }
        }
    }

    /// Reads a segment's rows in increasing order, one 1 MiB block at a time, each block checked once.
    struct RowReader {
        let segment: OpenSegment
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: VectorFile.blockSize, alignment: 64)
        var loaded = -1

        init(segment: OpenSegment) { self.segment = segment }

        mutating func read(row: Int, into destination: UnsafeMutableRawBufferPointer) -> Bool {
            let rowBytes = destination.count
            var offset = row * rowBytes
            let end = offset + rowBytes
            while offset < end {
                let block = offset / VectorFile.blockSize
                if block != loaded {
                    guard VectorFile.readCheckedBlocks(segment, block...block, into: buffer) != nil else { return false }
                    loaded = block
                }
                let blockEnd = min(end, (block + 1) * VectorFile.blockSize)
                let from = offset - block * VectorFile.blockSize
                (destination.baseAddress! + (offset - row * rowBytes)).copyMemory(
                    from: buffer.baseAddress! + from, byteCount: blockEnd - offset)
                offset = blockEnd
            }
            return true
        }
    }
}
