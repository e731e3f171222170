/// Read-only `Float` storage of one weight tensor: a view into the mapped safetensors file or an
/// owned copy (for fused or misaligned tensors).
///
/// `@unchecked Sendable`: the memory is never written after creation and `owner` keeps it alive
/// (the ``SafetensorsFile`` mapping or an ``OwnedFloats`` allocation).
struct FloatBuffer: @unchecked Sendable {
    let base: UnsafePointer<Float>
    let count: Int
    let shape: [Int]
    private let owner: AnyObject

    init(base: UnsafePointer<Float>, count: Int, shape: [Int], owner: AnyObject) {
        self.base = base
        self.count = count
        self.shape = shape
        self.owner = owner
    }

    /// A copy of `values` in freshly allocated, aligned memory.
    init(copying values: [Float], shape: [Int]) {
        let storage = OwnedFloats(count: values.count)
        _ = UnsafeMutableBufferPointer(start: storage.base, count: values.count).initialize(from: values)
        self.init(base: storage.base, count: values.count, shape: shape, owner: storage)
    }

    /// Concatenates buffers along the first dimension (rows): used to fuse Q, K and V.
    init(concatenatingRows parts: [FloatBuffer]) {
        let total = parts.reduce(0) { $0 + $1.count }
        let storage = OwnedFloats(count: total)
        var offset = 0
        for part in parts {
            (storage.base + offset).initialize(from: part.base, count: part.count)
            offset += part.count
        }
        let rows = parts.reduce(0) { $0 + ($1.shape.first ?? 1) }
        self.init(base: storage.base, count: total, shape: [rows] + (parts.first?.shape.dropFirst() ?? []), owner: storage)
    }
}

/// An owned, immutable-after-initialisation `Float` allocation.
final class OwnedFloats {
    let base: UnsafeMutablePointer<Float>

    init(count: Int) {
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { base.deallocate() }
}
