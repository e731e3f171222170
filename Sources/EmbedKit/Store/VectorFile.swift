import CEmbedCRC32C

/// A copy of an index's vectors, kept beside it, that a query reads in one go and a writer updates by what
/// changed.
///
/// SQLite stays the source of truth; these files are derived from it so that a query can start scanning at once
/// instead of reading a million BLOBs one row at a time. They are made of:
/// - a *manifest*, `<index>.vectors`: which segments hold the vectors, which of their rows are dead (their chunk
///   was deleted or changed since), the index's random *id* (so another index's files are refused) and
///   *generation* (a counter every write transaction increments, so a stale manifest is refused), and the last
///   entry of the index's change log the segments reflect. It is replaced by a rename: that is the commit point.
/// - *segments*, `<index>.vectors.seg-<serial>`: immutable files of rows in chunk-id order, each bound to the
///   manifest by its serial, row count and checksums. A change appends one segment of the changed chunks and
///   marks their old rows dead; segments are merged when there are too many, and rewritten whole when too many
///   rows are dead (see `VectorFile.Policy`).
///
/// Nothing is believed unless it is provably this index's current vectors: every 1 MiB block of a segment has a
/// CRC-32C, checked while it is read, and the manifest has its own. A file that fails any check is ignored: the
/// query reads SQLite, and rewrites the files when no writer holds the index.
///
/// Files are read with `pread` into memory, never mapped: a mapped file that someone truncates makes the
/// reader fault (SIGBUS), and a file read into memory cannot change under the scan.
///
/// Segment layout (little-endian): a 128-byte header, then the data (see `Layout`), then one CRC-32C per 1 MiB
/// block of the data. Header: `EMBEDSEG`, version (u32), dimension (u32), row count (i64), serial (u64),
/// largest row norm (f32), block size (u32), index id (16 bytes), CRC-32C of the block checksums (u32), flags
/// (u32: 1 = int8 codes), reserved, CRC-32C of the 124 bytes before it (u32). The manifest's layout is in
/// VectorFile+Manifest.swift.
package enum VectorFile {
    static let magic: [UInt8] = Array("EMBEDSEG".utf8)
    static let version: UInt32 = 3
    package static let headerSize = 128
    static let blockSize = 1 << 20
    static let indexIDSize = 16

    /// The manifest's path.
    static func path(forIndex indexPath: String) -> String { IndexCompanions.vectorsPath(indexPath) }

    /// The path of the segment numbered `serial` of the manifest at `manifestPath`.
    static func segmentPath(_ manifestPath: String, serial: UInt64) -> String {
        let hex = String(serial, radix: 16)
        return manifestPath + IndexCompanions.segmentMarker + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// A segment's header.
    package struct Header: Equatable {
        package var dimension: Int
        package var count: Int
        /// The segment's number, also in its name.
        package var serial: UInt64
        package var maxRowNorm: Float
        package var indexID: [UInt8]
        package var tableChecksum: UInt32
        /// Whether the segment also holds its rows as int8 codes (see `Layout`).
        package var hasCodes = false
    }

    /// Where the parts of a segment with `count` rows of `dimension` floats go; nil when the sizes overflow.
    ///
    /// The data: the rows as float32, row-major, padded to 64 bytes; the chunk id of each row (int64); the
    /// document id of each row (int64); a 24-byte record per row (its chunk id, document id, and the CRC-32C of
    /// its floats and both ids, then 4 zero bytes), so that a row re-scored on its own takes two reads and is
    /// checked; and, when the segment has codes, each row as int8 codes (row-major, padded to 64 bytes) and the
    /// per-dimension scales (float32) that turn a code back into a value: xᵢ ≈ codeᵢ · scaleᵢ, |error| ≤ scaleᵢ/2.
    /// The first `matrixBytes` are laid out as a ``VectorMatrix``'s memory.
    struct Layout {
        let count: Int
        let dimension: Int
        let hasCodes: Bool
        /// Bytes of the rows, padded so that the ids after them are aligned.
        let valuesBytes: Int
        var idsOffset: Int { valuesBytes }
        var documentsOffset: Int { valuesBytes + 8 * count }
        /// Rows, chunk ids and document ids: the part laid out as a matrix.
        var matrixBytes: Int { valuesBytes + 16 * count }
        var rowRecordsOffset: Int { matrixBytes }
        static let rowRecordSize = 24
        let codesOffset: Int
        let scalesOffset: Int
        let dataBytes: Int
        let blocks: Int
        var fileSize: Int { headerSize + dataBytes + 4 * blocks }

        init?(count: Int, dimension: Int, hasCodes: Bool = false) {
            guard count >= 0, dimension > 0, count <= Int(Int32.max) * 64, dimension <= 1 << 20 else { return nil }
            let (raw, overflow) = count.multipliedReportingOverflow(by: dimension * 4)
            guard !overflow, raw <= Int.max / 8 else { return nil }
            self.count = count
            self.dimension = dimension
            self.hasCodes = hasCodes
            valuesBytes = (raw + 63) / 64 * 64
            let checksumsEnd = valuesBytes + (16 + Self.rowRecordSize) * count
            if hasCodes {
                codesOffset = (checksumsEnd + 63) / 64 * 64
                scalesOffset = codesOffset + (count * dimension + 63) / 64 * 64
                dataBytes = scalesOffset + 4 * dimension
            } else {
                codesOffset = checksumsEnd
                scalesOffset = checksumsEnd
                dataBytes = checksumsEnd
            }
            blocks = (dataBytes + blockSize - 1) / blockSize
        }
    }

    package static func decodeHeader(_ raw: [UInt8]) -> Header? {
        guard raw.count >= headerSize, Array(raw[0..<8]) == magic else { return nil }
        return raw.withUnsafeBytes { raw -> Header? in
            guard raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self) == version,
                raw.loadUnaligned(fromByteOffset: headerSize - 4, as: UInt32.self)
                    == crc32c(UnsafeRawBufferPointer(rebasing: raw[0..<(headerSize - 4)])),
                raw.loadUnaligned(fromByteOffset: 36, as: UInt32.self) == UInt32(blockSize)
            else { return nil }
            let count = raw.loadUnaligned(fromByteOffset: 16, as: Int64.self)
            let flags = raw.loadUnaligned(fromByteOffset: 64, as: UInt32.self)
            guard count >= 0, count <= Int64(Int32.max) * 64, flags & ~1 == 0 else { return nil }
            return Header(
                dimension: Int(raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self)), count: Int(count),
                serial: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self),
                maxRowNorm: raw.loadUnaligned(fromByteOffset: 32, as: Float.self),
                indexID: Array(raw[40..<56]), tableChecksum: raw.loadUnaligned(fromByteOffset: 56, as: UInt32.self),
                hasCodes: flags & 1 != 0)
        }
    }

    package static func encodeHeader(_ header: Header) -> [UInt8] {
        var raw = [UInt8](repeating: 0, count: headerSize)
        raw.withUnsafeMutableBytes { raw in
            magic.withUnsafeBytes { raw.copyMemory(from: $0) }
            raw.storeBytes(of: version.littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: UInt32(header.dimension), toByteOffset: 12, as: UInt32.self)
            raw.storeBytes(of: Int64(header.count), toByteOffset: 16, as: Int64.self)
            raw.storeBytes(of: header.serial, toByteOffset: 24, as: UInt64.self)
            raw.storeBytes(of: header.maxRowNorm, toByteOffset: 32, as: Float.self)
            raw.storeBytes(of: UInt32(blockSize), toByteOffset: 36, as: UInt32.self)
            header.indexID.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: raw[40..<56]).copyMemory(from: $0)
            }
            raw.storeBytes(of: header.tableChecksum, toByteOffset: 56, as: UInt32.self)
            raw.storeBytes(of: UInt32(header.hasCodes ? 1 : 0), toByteOffset: 64, as: UInt32.self)
            raw.storeBytes(
                of: crc32c(UnsafeRawBufferPointer(rebasing: raw[0..<(headerSize - 4)])), toByteOffset: headerSize - 4,
                as: UInt32.self)
        }
        return raw
    }

    /// The checksum of one row as a segment stores it: its floats, then its chunk id and document id, so that a
    /// row read on its own (to re-score a candidate) is checked with what names it.
    static func rowChecksum(_ vector: UnsafeRawBufferPointer, id: Int64, document: Int64) -> UInt32 {
        var tail = (id.littleEndian, document.littleEndian)
        return withUnsafeBytes(of: &tail) { embed_crc32c(crc32c(vector), $0.baseAddress, 16) }
    }

    static func crc32c(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        embed_crc32c(0, bytes.baseAddress, bytes.count)
    }
}
