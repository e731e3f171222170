import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A memory-mappable copy of an index's vectors, kept beside it as `<index>.vectors`.
///
/// SQLite stays the source of truth; this file is derived from it so that a query can start scanning at once
/// instead of reading a million BLOBs one row at a time. Its header records the index's *generation*, a counter
/// every write transaction increments, so a stale file is detected and rebuilt (or bypassed while a writer is
/// running). Rebuilding writes a temporary file and renames it over the old one: a query that has the old file
/// mapped keeps a consistent copy.
///
/// Layout (little-endian): a 64-byte header (`EMBEDVEC`, version, dimension, row count, generation, largest row
/// norm), then the chunk id of each row (int64), the document id of each row (int64), padding to 64 bytes, and
/// the rows (float32, row-major).
enum VectorFile {
    static let magic: [UInt8] = Array("EMBEDVEC".utf8)
    static let version: UInt32 = 1
    static let headerSize = 64

    static func path(forIndex indexPath: String) -> String { indexPath + ".vectors" }

    struct Header: Equatable {
        var dimension: Int
        var count: Int
        var generation: Int64
        var maxRowNorm: Float
    }

    static func valuesOffset(count: Int) -> Int {
        let idsEnd = headerSize + 16 * count
        return (idsEnd + 63) / 64 * 64
    }

    static func fileSize(count: Int, dimension: Int) -> Int {
        valuesOffset(count: count) + count * dimension * 4
    }

    /// Maps the file read-only when it exists, is well formed and matches `generation` and `dimension`.
    static func map(path: String, dimension: Int, generation: Int64) -> VectorMatrix? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size >= headerSize else { return nil }
        let size = Int(info.st_size)
        guard let address = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), address != MAP_FAILED else { return nil }
        let raw = UnsafeRawBufferPointer(start: address, count: size)
        guard let header = readHeader(raw), header.dimension == dimension, header.generation == generation,
            size == fileSize(count: header.count, dimension: dimension)
        else {
            munmap(address, size)
            return nil
        }
        // The scan reads the whole map once, front to back.
        _ = madvise(address, size, MADV_SEQUENTIAL)
        let count = header.count
        let base = UnsafeRawPointer(address)
        let ids = UnsafeBufferPointer(start: (base + headerSize).assumingMemoryBound(to: Int64.self), count: count)
        let documents = UnsafeBufferPointer(
            start: (base + headerSize + 8 * count).assumingMemoryBound(to: Int64.self), count: count)
        let values = UnsafeBufferPointer(
            start: (base + valuesOffset(count: count)).assumingMemoryBound(to: Float.self), count: count * dimension)
        let storage = VectorMatrix.Storage(ids: ids, documentIDs: documents, values: values) {
            munmap(address, size)
        }
        return VectorMatrix(dimension: dimension, count: count, maxRowNorm: header.maxRowNorm, storage: storage)
    }

    static func readHeader(_ raw: UnsafeRawBufferPointer) -> Header? {
        guard raw.count >= headerSize, Array(raw[0..<8]) == magic,
            raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self) == version
        else { return nil }
        let dimension = Int(raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        let count = raw.loadUnaligned(fromByteOffset: 16, as: Int64.self)
        guard count >= 0, count < Int64(Int32.max) * 64, dimension > 0 else { return nil }
        return Header(
            dimension: dimension, count: Int(count), generation: raw.loadUnaligned(fromByteOffset: 24, as: Int64.self),
            maxRowNorm: raw.loadUnaligned(fromByteOffset: 32, as: Float.self))
    }

    /// Writes a new file from rows delivered in order by `rows`, then renames it into place.
    /// - Parameter rows: calls its argument once per row with (chunk id, document id, vector bytes).
    static func write(
        path: String, dimension: Int, count: Int, generation: Int64,
        rows: ((Int64, Int64, UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VectorFileError(path: temporary, errno: errno) }
        var keep = false
        defer {
            close(fd)
            if !keep { unlink(temporary) }
        }
        let size = fileSize(count: count, dimension: dimension)
        guard ftruncate(fd, off_t(size)) == 0 else { throw VectorFileError(path: temporary, errno: errno) }
        guard let address = mmap(nil, max(size, 1), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), address != MAP_FAILED
        else { throw VectorFileError(path: temporary, errno: errno) }
        defer { munmap(address, max(size, 1)) }
        let raw = UnsafeMutableRawBufferPointer(start: address, count: size)
        let rowBytes = dimension * 4
        var written = 0
        var largest: Float = 0
        try rows { id, document, vector in
            guard written < count, vector.count == rowBytes else {
                throw StoreError(.corrupt, "\(path): the index changed while its vector file was being built")
            }
            raw.storeBytes(of: id, toByteOffset: headerSize + 8 * written, as: Int64.self)
            raw.storeBytes(of: document, toByteOffset: headerSize + 8 * (count + written), as: Int64.self)
            let destination = valuesOffset(count: count) + written * rowBytes
            UnsafeMutableRawBufferPointer(rebasing: raw[destination..<(destination + rowBytes)]).copyMemory(from: vector)
            var sum: Float = 0
            for i in 0..<dimension {
                let x = vector.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                sum += x * x
            }
            largest = max(largest, sum)
            written += 1
        }
        guard written == count else {
            throw StoreError(.corrupt, "\(path): the index changed while its vector file was being built")
        }
        // The header goes last, so a file cut short by a crash is never mistaken for a whole one.
        magic.withUnsafeBytes { raw.copyMemory(from: $0) }
        raw.storeBytes(of: version, toByteOffset: 8, as: UInt32.self)
        raw.storeBytes(of: UInt32(dimension), toByteOffset: 12, as: UInt32.self)
        raw.storeBytes(of: Int64(count), toByteOffset: 16, as: Int64.self)
        raw.storeBytes(of: generation, toByteOffset: 24, as: Int64.self)
        raw.storeBytes(of: largest.squareRoot() * (1 + 0x1p-20), toByteOffset: 32, as: Float.self)
        guard rename(temporary, path) == 0 else { throw VectorFileError(path: path, errno: errno) }
        keep = true
    }
}

struct VectorFileError: Error, CustomStringConvertible {
    var path: String
    var errno: Int32
    var description: String { "\(path): \(String(cString: strerror(errno)))" }
}
