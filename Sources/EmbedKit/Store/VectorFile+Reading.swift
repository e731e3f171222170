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

    /// Reads the vector file into memory when its manifest and every segment it names hold exactly this
    /// index's (`indexID`) vectors of `generation` and `dimension`, with every checksum right. The live rows
    /// come back in chunk-id order, as one matrix.
    static func load(path: String, dimension: Int, generation: Int64, indexID: [UInt8]) -> Verdict {
        var previous: [UInt64]?
        while true {
            let manifest: Manifest
            switch checkedManifest(path, dimension: dimension, generation: generation, indexID: indexID) {
            case .success(let found): manifest = found
            case .failure(let box): return box.verdict
            }
            switch loadSegments(of: manifest, manifestPath: path) {
            case .success(let matrix): return .current(matrix)
            case .failure(let problem):
                // A segment deleted under the reader: another process replaced the manifest meanwhile. Read the
                // new one, once.
                let serials = manifest.segments.map(\.serial)
                if problem.isMissingSegment, previous != serials {
                    previous = serials
                    continue
                }
                return .unusable(problem.message)
            }
        }
    }

    /// The manifest at `path` when it is this index's, of `dimension` and at `generation`.
    static func checkedManifest(
        _ path: String, dimension: Int, generation: Int64?, indexID: [UInt8]
    ) -> Result<Manifest, VerdictBox> {
        switch readManifest(path) {
        case .missing: return .failure(VerdictBox(.missing))
        case .unusable(let why): return .failure(VerdictBox(.unusable(why)))
        case .found(let manifest):
            guard manifest.indexID == indexID else { return .failure(VerdictBox(.unusable("belongs to another index"))) }
            guard manifest.dimension == dimension else {
                return .failure(VerdictBox(.unusable("has vectors of \(manifest.dimension) dimensions, not \(dimension)")))
            }
            if let generation, manifest.generation != generation {
                return .failure(VerdictBox(.stale(
                    "is stale (made at generation \(manifest.generation), the index is at \(generation))")))
            }
            return .success(manifest)
        }
    }

    /// Why a segment could not be used.
    struct SegmentProblem: Error {
        var message: String
        var isMissingSegment = false
    }

    /// A segment opened and its header and block table checked against the manifest's entry.
    struct OpenSegment {
        let fd: Int32
        let entry: SegmentEntry
        let layout: Layout
        let checksums: [UInt32]
    }

    static func openSegment(
        _ entry: SegmentEntry, manifestPath: String, dimension: Int, indexID: [UInt8]
    ) -> Result<OpenSegment, SegmentProblem> {
        let path = segmentPath(manifestPath, serial: entry.serial)
        let name = (path as NSString).lastPathComponent
        let fd: Int32
        switch openRegularFile(path) {
        case .success(let descriptor): fd = descriptor
        case .failure(let box):
            if case .missing = box.verdict {
                return .failure(SegmentProblem(message: "names a segment that is missing (\(name))", isMissingSegment: true))
            }
            if case .unusable(let why) = box.verdict { return .failure(SegmentProblem(message: "has a segment that \(why) (\(name))")) }
            return .failure(SegmentProblem(message: "has a segment that cannot be opened (\(name))"))
        }
        var info = stat()
        var bytes = [UInt8](repeating: 0, count: headerSize)
        guard fstat(fd, &info) == 0, bytes.withUnsafeMutableBytes({ readFully(fd, $0, at: 0) }),
            let header = decodeHeader(bytes), header.indexID == indexID, header.dimension == dimension,
            header.serial == entry.serial, header.count == entry.rows, header.tableChecksum == entry.tableChecksum,
            header.hasCodes == entry.hasCodes,
            let layout = Layout(count: header.count, dimension: dimension, hasCodes: header.hasCodes),
            Int(info.st_size) == layout.fileSize,
            let table = readTable(fd, layout: layout, checksum: header.tableChecksum)
        else {
            close(fd)
            return .failure(SegmentProblem(message: "has a segment that is damaged or not the one it names (\(name))"))
        }
        return .success(OpenSegment(fd: fd, entry: entry, layout: layout, checksums: table))
    }

    /// Reads every live row of the manifest's segments into one matrix, in chunk-id order.
    private static func loadSegments(of manifest: Manifest, manifestPath: String) -> Result<VectorMatrix, SegmentProblem> {
        let dimension = manifest.dimension
        var segments: [OpenSegment] = []
        defer { for segment in segments { close(segment.fd) } }
        for entry in manifest.segments {
            switch openSegment(entry, manifestPath: manifestPath, dimension: dimension, indexID: manifest.indexID) {
            case .success(let open): segments.append(open)
            case .failure(let problem): return .failure(problem)
            }
        }
        let count = manifest.liveRows
        guard let layout = Layout(count: count, dimension: dimension) else {
            return .failure(SegmentProblem(message: "holds more rows than fit in memory"))
        }
        // Room for whole blocks: the one-segment case below reads blocks straight into it.
        let data = UnsafeMutableRawPointer.allocate(
            byteCount: max((layout.matrixBytes + blockSize - 1) / blockSize * blockSize, 64), alignment: 64)
        var keep = false
        defer { if !keep { data.deallocate() } }
        let ids = UnsafeMutableBufferPointer(
            start: (data + layout.valuesBytes).assumingMemoryBound(to: Int64.self), count: count)
        let documents = UnsafeMutableBufferPointer(
            start: (data + layout.valuesBytes + 8 * count).assumingMemoryBound(to: Int64.self), count: count)
        if segments.count == 1, segments[0].entry.deadRows == 0 {
            // The common case after a compaction: the segment's data is the matrix's, byte for byte.
            let only = segments[0]
            guard let damaged = readBlocks(
                only.fd, into: data, layout: only.layout, bytes: only.layout.matrixBytes, checksums: only.checksums)
            else {
                return .failure(SegmentProblem(message: "cannot be read"))
            }
            if let damaged { return .failure(SegmentProblem(message: "has a segment whose block \(damaged) fails its checksum")) }
        } else {
            // Where each live row goes: segments are each in chunk-id order, so merge them by id.
            var destinations: [[Int]] = []
            var heads: [(ids: [Int64], documents: [Int64])] = []
            for segment in segments {
                guard let read = readIdentifiers(segment) else {
                    return .failure(SegmentProblem(message: "has a segment whose ids fail their checksums"))
                }
                heads.append(read)
                destinations.append([Int](repeating: -1, count: segment.entry.rows))
            }
            var position = 0
            forEachLiveRowInIDOrder(segments, ids: heads.map(\.ids)) { s, row in
                if position < count {
                    ids[position] = heads[s].ids[row]
                    documents[position] = heads[s].documents[row]
                    destinations[s][row] = position
                }
                position += 1
            }
            guard position == count else { return .failure(SegmentProblem(message: "its contents are inconsistent")) }
            for (s, segment) in segments.enumerated() {
                guard scatterRows(segment, destinations: destinations[s], into: data) else {
                    return .failure(SegmentProblem(message: "has a segment whose rows fail their checksums"))
                }
            }
        }
        // Rows are written in chunk-id order and segments hold distinct chunks: anything else was not written by us.
        guard zip(ids, ids.dropFirst()).allSatisfy({ $0 < $1 }) else {
            return .failure(SegmentProblem(message: "its contents are inconsistent"))
        }
        keep = true
        let storage = VectorMatrix.Storage(
            ids: UnsafeBufferPointer(ids), documentIDs: UnsafeBufferPointer(documents),
            values: UnsafeBufferPointer(start: data.assumingMemoryBound(to: Float.self), count: count * dimension)
        ) { data.deallocate() }
        return .success(
            VectorMatrix(
                dimension: dimension, count: count, maxRowNorm: manifest.maxRowNorm, storage: storage,
                isFromVectorFile: true))
    }

    /// Calls `body` with every live row of `segments` (each in chunk-id order, `ids[s]` the ids of segment `s`),
    /// in chunk-id order over all of them: a merge of sorted runs, skipping dead rows.
    static func forEachLiveRowInIDOrder(
        _ segments: [OpenSegment], ids: [[Int64]], _ body: (_ segment: Int, _ row: Int) throws -> Void
    ) rethrows {
        var next = [Int](repeating: 0, count: segments.count)
        func skipDead(_ s: Int) {
            while next[s] < ids[s].count, segments[s].entry.isDead(next[s]) { next[s] += 1 }
        }
        for s in segments.indices { skipDead(s) }
        while true {
            var best = -1
            for s in segments.indices where next[s] < ids[s].count {
                if best < 0 || ids[s][next[s]] < ids[best][next[best]] { best = s }
            }
            guard best >= 0 else { return }
            try body(best, next[best])
            next[best] += 1
            skipDead(best)
        }
    }

    /// A segment's chunk ids and document ids, their blocks checked; nil when a block fails or cannot be read.
    static func readIdentifiers(_ segment: OpenSegment) -> (ids: [Int64], documents: [Int64])? {
        let layout = segment.layout
        let count = layout.count
        guard let bytes = readChecked(segment, range: layout.idsOffset..<layout.matrixBytes) else { return nil }
        return bytes.withUnsafeBytes { raw in
            (Array(raw.bindMemory(to: Int64.self).prefix(count)), Array(raw.bindMemory(to: Int64.self).dropFirst(count)))
        }
    }

    /// Calls `body` with each row's chunk id, in row order, reading the ids a block at a time (every block checked),
    /// so memory stays flat whatever the segment's size. False when a block cannot be read or fails its checksum.
    static func forEachID(of segment: OpenSegment, _ body: (_ row: Int, _ id: Int64) -> Void) -> Bool {
        let layout = segment.layout
        let idsPerRead = blockSize / 8
        for first in stride(from: 0, to: layout.count, by: idsPerRead) {
            let last = min(layout.count, first + idsPerRead)
            guard let bytes = readChecked(segment, range: (layout.idsOffset + 8 * first)..<(layout.idsOffset + 8 * last))
            else { return false }
            bytes.withUnsafeBytes { raw in
                for (i, id) in raw.bindMemory(to: Int64.self).enumerated() { body(first + i, id) }
            }
        }
        return true
    }

    /// Reads the data blocks `blocks` of `segment` into the start of `buffer` and checks each one's checksum.
    /// Returns how many bytes were read (the last block may be short), or nil when a read fails or a block is
    /// damaged. `buffer` must hold `blocks.count` whole blocks.
    static func readCheckedBlocks(
        _ segment: OpenSegment, _ blocks: ClosedRange<Int>, into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        let start = blocks.lowerBound * blockSize
        let bytes = UnsafeMutableRawBufferPointer(
            rebasing: buffer[0..<(min(segment.layout.dataBytes, (blocks.upperBound + 1) * blockSize) - start)])
        guard readFully(segment.fd, bytes, at: headerSize + start) else { return nil }
        for block in blocks {
            let from = block * blockSize - start
            let piece = UnsafeRawBufferPointer(rebasing: bytes[from..<min(bytes.count, from + blockSize)])
            guard crc32c(piece) == segment.checksums[block] else { return nil }
        }
        return bytes.count
    }

    /// The bytes `range` of a segment's data, every block they touch read whole and checked.
    static func readChecked(_ segment: OpenSegment, range: Range<Int>) -> [UInt8]? {
        guard !range.isEmpty else { return [] }
        let blocks = (range.lowerBound / blockSize)...((range.upperBound - 1) / blockSize)
        var bytes = [UInt8](repeating: 0, count: blocks.count * blockSize)
        guard bytes.withUnsafeMutableBytes({ readCheckedBlocks(segment, blocks, into: $0) }) != nil else { return nil }
        let start = blocks.lowerBound * blockSize
        return Array(bytes[(range.lowerBound - start)..<(range.upperBound - start)])
    }

    /// Copies each live row of `segment` to row `destinations[row]` of the matrix at `data`, reading the rows'
    /// blocks one at a time (split between the cores) and checking each. False when a block fails or cannot be read.
    private static func scatterRows(_ segment: OpenSegment, destinations: [Int], into data: UnsafeMutableRawPointer) -> Bool {
        let rowBytes = segment.layout.dimension * 4
        let valueBlocks = (segment.layout.count * rowBytes + blockSize - 1) / blockSize
        guard valueBlocks > 0 else { return true }
        let parts = max(1, min(ProcessInfoCores.active, valueBlocks))
        let perPart = (valueBlocks + parts - 1) / parts
        let failed = Locked(false)
        let target = UncheckedPointer(data)
        destinations.withUnsafeBufferPointer { destinations in
            let destinations = UncheckedBuffer(destinations)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
                defer { buffer.deallocate() }
                for block in (part * perPart)..<min(valueBlocks, (part + 1) * perPart) {
                    let start = block * blockSize
                    guard let read = readCheckedBlocks(segment, block...block, into: buffer) else {
                        failed.withLock { $0 = true }
                        return
                    }
                    let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<read])
                    // The rows this block holds all or part of.
                    let end = min(start + bytes.count, segment.layout.count * rowBytes)
                    var row = start / rowBytes
                    while row * rowBytes < end {
                        let destination = destinations.buffer[row]
                        if destination >= 0 {
                            let from = max(start, row * rowBytes)
                            let to = min(end, (row + 1) * rowBytes)
                            (target.pointer + destination * rowBytes + (from - row * rowBytes)).copyMemory(
                                from: bytes.baseAddress! + (from - start), byteCount: to - from)
                        }
                        row += 1
                    }
                }
            }
        }
        return !failed.withLock { $0 }
    }

    /// `@unchecked Sendable`: the parts of `scatterRows` write disjoint rows, and `concurrentPerform` returns
    /// only when every part is done.
    private struct UncheckedPointer: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
    }

    private struct UncheckedBuffer: @unchecked Sendable {
        let buffer: UnsafeBufferPointer<Int>
        init(_ buffer: UnsafeBufferPointer<Int>) { self.buffer = buffer }
    }

    /// Opens a regular file without following a link and without blocking (a FIFO would block `open`).
    static func openRegularFile(_ path: String) -> Result<Int32, VerdictBox> {
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

    /// A verdict wrapped as an error, so the helpers above can return `Result`.
    struct VerdictBox: Error {
        let verdict: Verdict
        init(_ verdict: Verdict) { self.verdict = verdict }
    }

    /// The block checksums, when their own checksum (in the header) is right.
    static func readTable(_ fd: Int32, layout: Layout, checksum: UInt32) -> [UInt32]? {
        var table = [UInt32](repeating: 0, count: layout.blocks)
        let ok = table.withUnsafeMutableBytes { bytes in
            readFully(fd, bytes, at: headerSize + layout.dataBytes) && crc32c(UnsafeRawBufferPointer(bytes)) == checksum
        }
        return ok ? table : nil
    }

    /// Reads the blocks that hold the first `bytes` of the data into `data` (which has room for them whole),
    /// checking each block's checksum while it is still in the cache; the blocks are split between the cores.
    /// Returns nil when a read fails, else the first damaged block, if any.
    static func readBlocks(
        _ fd: Int32, into data: UnsafeMutableRawPointer, layout: Layout, bytes: Int, checksums: [UInt32]
    ) -> Int?? {
        let blocks = (bytes + blockSize - 1) / blockSize
        guard blocks > 0 else { return .some(nil) }
        let parts = max(1, min(ProcessInfoCores.active, blocks))
        let perPart = (blocks + parts - 1) / parts
        // One slot per part, written only by that part: -2 all good, -1 read failed, else the damaged block.
        let outcomes = UnsafeMutableBufferPointer<Int>.allocate(capacity: parts)
        outcomes.initialize(repeating: -2)
        defer { outcomes.deallocate() }
        let job = BlockReads(
            destination: UnsafeMutableRawBufferPointer(start: data, count: min(layout.dataBytes, blocks * blockSize)),
            outcomes: outcomes)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            for block in (part * perPart)..<min(blocks, (part + 1) * perPart) {
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
