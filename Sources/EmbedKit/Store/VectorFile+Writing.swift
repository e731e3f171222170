import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Writing a vector file: segments under a temporary name, renamed into place, then the manifest the same way.
extension VectorFile {
    /// Replaces the whole vector file at `path` with one made from `matrix` (rows read from SQLite in one
    /// snapshot of `generation`), and deletes every other segment beside it. Only under the `VectorFileLock`.
    static func write(
        path: String, matrix: VectorMatrix, generation: Int64, indexID: [UInt8], changeSeq: Int64? = nil,
        codes: Bool = false
    ) throws {
        let rowBytes = matrix.dimension * 4
        let values = UnsafeRawBufferPointer(matrix.values)
        try write(
            path: path, dimension: matrix.dimension, count: matrix.count, generation: generation, indexID: indexID,
            changeSeq: changeSeq, codes: codes
        ) { emit in
            for row in 0..<matrix.count {
                try emit(
                    matrix.ids[row], matrix.documentIDs[row],
                    UnsafeRawBufferPointer(rebasing: values[(row * rowBytes)..<((row + 1) * rowBytes)]))
            }
        }
    }

    /// Replaces the whole vector file at `path` with one segment of the rows `rows` delivers in chunk-id order,
    /// and deletes every other segment beside it. Only under the `VectorFileLock`.
    static func write(
        path: String, dimension: Int, count: Int, generation: Int64, indexID: [UInt8], changeSeq: Int64? = nil,
        codes: Bool = false, rows: ((Int64, Int64, UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        var segments: [SegmentEntry] = []
        if count > 0 {
            segments.append(
                try writeSegment(
                    manifestPath: path, dimension: dimension, count: count, indexID: indexID, codes: codes, rows: rows))
        }
        do {
            try writeManifest(
                Manifest(dimension: dimension, generation: generation, changeSeq: changeSeq, indexID: indexID,
                         segments: segments),
                to: path)
        } catch {
            for segment in segments { unlink(segmentPath(path, serial: segment.serial)) }
            throw error
        }
        removeSegments(besides: path, keeping: segments)
    }

    /// Deletes the segment files beside the manifest at `manifestPath` that `kept` does not name: those of the
    /// manifest it replaced, and those of updaters killed before their manifest was renamed into place.
    static func removeSegments(besides manifestPath: String, keeping kept: [SegmentEntry]) {
        let keep = Set(kept.map { segmentPath(manifestPath, serial: $0.serial) })
        for path in IndexCompanions.segments(besidesManifest: manifestPath) where !keep.contains(path) { unlink(path) }
    }

    /// Writes a new segment of `count` rows delivered in chunk-id order by `rows`, under a new random serial.
    ///
    /// The file is written with `pwrite`, 1 MiB at a time, so a full disk is an error (`ENOSPC`), never a
    /// fault. The temporary is created with `O_EXCL | O_NOFOLLOW` under an unpredictable name, so nothing
    /// planted at that name is written through; it keeps `-<pid>-` so leftovers of dead processes can be found.
    /// It is not fsynced: a file torn by a power cut fails its checksums and is rebuilt.
    /// - Parameters:
    ///   - codes: also write the rows as int8 codes, for compressed scans.
    ///   - rows: calls its argument once per row with (chunk id, document id, vector bytes).
    static func writeSegment(
        manifestPath: String, dimension: Int, count: Int, indexID: [UInt8], codes: Bool = false,
        rows: ((Int64, Int64, UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> SegmentEntry {
        guard let layout = Layout(count: count, dimension: dimension, hasCodes: codes), indexID.count == indexIDSize
        else {
            throw StoreError(
                .corrupt, "\(manifestPath): \(count) vectors of \(dimension) dimensions do not fit a vector file")
        }
        var serial: UInt64 = 0
        var path = ""
        repeat {
            serial = UInt64.random(in: 1...UInt64.max)
            path = segmentPath(manifestPath, serial: serial)
        } while access(path, F_OK) == 0
        var tableChecksum: UInt32 = 0
        var largest: Float = 0
        try writeReplacing(path, temporaryBeside: manifestPath) { fd, temporary in
            var out = BlockWriter(fd: fd, path: temporary)
            defer { out.buffer.deallocate() }
            let rowBytes = dimension * 4
            var ids: [Int64] = []
            var documents: [Int64] = []
            var rowRecords: [UInt32] = []
            var largestMagnitudes = [Float](repeating: 0, count: dimension)
            ids.reserveCapacity(count)
            documents.reserveCapacity(count)
            rowRecords.reserveCapacity(count * Layout.rowRecordSize / 4)
            try rows { id, document, vector in
                guard ids.count < count, vector.count == rowBytes, ids.last.map({ $0 < id }) ?? true else {
                    throw StoreError(.corrupt, "\(manifestPath): the index changed while its vector file was being built")
                }
                try out.append(vector)
                ids.append(id)
                documents.append(document)
                // id and document id as two u32 halves each, little-endian, then the checksum and a zero.
                for value in [id, document] {
                    rowRecords.append(UInt32(truncatingIfNeeded: UInt64(bitPattern: value).littleEndian))
                    rowRecords.append(UInt32(truncatingIfNeeded: UInt64(bitPattern: value).littleEndian >> 32))
                }
                rowRecords.append(rowChecksum(vector, id: id, document: document))
                rowRecords.append(0)
                var sum: Float = 0
                for i in 0..<dimension {
                    let x = vector.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                    sum += x * x
                    largestMagnitudes[i] = max(largestMagnitudes[i], x.magnitude)
                }
                largest = max(largest, sum)
            }
            guard ids.count == count else {
                throw StoreError(.corrupt, "\(manifestPath): the index changed while its vector file was being built")
            }
            try out.appendZeros(layout.valuesBytes - count * rowBytes)
            try ids.withUnsafeBytes { try out.append($0) }
            try documents.withUnsafeBytes { try out.append($0) }
            try rowRecords.withUnsafeBytes { try out.append($0) }
            if codes {
                try out.appendZeros(layout.codesOffset - layout.rowRecordsOffset - Layout.rowRecordSize * count)
                let scales = largestMagnitudes.map { $0 / 127 }
                try appendCodes(of: fd, temporary: temporary, layout: layout, scales: scales, to: &out)
                try out.appendZeros(layout.scalesOffset - layout.codesOffset - count * dimension)
                try scales.withUnsafeBytes { try out.append($0) }
            }
            try out.flush()
            guard out.checksums.count == layout.blocks else {
                throw StoreError(.corrupt, "\(manifestPath): the vector file came out at the wrong size")
            }
            tableChecksum = try out.checksums.withUnsafeBytes { table in
                try writeFully(fd, table, at: headerSize + layout.dataBytes, path: temporary)
                return crc32c(table)
            }
            largest = largest.squareRoot() * (1 + 0x1p-20)
            Failpoint.reach("segment-without-header")
            // The header goes last, so a temporary cut short is never mistaken for a whole file.
            let header = encodeHeader(
                Header(
                    dimension: dimension, count: count, serial: serial, maxRowNorm: largest, indexID: indexID,
                    tableChecksum: tableChecksum, hasCodes: codes))
            try header.withUnsafeBytes { try writeFully(fd, $0, at: 0, path: temporary) }
        }
        Failpoint.reach("segment-renamed")
        return SegmentEntry(
            serial: serial, rows: count, tableChecksum: tableChecksum, maxRowNorm: largest, hasCodes: codes)
    }

    /// Appends the int8 codes of every row of the segment being written to `fd`, reading its rows back (they were
    /// just written, so they come from the page cache): codeᵢ = round(xᵢ / scaleᵢ), within ±127.
    private static func appendCodes(
        of fd: Int32, temporary: String, layout: Layout, scales: [Float], to out: inout BlockWriter
    ) throws {
        let dimension = layout.dimension
        let rowsPerRead = max(1, blockSize / (dimension * 4))
        let floats = UnsafeMutableBufferPointer<Float>.allocate(capacity: rowsPerRead * dimension)
        defer { floats.deallocate() }
        var codes = [Int8](repeating: 0, count: rowsPerRead * dimension)
        let inverse = scales.map { $0 > 0 ? 1 / $0 : 0 }
        var row = 0
        while row < layout.count {
            let n = min(rowsPerRead, layout.count - row)
            let bytes = UnsafeMutableRawBufferPointer(start: floats.baseAddress, count: n * dimension * 4)
            guard out.read(into: bytes, at: row * dimension * 4) else {
                throw VectorFileError(path: temporary, errno: errno == 0 ? EIO : errno)
            }
            for i in 0..<(n * dimension) {
                let scaled = (floats[i] * inverse[i % dimension]).rounded()
                codes[i] = scaled.isNaN ? 0 : Int8(max(-127, min(127, scaled)))
            }
            try codes.withUnsafeBytes { try out.append(UnsafeRawBufferPointer(rebasing: $0[0..<(n * dimension)])) }
            row += n
        }
    }

    /// Creates a temporary `<base>.tmp-<pid>-<random>` (`O_EXCL | O_NOFOLLOW`), lets `body` fill it, and renames
    /// it to `path`. The temporary is removed when anything fails. All of a vector file's temporaries are named
    /// after its manifest, so one sweep finds the leftovers of killed processes.
    static func writeReplacing(_ path: String, temporaryBeside base: String, body: (Int32, String) throws -> Void) throws {
        let temporary = IndexCompanions.temporaryName(for: base, marker: IndexCompanions.temporaryMarker)
        let fd = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VectorFileError(path: temporary, errno: errno) }
        var isOpen = true
        var keep = false
        defer {
            if isOpen { close(fd) }
            if !keep { unlink(temporary) }
        }
        try body(fd, temporary)
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

        /// Reads back data already appended, at `offset` from the data's start: from the file what was written,
        /// from the buffer what was not yet.
        func read(into destination: UnsafeMutableRawBufferPointer, at offset: Int) -> Bool {
            let written = checksums.count * VectorFile.blockSize
            let fromFile = max(0, min(destination.count, written - offset))
            if fromFile > 0 {
                guard readFully(fd, UnsafeMutableRawBufferPointer(rebasing: destination[0..<fromFile]), at: headerSize + offset)
                else { return false }
            }
            let rest = destination.count - fromFile
            guard rest > 0 else { return true }
            let start = offset + fromFile - written
            guard start + rest <= filled else { return false }
            UnsafeMutableRawBufferPointer(rebasing: destination[fromFile...]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: buffer[start..<(start + rest)]))
            return true
        }

        mutating func appendZeros(_ count: Int) throws {
            try [UInt8](repeating: 0, count: count).withUnsafeBytes { try append($0) }
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
