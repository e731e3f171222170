import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// The manifest: which segments make up the vector file, and which of their rows are dead.
//
// Layout (little-endian): a 64-byte header, one 32-byte entry per segment, each segment's dead-row bitmap
// (one bit per row, in 64-bit words), then a CRC-32C of everything before it. Header: `EMBEDMAN`, version
// (u32), dimension (u32), generation (i64), change-log position (i64, -1 for none), segment count (u32),
// reserved (u32), index id (16 bytes), reserved (8 bytes). Entry: serial (u64), row count (i64), the segment's
// block-table checksum (u32), its largest row norm (f32), flags (u32: 1 = int8 codes), reserved (4 bytes).
extension VectorFile {
    static let manifestMagic: [UInt8] = Array("EMBEDMAN".utf8)
    static let manifestVersion: UInt32 = 3
    static let manifestHeaderSize = 64
    static let segmentEntrySize = 32
    /// More segments than any merge policy leaves: a manifest naming more is not ours.
    static let maxSegments = 4096

    /// One segment as the manifest names it.
    package struct SegmentEntry: Equatable, Sendable {
        package var serial: UInt64
        package var rows: Int
        /// The checksum of the segment's block checksums: binds the entry to that exact file.
        package var tableChecksum: UInt32
        package var maxRowNorm: Float
        /// Whether the segment holds its rows as int8 codes too.
        package var hasCodes: Bool
        /// One bit per row, set when the row's chunk was deleted or changed after the segment was written.
        package var dead: [UInt64]

        init(
            serial: UInt64, rows: Int, tableChecksum: UInt32, maxRowNorm: Float, hasCodes: Bool = false,
            dead: [UInt64]? = nil
        ) {
            self.serial = serial
            self.rows = rows
            self.tableChecksum = tableChecksum
            self.maxRowNorm = maxRowNorm
            self.hasCodes = hasCodes
            self.dead = dead ?? [UInt64](repeating: 0, count: (rows + 63) / 64)
        }

        package var deadRows: Int { dead.reduce(0) { $0 + $1.nonzeroBitCount } }
        package var liveRows: Int { rows - deadRows }

        package func isDead(_ row: Int) -> Bool { dead[row >> 6] & (1 << UInt64(row & 63)) != 0 }
        mutating func markDead(_ row: Int) { dead[row >> 6] |= 1 << UInt64(row & 63) }
    }

    /// Which segments hold the index's vectors at one generation.
    package struct Manifest: Equatable, Sendable {
        package var dimension: Int
        package var generation: Int64
        /// The last entry of the index's change log (`vector_changes`) the segments reflect; nil for an index
        /// without a log, whose vector file is only ever rewritten whole.
        package var changeSeq: Int64?
        package var indexID: [UInt8]
        package var segments: [SegmentEntry]

        var rows: Int { segments.reduce(0) { $0 + $1.rows } }
        var liveRows: Int { segments.reduce(0) { $0 + $1.liveRows } }
        /// A bound on every live row's norm.
        var maxRowNorm: Float { segments.filter { $0.liveRows > 0 }.map(\.maxRowNorm).max() ?? 0 }
    }

