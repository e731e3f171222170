/// Vectors are stored as BLOBs of little-endian IEEE-754 float32, `dimension * 4` bytes.
enum VectorCoding {
    static func decode(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        let count = bytes.count / MemoryLayout<Float>.size
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                buffer[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
            initialized = count
        }
    }
}
