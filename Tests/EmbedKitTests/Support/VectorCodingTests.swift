import EmbedKit
import Testing

@Suite("Vector coding")
struct VectorCodingTests {
    @Test("floats survive encode then decode bit for bit, signed zero, extremes and subnormals included")
    func roundTrip() {
        let vector: [Float] = [0, -0.0, 1, -2, .pi, .greatestFiniteMagnitude, -.leastNonzeroMagnitude, 0x1p-130, 1e-7]
        let bytes = VectorCoding.encode(vector)
        #expect(bytes.count == vector.count * 4)
        let decoded = bytes.withUnsafeBytes { VectorCoding.decode($0) }
        #expect(decoded.map(\.bitPattern) == vector.map(\.bitPattern))
    }

    @Test("the bytes are little-endian float32, as the index and the embeddings API store them")
    func byteOrder() {
        // 1.0 is 0x3F800000; -2.0 is 0xC0000000.
        #expect(VectorCoding.encode([1, -2]) == [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
        let decoded = [UInt8]([0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]).withUnsafeBytes {
            VectorCoding.decode($0)
        }
        #expect(decoded == [1, -2])
    }

    @Test("no bytes decode to no floats, and a trailing partial float is ignored")
    func edges() {
        #expect([UInt8]().withUnsafeBytes { VectorCoding.decode($0) }.isEmpty)
        #expect([UInt8]([0, 0, 0x80, 0x3F, 7]).withUnsafeBytes { VectorCoding.decode($0) } == [1])
        #expect(VectorCoding.encode([]).isEmpty)
    }
}
