import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An index's vector file opened for a scan that streams it: its manifest and every segment, headers and
/// block tables checked, files held open (so a segment deleted meanwhile by an updater stays readable).
///
/// Scanning it never holds more than a few MiB per core, whatever the index's size: see ``SegmentSearch``.
public final class VectorSegments: @unchecked Sendable {
    let manifestPath: String
    let manifest: VectorFile.Manifest
    let segments: [VectorFile.OpenSegment]
    /// The number of the first row of each segment when all segments' rows are counted in order.
    let firstRows: [Int]
    /// Each segment's per-dimension code scales (empty for a segment without codes).
    let scales: [[Float]]
    /// For a file one change behind the index (a writer is still running): the current vectors of the chunks
    /// changed since the manifest, read from SQLite, whose rows in the segments are marked dead in `manifest`.
    let overlay: VectorMatrix?

    public var dimension: Int { manifest.dimension }
    /// Rows whose chunk is still in the index.
    public var liveRows: Int { manifest.liveRows + (overlay?.count ?? 0) }
    /// True when every segment also holds its rows as int8 codes.
    public var hasCodes: Bool { segments.allSatisfy(\.layout.hasCodes) }
    var maxRowNorm: Float { manifest.maxRowNorm }

    // `@unchecked Sendable`: everything is set in `init` and only read afterwards; reads are `pread`s, which
    // do not move a shared file offset.
    private init(
        manifestPath: String, manifest: VectorFile.Manifest, segments: [VectorFile.OpenSegment], scales: [[Float]],
        overlay: VectorMatrix? = nil
    ) {
        self.manifestPath = manifestPath
        self.manifest = manifest
        self.segments = segments
        self.scales = scales
        self.overlay = overlay
        var first = 0
        firstRows = segments.map { segment in
            defer { first += segment.entry.rows }
            return first
        }
    }

    deinit { for segment in segments { close(segment.fd) } }

    /// The same segments with the changes since their manifest laid over them: `changed` chunk ids' rows marked
    /// dead (found by reading each segment's ids a block at a time) and `current` (those chunks' vectors now)
    /// searched beside them. Nil when a segment's ids cannot be read.
    func overlaid(changed: Set<Int64>, current: VectorMatrix) -> VectorSegments? {
        var manifest = manifest
        for (s, segment) in segments.enumerated() {
            let found = VectorFile.forEachID(of: segment) { row, id in
                if changed.contains(id) { manifest.segments[s].markDead(row) }
            }
            guard found else { return nil }
        }
        // The segments' descriptors are shared: this object must not close them.
        var reopened: [VectorFile.OpenSegment] = []
        for segment in segments {
            let fd = dup(segment.fd)
            guard fd >= 0 else {
                for done in reopened { close(done.fd) }
                return nil
            }
            reopened.append(.init(fd: fd, entry: segment.entry, layout: segment.layout, checksums: segment.checksums))
        }
        return VectorSegments(
            manifestPath: manifestPath, manifest: manifest, segments: reopened, scales: scales, overlay: current)
    }

    /// Opens the vector file at `path` when it is this index's, of `dimension`, at `generation` (any generation
    /// when nil), and every segment is there with the right header; else says why not.
    static func open(path: String, dimension: Int, generation: Int64?, indexID: [UInt8]) -> Result<VectorSegments, VectorFile.VerdictBox> {
        let manifest: VectorFile.Manifest
        switch VectorFile.checkedManifest(path, dimension: dimension, generation: generation, indexID: indexID) {
        case .success(let found): manifest = found
        case .failure(let box): return .failure(box)
        }
        var segments: [VectorFile.OpenSegment] = []
        var scales: [[Float]] = []
        for entry in manifest.segments {
            switch VectorFile.openSegment(entry, manifestPath: path, dimension: dimension, indexID: indexID) {
            case .success(let segment):
                segments.append(segment)
                if segment.layout.hasCodes {
                    let layout = segment.layout
                    guard let bytes = VectorFile.readChecked(segment, range: layout.scalesOffset..<layout.dataBytes) else {
                        for segment in segments { close(segment.fd) }
                        return .failure(VectorFile.VerdictBox(.unusable("has a segment whose scales fail their checksum")))
                    }
                    let values = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                    guard values.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                        for segment in segments { close(segment.fd) }
                        return .failure(VectorFile.VerdictBox(.unusable("has a segment with impossible scales")))
                    }
                    scales.append(values)
                } else {
                    scales.append([])
                }
            case .failure(let problem):
                for segment in segments { close(segment.fd) }
                return .failure(VectorFile.VerdictBox(.unusable(problem.message)))
            }
        }
        return .success(VectorSegments(manifestPath: path, manifest: manifest, segments: segments, scales: scales))
    }

    /// The segment that holds row `row` (numbered over all segments), and the row's number in it.
    func locate(_ row: Int) -> (segment: Int, row: Int) {
        var s = firstRows.count - 1
        while s > 0 && firstRows[s] > row { s -= 1 }
        return (s, row - firstRows[s])
    }

    /// One row read on its own, with its chunk id and document id, checked against its row checksum; nil when it
    /// cannot be read or fails its checksum.
    func row(_ row: Int) -> (vector: [Float], id: Int64, document: Int64)? {
        let (s, r) = locate(row)
        let segment = segments[s]
        let layout = segment.layout
        var vector = [Float](repeating: 0, count: layout.dimension)
        var record = (id: Int64(0), document: Int64(0), checksum: UInt32(0), zero: UInt32(0))
        let base = VectorFile.headerSize
        let ok = vector.withUnsafeMutableBytes { VectorFile.readFully(segment.fd, $0, at: base + r * layout.dimension * 4) }
            && withUnsafeMutableBytes(of: &record) {
                VectorFile.readFully(segment.fd, $0, at: base + layout.rowRecordsOffset + VectorFile.Layout.rowRecordSize * r)
            }
        let (id, document) = (Int64(littleEndian: record.id), Int64(littleEndian: record.document))
        guard ok, vector.withUnsafeBytes({ VectorFile.rowChecksum($0, id: id, document: document) }) == record.checksum
        else { return nil }
        return (vector, id, document)
    }
}
