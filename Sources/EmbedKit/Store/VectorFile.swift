import CEmbedCRC32C
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A copy of an index's vectors, kept beside it as `<index>.vectors`, that a query reads in one go.
///
/// SQLite stays the source of truth; this file is derived from it so that a query can start scanning at once
/// instead of reading a million BLOBs one row at a time. Nothing in it is believed unless it is provably this
/// index's current vectors: its header records the index's random *id* (so another index's file is refused)
/// and *generation* (a counter every write transaction increments, so a stale file is refused), and every
/// 1 MiB block of it has a CRC-32C, checked while the file is read. A file that fails any check is ignored:
/// the query reads SQLite, and rewrites the file when no writer holds the index.
///
/// The file is read with `pread` into memory, never mapped: a mapped file that someone truncates makes the
/// reader fault (SIGBUS), and a file read into memory cannot change under the scan.
///
/// Layout (little-endian): a 64-byte header, then the data (the rows as float32, row-major, padded to 64
/// bytes; the chunk id of each row as int64; the document id of each row as int64), then one CRC-32C per
/// 1 MiB block of the data. Header: `EMBEDVEC`, version (u32), dimension (u32), row count (i64), generation
/// (i64), largest row norm (f32), block size (u32), index id (16 bytes), CRC-32C of the block checksums (u32),
/// CRC-32C of the 60 bytes before it (u32).
enum VectorFile {
    static let magic: [UInt8] = Array("EMBEDVEC".utf8)
    static let version: UInt32 = 2
    static let headerSize = 64
    static let blockSize = 1 << 20
    static let indexIDSize = 16

    static func path(forIndex indexPath: String) -> String { indexPath + ".vectors" }

    struct Header: Equatable {
        var dimension: Int
        var count: Int
        var generation: Int64
        var maxRowNorm: Float
        var indexID: [UInt8]
        var tableChecksum: UInt32
    }

    /// Where the parts of a file with `count` rows of `dimension` floats go; nil when the sizes overflow.
    struct Layout {
        let count: Int
        let dimension: Int
        /// Bytes of the rows, padded so that the ids after them are aligned.
        let valuesBytes: Int
        /// Rows, chunk ids and document ids.
        let dataBytes: Int
        let blocks: Int
        var fileSize: Int { headerSize + dataBytes + 4 * blocks }

        init?(count: Int, dimension: Int) {
            guard count >= 0, dimension > 0, count <= Int(Int32.max) * 64, dimension <= 1 << 20 else { return nil }
            let (raw, overflow) = count.multipliedReportingOverflow(by: dimension * 4)
            guard !overflow, raw <= Int.max / 4 else { return nil }
            self.count = count
            self.dimension = dimension
            valuesBytes = (raw + 63) / 64 * 64
            dataBytes = valuesBytes + 16 * count
            blocks = (dataBytes + blockSize - 1) / blockSize
        }
    }

    /// What a reader found at the vector file's path.
    enum Verdict {
        /// The index's current vectors, every checksum verified.
        case current(VectorMatrix)
        case missing
        /// A whole file of this index, from an older generation.
        case stale(String)
        /// Anything else: damaged, cut short, another index's, another version's, not a regular file.
        case unusable(String)
    }

    /// Reads the file into memory when it is a regular file holding exactly this index's (`indexID`) vectors
    /// of `generation` and `dimension`, with every checksum right.
    static func load(path: String, dimension: Int, generation: Int64, indexID: [UInt8]) -> Verdict {
        let fd: Int32
        switch openRegularFile(path) {
        case .success(let descriptor): fd = descriptor
        case .failure(let box): return box.verdict
        }
        defer { close(fd) }
        let header: Header
        let layout: Layout
        switch inspect(fd, dimension: dimension, generation: generation, indexID: indexID) {
        case .success(let found): (header, layout) = found
        case .failure(let box): return box.verdict
        }
        guard let table = readTable(fd, layout: layout, checksum: header.tableChecksum) else {
            return .unusable("its block checksums are damaged")
        }
        let data = UnsafeMutableRawPointer.allocate(byteCount: max(layout.dataBytes, 64), alignment: 64)
        guard let damaged = readBlocks(fd, into: data, layout: layout, checksums: table) else {
            data.deallocate()
            return .unusable("cannot be read")
        }
        if let damaged {
            data.deallocate()
            return .unusable("block \(damaged) fails its checksum")
        }
        let count = layout.count
        let ids = UnsafeBufferPointer(
            start: (data + layout.valuesBytes).assumingMemoryBound(to: Int64.self), count: count)
        let documents = UnsafeBufferPointer(
            start: (data + layout.valuesBytes + 8 * count).assumingMemoryBound(to: Int64.self), count: count)
        let values = UnsafeBufferPointer(start: data.assumingMemoryBound(to: Float.self), count: count * dimension)
        // Rows are written in chunk-id order: anything else was not written by us.
        guard header.maxRowNorm.isFinite, header.maxRowNorm >= 0, zip(ids, ids.dropFirst()).allSatisfy({ $0 < $1 })
        else {
            data.deallocate()
            return .unusable("its contents are inconsistent")
        }
        let storage = VectorMatrix.Storage(ids: ids, documentIDs: documents, values: values) { data.deallocate() }
        return .current(
            VectorMatrix(
                dimension: dimension, count: count, maxRowNorm: header.maxRowNorm, storage: storage,
                isFromVectorFile: true))
    }