    package static func encodeManifest(_ manifest: Manifest) -> [UInt8] {
        let words = manifest.segments.reduce(0) { $0 + $1.dead.count }
        var raw = [UInt8](
            repeating: 0, count: manifestHeaderSize + segmentEntrySize * manifest.segments.count + 8 * words + 4)
        raw.withUnsafeMutableBytes { raw in
            manifestMagic.withUnsafeBytes { raw.copyMemory(from: $0) }
            raw.storeBytes(of: manifestVersion, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: UInt32(manifest.dimension), toByteOffset: 12, as: UInt32.self)
            raw.storeBytes(of: manifest.generation, toByteOffset: 16, as: Int64.self)
            raw.storeBytes(of: manifest.changeSeq ?? -1, toByteOffset: 24, as: Int64.self)
            raw.storeBytes(of: UInt32(manifest.segments.count), toByteOffset: 32, as: UInt32.self)
            manifest.indexID.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: raw[40..<56]).copyMemory(from: $0)
            }
            var offset = manifestHeaderSize
            for segment in manifest.segments {
                raw.storeBytes(of: segment.serial, toByteOffset: offset, as: UInt64.self)
                raw.storeBytes(of: Int64(segment.rows), toByteOffset: offset + 8, as: Int64.self)
                raw.storeBytes(of: segment.tableChecksum, toByteOffset: offset + 16, as: UInt32.self)
                raw.storeBytes(of: segment.maxRowNorm, toByteOffset: offset + 20, as: Float.self)
                raw.storeBytes(of: UInt32(segment.hasCodes ? 1 : 0), toByteOffset: offset + 24, as: UInt32.self)
                offset += segmentEntrySize
            }
            for segment in manifest.segments {
                for word in segment.dead {
                    raw.storeBytes(of: word, toByteOffset: offset, as: UInt64.self)
                    offset += 8
                }
            }
            raw.storeBytes(
                of: crc32c(UnsafeRawBufferPointer(rebasing: raw[0..<offset])), toByteOffset: offset, as: UInt32.self)
        }
        return raw
    }

    /// The manifest in `raw`, or nil when it is not a whole, undamaged manifest of this version.
    package static func decodeManifest(_ raw: [UInt8]) -> Manifest? {
        guard raw.count >= manifestHeaderSize + 4, Array(raw[0..<8]) == manifestMagic else { return nil }
        return raw.withUnsafeBytes { raw -> Manifest? in
            let end = raw.count - 4
            guard raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self) == manifestVersion,
                raw.loadUnaligned(fromByteOffset: end, as: UInt32.self)
                    == crc32c(UnsafeRawBufferPointer(rebasing: raw[0..<end]))
            else { return nil }
            let count = Int(raw.loadUnaligned(fromByteOffset: 32, as: UInt32.self))
            guard count <= maxSegments, manifestHeaderSize + segmentEntrySize * count <= end else { return nil }
            let changeSeq = raw.loadUnaligned(fromByteOffset: 24, as: Int64.self)
            var manifest = Manifest(
                dimension: Int(raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self)),
                generation: raw.loadUnaligned(fromByteOffset: 16, as: Int64.self),
                changeSeq: changeSeq < 0 ? nil : changeSeq, indexID: Array(raw[40..<56]), segments: [])
            // Every entry and the bitmaps' total size checked against the bytes there are before any bitmap is
            // made: a damaged or hostile row count must not size an allocation.
            var offset = manifestHeaderSize
            var words = 0
            for i in 0..<count {
                let rows = raw.loadUnaligned(fromByteOffset: offset + segmentEntrySize * i + 8, as: Int64.self)
                let flags = raw.loadUnaligned(fromByteOffset: offset + segmentEntrySize * i + 24, as: UInt32.self)
                guard rows > 0, rows <= Int64(Int32.max) * 64, flags & ~1 == 0 else { return nil }
                words += (Int(rows) + 63) / 64
                guard offset + segmentEntrySize * count + 8 * words <= end else { return nil }
            }
            guard offset + segmentEntrySize * count + 8 * words == end else { return nil }
            for _ in 0..<count {
                let rows = Int(raw.loadUnaligned(fromByteOffset: offset + 8, as: Int64.self))
                manifest.segments.append(
                    SegmentEntry(
                        serial: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self), rows: rows,
                        tableChecksum: raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt32.self),
                        maxRowNorm: raw.loadUnaligned(fromByteOffset: offset + 20, as: Float.self),
                        hasCodes: raw.loadUnaligned(fromByteOffset: offset + 24, as: UInt32.self) & 1 != 0))
                offset += segmentEntrySize
            }
            guard Set(manifest.segments.map(\.serial)).count == count else { return nil }
            for s in manifest.segments.indices {
                for w in manifest.segments[s].dead.indices {
                    manifest.segments[s].dead[w] = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                    offset += 8
                }
                // Bits past the last row are never set by us.
                let rows = manifest.segments[s].rows
                if rows % 64 != 0, manifest.segments[s].dead.last! >> UInt64(rows % 64) != 0 { return nil }
                guard manifest.segments[s].maxRowNorm.isFinite, manifest.segments[s].maxRowNorm >= 0 else { return nil }
            }
            return manifest
        }
    }

    /// The manifest at `path`: read whole (it is small: one bit per row) and checked.
    enum ManifestRead {
        case found(Manifest)
        case missing
        case unusable(String)
    }

    /// Upper bound on a manifest's size: 256 MiB, a bitmap of two billion rows. A larger file is not read into
    /// memory to find out that it is not ours.
    static let maxManifestBytes = 256 << 20

    static func readManifest(_ path: String) -> ManifestRead {
        let fd: Int32
        switch openRegularFile(path) {
        case .success(let descriptor): fd = descriptor
        case .failure(let box):
            if case .missing = box.verdict { return .missing }
            if case .unusable(let why) = box.verdict { return .unusable(why) }
            return .unusable("cannot be opened")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size >= manifestHeaderSize + 4, Int(info.st_size) <= maxManifestBytes else {
            return .unusable("has no valid header (damaged, cut short or not a vector file)")
        }
        var raw = [UInt8](repeating: 0, count: Int(info.st_size))
        guard raw.withUnsafeMutableBytes({ readFully(fd, $0, at: 0) }) else { return .unusable("cannot be read") }
        // Not at the end of the file: it grew after fstat, so it is not one whole manifest.
        var extra: UInt8 = 0
        guard pread(fd, &extra, 1, off_t(raw.count)) == 0 else { return .unusable("changed while it was read") }
        guard let manifest = decodeManifest(raw) else {
            return .unusable("has no valid header (damaged, cut short or not a vector file)")
        }
        return .found(manifest)
    }

    /// Writes `manifest` under a temporary name and renames it to `path`: the commit point of every change.
    static func writeManifest(_ manifest: Manifest, to path: String) throws {
        let raw = encodeManifest(manifest)
        try writeReplacing(path, temporaryBeside: path) { fd, temporary in
            try raw.withUnsafeBytes { try writeFully(fd, $0, at: 0, path: temporary) }
            Failpoint.reach("manifest-unrenamed")
        }
        Failpoint.reach("manifest-renamed")
    }
}
