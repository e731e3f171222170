/// Vectors as bytes: little-endian IEEE-754 float32, 4 bytes a component.
///
/// One coding for both places vectors travel as bytes: the index's BLOBs and the embeddings API's base64
/// vectors, so the two can never disagree on byte order.
public enum VectorCoding {
    /// The floats in `bytes` (a trailing partial float is ignored; callers check the length first).
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        let count = bytes.count / MemoryLayout<Float>.size
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                buffer[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
            initialized = count
        }
    }

    /// Calls `body` with the bytes of `vector`; valid only inside `body`.
    public static func withBytes<T>(of vector: [Float], _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        // On a little-endian machine the floats in memory are already the coding: no copy.
        if 1.littleEndian == 1 { return try vector.withUnsafeBytes(body) }
        return try vector.map { $0.bitPattern.littleEndian }.withUnsafeBytes(body)
    }

    /// The bytes of `vector`.
    public static func encode(_ vector: [Float]) -> [UInt8] {
        withBytes(of: vector) { Array($0) }
    }
}