    /// True when the file's header says it holds this index's vectors of `generation` (its blocks unchecked):
    /// the writer's cheap test of whether to rewrite it.
    static func isCurrent(path: String, dimension: Int, generation: Int64, indexID: [UInt8]) -> Bool {
        guard case .success(let fd) = openRegularFile(path) else { return false }
        defer { close(fd) }
        guard case .success = inspect(fd, dimension: dimension, generation: generation, indexID: indexID) else {
            return false
        }
        return true
    }

    /// Opens a regular file without following a link and without blocking (a FIFO would block `open`).
    private static func openRegularFile(_ path: String) -> Result<Int32, VerdictBox> {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            if error == ENOENT { return .failure(VerdictBox(.missing)) }
            if error == ELOOP { return .failure(VerdictBox(.unusable("is a symbolic link"))) }
            return .failure(VerdictBox(.unusable("cannot be opened (\(String(cString: strerror(error))))")))
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return .failure(VerdictBox(.unusable("is not a regular file")))
        }
        return .success(fd)
    }

    /// Reads and checks the header and the file's size.
    private static func inspect(
        _ fd: Int32, dimension: Int, generation: Int64, indexID: [UInt8]
    ) -> Result<(Header, Layout), VerdictBox> {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(VerdictBox(.unusable("cannot be read"))) }
        var bytes = [UInt8](repeating: 0, count: headerSize)
        let read = bytes.withUnsafeMutableBytes { readFully(fd, $0, at: 0) }
        guard read, let header = decodeHeader(bytes) else {
            return .failure(VerdictBox(.unusable("has no valid header (damaged, cut short or not a vector file)")))
        }
        guard header.indexID == indexID else { return .failure(VerdictBox(.unusable("belongs to another index"))) }
        guard header.dimension == dimension, let layout = Layout(count: header.count, dimension: dimension) else {
            return .failure(VerdictBox(.unusable("has vectors of \(header.dimension) dimensions, not \(dimension)")))
        }
        guard Int(info.st_size) == layout.fileSize else {
            return .failure(VerdictBox(.unusable("has \(info.st_size) bytes instead of \(layout.fileSize) (cut short or damaged)")))
        }
        guard header.generation == generation else {
            return .failure(VerdictBox(.stale("is stale (made at generation \(header.generation), the index is at \(generation))")))
        }
        return .success((header, layout))
    }

    /// A verdict wrapped as an error, so the helpers above can return `Result`.
    private struct VerdictBox: Error {
        let verdict: Verdict
        init(_ verdict: Verdict) { self.verdict = verdict }
    }

    static func decodeHeader(_ raw: [UInt8]) -> Header? {
        guard raw.count >= headerSize, Array(raw[0..<8]) == magic else { return nil }
        return raw.withUnsafeBytes { raw -> Header? in
            guard raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self) == version,
                raw.loadUnaligned(fromByteOffset: 60, as: UInt32.self)
                    == crc32c(UnsafeRawBufferPointer(rebasing: raw[0..<60])),
                raw.loadUnaligned(fromByteOffset: 36, as: UInt32.self) == UInt32(blockSize)
            else { return nil }
            let count = raw.loadUnaligned(fromByteOffset: 16, as: Int64.self)
            guard count >= 0, count <= Int64(Int32.max) * 64 else { return nil }
            return Header(
                dimension: Int(raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self)), count: Int(count),
                generation: raw.loadUnaligned(fromByteOffset: 24, as: Int64.self),
                maxRowNorm: raw.loadUnaligned(fromByteOffset: 32, as: Float.self),
                indexID: Array(raw[40..<56]), tableChecksum: raw.loadUnaligned(fromByteOffset: 56, as: UInt32.self))
        }
    }

    static func encodeHeader(_ header: Header) -> [UInt8] {
        var raw = [UInt8](repeating: 0, count: headerSize)
        raw.withUnsafeMutableBytes { raw in
            magic.withUnsafeBytes { raw.copyMemory(from: $0) }
            raw.storeBytes(of: version.littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: UInt32(header.dimension), toByteOffset: 12, as: UInt32.self)
            raw.storeBytes(of: Int64(header.count), toByteOffset: 16, as: Int64.self)
            raw.storeBytes(of: header.generation, toByteOffset: 24, as: Int64.self)
            raw.storeBytes(of: header.maxRowNorm, toByteOffset: 32, as: Float.self)
            raw.storeBytes(of: UInt32(blockSize), toByteOffset: 36, as: UInt32.self)
            header.indexID.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: raw[40..<56]).copyMemory(from: $0)
            }
            raw.storeBytes(of: header.tableChecksum, toByteOffset: 56, as: UInt32.self)
            raw.storeBytes(
                of: crc32c(UnsafeRawBufferPointer(rebasing: raw[0..<60])), toByteOffset: 60, as: UInt32.self)
        }
        return raw
    }

    /// The block checksums, when their own checksum (in the header) is right.
    private static func readTable(_ fd: Int32, layout: Layout, checksum: UInt32) -> [UInt32]? {
        var table = [UInt32](repeating: 0, count: layout.blocks)
        let ok = table.withUnsafeMutableBytes { bytes in
            readFully(fd, bytes, at: headerSize + layout.dataBytes) && crc32c(UnsafeRawBufferPointer(bytes)) == checksum
        }
        return ok ? table : nil
    }

    /// Reads the data block by block into `data`, checking each block's checksum while it is still in the cache;
    /// the blocks are split between the cores. Returns nil when a read fails, else the first damaged block, if any.
    private static func readBlocks(
        _ fd: Int32, into data: UnsafeMutableRawPointer, layout: Layout, checksums: [UInt32]
    ) -> Int?? {
        guard layout.blocks > 0 else { return .some(nil) }
        let parts = max(1, min(ProcessInfoCores.active, layout.blocks))
        let perPart = (layout.blocks + parts - 1) / parts
        // One slot per part, written only by that part: -2 all good, -1 read failed, else the damaged block.
        let outcomes = UnsafeMutableBufferPointer<Int>.allocate(capacity: parts)
        outcomes.initialize(repeating: -2)
        defer { outcomes.deallocate() }
        let job = BlockReads(
            destination: UnsafeMutableRawBufferPointer(start: data, count: layout.dataBytes), outcomes: outcomes)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            for block in (part * perPart)..<min(layout.blocks, (part + 1) * perPart) {
                let start = block * blockSize
                let bytes = UnsafeMutableRawBufferPointer(
                    rebasing: job.destination[start..<min(layout.dataBytes, start + blockSize)])
                guard readFully(fd, bytes, at: headerSize + start) else {
                    job.outcomes[part] = -1
                    return
                }
                guard crc32c(UnsafeRawBufferPointer(bytes)) == checksums[block] else {
                    job.outcomes[part] = block
                    return
                }
            }
        }
        if outcomes.contains(-1) { return nil }
        return .some(outcomes.first { $0 >= 0 })
    }

    /// The memory the parts of `readBlocks` fill. `@unchecked Sendable`: each part writes only its own blocks
    /// and its own outcome slot, and `concurrentPerform` returns only when every part is done.
    private struct BlockReads: @unchecked Sendable {
        let destination: UnsafeMutableRawBufferPointer
        let outcomes: UnsafeMutableBufferPointer<Int>
    }

    /// `pread` until `buffer` is full; false on an error or at the end of the file.
    static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Bool {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }

    static func crc32c(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        embed_crc32c(0, bytes.baseAddress, bytes.count)
    }

    /// Writes a new file from `matrix` (rows read from SQLite in one snapshot of `generation`).
    static func write(path: String, matrix: VectorMatrix, generation: Int64, indexID: [UInt8]) throws {
        let rowBytes = matrix.dimension * 4
        let values = UnsafeRawBufferPointer(matrix.values)
        try write(
            path: path, dimension: matrix.dimension, count: matrix.count, generation: generation, indexID: indexID
        ) { emit in
            for row in 0..<matrix.count {
                try emit(
                    matrix.ids[row], matrix.documentIDs[row],
                    UnsafeRawBufferPointer(rebasing: values[(row * rowBytes)..<((row + 1) * rowBytes)]))
            }
        }
    }

    /// Writes a new file from rows delivered in chunk-id order by `rows`, then renames it into place.
    ///
    /// The file is written with `pwrite`, 1 MiB at a time, so a full disk is an error (`ENOSPC`), never a
    /// fault. The temporary is created with `O_EXCL | O_NOFOLLOW` under an unpredictable name, so nothing
    /// planted at that name is written through; it keeps `-<pid>-` so leftovers of dead processes can be found.
    /// It is not fsynced: a file torn by a power cut fails its checksums and is rebuilt.
    /// - Parameter rows: calls its argument once per row with (chunk id, document id, vector bytes).
    static func write(
        path: String, dimension: Int, count: Int, generation: Int64, indexID: [UInt8],
        rows: ((Int64, Int64, UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        guard let layout = Layout(count: count, dimension: dimension), indexID.count == indexIDSize else {
            throw StoreError(.corrupt, "\(path): \(count) vectors of \(dimension) dimensions do not fit a vector file")
        }
        let temporary = path + ".tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VectorFileError(path: temporary, errno: errno) }
        var isOpen = true
        var keep = false
        defer {
            if isOpen { close(fd) }
            if !keep { unlink(temporary) }
        }
        var out = BlockWriter(fd: fd, path: temporary)
        defer { out.buffer.deallocate() }
        let rowBytes = dimension * 4
        var ids: [Int64] = []
        var documents: [Int64] = []
        ids.reserveCapacity(count)
        documents.reserveCapacity(count)
        var largest: Float = 0
        try rows { id, document, vector in
            guard ids.count < count, vector.count == rowBytes else {
                throw StoreError(.corrupt, "\(path): the index changed while its vector file was being built")
            }
            try out.append(vector)
            ids.append(id)
            documents.append(document)
            var sum: Float = 0
            for i in 0..<dimension {
                let x = vector.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                sum += x * x
            }
            largest = max(largest, sum)
        }
        guard ids.count == count else {
            throw StoreError(.corrupt, "\(path): the index changed while its vector file was being built")
        }
        try [UInt8](repeating: 0, count: layout.valuesBytes - count * rowBytes).withUnsafeBytes { try out.append($0) }
        try ids.withUnsafeBytes { try out.append($0) }
        try documents.withUnsafeBytes { try out.append($0) }
        try out.flush()
        guard out.checksums.count == layout.blocks else {
            throw StoreError(.corrupt, "\(path): the vector file came out at the wrong size")
        }
        let tableChecksum = try out.checksums.withUnsafeBytes { table in
            try writeFully(fd, table, at: headerSize + layout.dataBytes, path: temporary)
            return crc32c(table)
        }
        // The header goes last, so a temporary cut short is never mistaken for a whole file.
        let header = encodeHeader(
            Header(
                dimension: dimension, count: count, generation: generation,
                maxRowNorm: largest.squareRoot() * (1 + 0x1p-20), indexID: indexID, tableChecksum: tableChecksum))
        try header.withUnsafeBytes { try writeFully(fd, $0, at: 0, path: temporary) }
        isOpen = false
        // Some filesystems (NFS) report a failed write only here.
        guard close(fd) == 0 else { throw VectorFileError(path: temporary, errno: errno) }
        guard rename(temporary, path) == 0 else { throw VectorFileError(path: path, errno: errno) }
        keep = true
    }

    /// Collects the data in 1 MiB blocks, writing each one and its checksum when it is full.
    private struct BlockWriter {
        let fd: Int32
        let path: String
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: VectorFile.blockSize, alignment: 64)
        var filled = 0
        var checksums: [UInt32] = []

        mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let n = min(bytes.count - offset, buffer.count - filled)
                UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + n)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
                filled += n
                offset += n
                if filled == buffer.count { try flush() }
            }
        }

        mutating func flush() throws {
            guard filled > 0 else { return }
            let block = UnsafeRawBufferPointer(rebasing: buffer[0..<filled])
            try writeFully(fd, block, at: headerSize + checksums.count * VectorFile.blockSize, path: path)
            checksums.append(crc32c(block))
            filled = 0
        }
    }

    static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw VectorFileError(path: path, errno: n < 0 ? errno : ENOSPC) }
            done += n
        }
    }
}

struct VectorFileError: Error, CustomStringConvertible {
    var path: String
    var errno: Int32
    var description: String { "\(path): \(String(cString: strerror(errno)))" }
    /// The disk (or the process's file size limit) is full.
    var isDiskFull: Bool { errno == ENOSPC || errno == EDQUOT || errno == EFBIG }
}
