import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Reading a vector file, trusting nothing in it until every check passed.
extension VectorFile {
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
}
