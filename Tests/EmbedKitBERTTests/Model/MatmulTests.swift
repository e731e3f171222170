import CEmbedBLAS
import CEmbedMatmul
@testable import EmbedKitBERT
import Foundation
import Testing

/// `x · wᵀ + bias` in Double (OpenBLAS's dgemm), the reference every library is held to.
private func reference(_ x: [Float], rows: Int, _ w: [Float], n: Int, k: Int, bias: [Float]?) -> [Double] {
    var out = [Double](repeating: 0, count: rows * n)
    if let bias {
        for r in 0..<rows { for j in 0..<n { out[r * n + j] = Double(bias[j]) } }
    }
    let a = x.map(Double.init), b = w.map(Double.init)
    cblas_dgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(k),
        1, &out, Int32(n))
    return out
}

private func roundedToBF16(_ values: [Float]) -> [Float] {
    var out = [Float](repeating: 0, count: values.count)
    embed_matmul_round_bf16(values, &out, values.count)
    return out
}

@Suite("oneDNN linear layers against a Double reference, where the CPU has them")
struct MatmulTests {
    /// The model's shapes (Q/K/V with bias, feed-forward in and out), at row counts that are not multiples of any
    /// block size, one row, and more rows than a sequence.
    static let shapes = [(n: 1152, k: 384, bias: true), (n: 1536, k: 384, bias: false), (n: 384, k: 1536, bias: false)]
    static let rowCounts = [1, 33, 257]

    private func run(
        _ backend: Bert.MatrixBackend, x: [Float], rows: Int, w: [Float], n: Int, k: Int, bias: [Float]?, threads: Int = 1
    ) throws -> [Float] {
        let weight = FloatBuffer(copying: w, shape: [n, k])
        let prepared = try Bert.PreparedMatmul(
            backend: backend, weight: weight, bias: bias.map { FloatBuffer(copying: $0, shape: [n]) })
        var out = [Float](repeating: .nan, count: rows * n)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(prepared.scratchBytes(rows: rows), 1), alignment: 64)
        defer { scratch.deallocate() }
        #expect(prepared.run(x, rows: rows, into: &out, scratch: scratch, threads: threads))
        return out
    }

    /// The worst relative error of `backend` against the Double reference, over every shape and row count, and
    /// (bf16) against the reference on unrounded inputs.
    private func worstErrors(_ backend: Bert.MatrixBackend, seed: UInt64, rounding: ([Float]) -> [Float])
        throws -> (rounded: Double, exact: Double)
    {
        var worst = (rounded: 0.0, exact: Double.infinity)
        for (index, shape) in Self.shapes.enumerated() {
            for rows in Self.rowCounts {
                let x = noise(rows * shape.k, seed: seed + UInt64(index), scale: 1)
                let w = noise(shape.n * shape.k, seed: seed + 10, scale: 1)
                let bias = shape.bias ? noise(shape.n, seed: seed + 20, scale: 1) : nil
                let got = try run(backend, x: x, rows: rows, w: w, n: shape.n, k: shape.k, bias: bias)
                func error(_ want: [Double]) -> Double {
                    zip(got, want).map { abs(Double($0) - $1) / max(abs($1), 1) }.max() ?? .nan
                }
                let rounded = error(reference(rounding(x), rows: rows, rounding(w), n: shape.n, k: shape.k, bias: bias))
                let exact = error(reference(x, rows: rows, w, n: shape.n, k: shape.k, bias: bias))
                #expect(rounded < 1e-4, "\(backend) \(shape) rows \(rows): relative error \(rounded)")
                worst = (max(worst.rounded, rounded), min(worst.exact, exact))
            }
        }
        return worst
    }

    @Test("fp32 products equal the reference to 1e-4 relative, bias included, at every shape and row count")
    func fp32() throws {
        guard Bert.MatrixBackend.isAvailable(.oneDNN) else {
            print("oneDNN fp32 not tested: no AVX-512 kernels on this CPU (\(BertEmbedder.oneDNNInstructionSet)); OpenBLAS serves")
            return
        }
        _ = try worstErrors(.oneDNN, seed: 10) { $0 }
    }

    @Test("bf16 products equal the reference on bf16-rounded inputs and weights to 1e-4: only the rounding differs")
    func bf16() throws {
        guard Bert.MatrixBackend.isAvailable(.bf16) else {
            print("oneDNN bf16 not tested: this CPU has no AVX512_BF16 (\(BertEmbedder.oneDNNInstructionSet)); bf16 is refused")
            return
        }
        let worst = try worstErrors(.bf16, seed: 40, rounding: roundedToBF16)
        // And it is bf16: against the unrounded product every case errs far more than fp32 does.
        #expect(worst.exact > 1e-3, "bf16 as exact as fp32 (\(worst.exact))")
    }

    @Test("a product gives the same bits on one thread and on two, so a vector does not depend on the load", arguments: ["fp32", "bf16"])
    func threadsDoNotChangeBits(_ precision: String) throws {
        let backend: Bert.MatrixBackend = precision == "bf16" ? .bf16 : .oneDNN
        guard Bert.MatrixBackend.isAvailable(backend) else {
            print("oneDNN \(precision) threads not tested: this CPU cannot run it (\(BertEmbedder.oneDNNInstructionSet))")
            return
        }
        for (index, shape) in Self.shapes.enumerated() {
            for rows in [2, 17, 32, 100] {
                let x = noise(rows * shape.k, seed: 80 + UInt64(index), scale: 1)
                let w = noise(shape.n * shape.k, seed: 90, scale: 1)
                let bias = shape.bias ? noise(shape.n, seed: 95, scale: 1) : nil
                let one = try run(backend, x: x, rows: rows, w: w, n: shape.n, k: shape.k, bias: bias, threads: 1)
                let two = try run(backend, x: x, rows: rows, w: w, n: shape.n, k: shape.k, bias: bias, threads: 2)
                #expect(one.map(\.bitPattern) == two.map(\.bitPattern), "\(precision) \(shape) rows \(rows)")
            }
        }
    }

    @Test("an empty product writes nothing and succeeds")
    func noRows() throws {
        guard Bert.MatrixBackend.isAvailable(.oneDNN) else {
            print("oneDNN not tested: no AVX-512 kernels on this CPU (\(BertEmbedder.oneDNNInstructionSet))")
            return
        }
        #expect(try run(.oneDNN, x: [], rows: 0, w: noise(384 * 384, seed: 1), n: 384, k: 384, bias: nil).isEmpty)
    }

    @Test("bf16 rounding is to nearest, ties to even, and keeps infinities and NaN")
    func rounding() {
        let one = Float(1), ulp = Float(bitPattern: 0x3F80_8000) - one  // half a bf16 step above 1: a tie
        let values: [Float] = [one, one + ulp, Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x3F80_8001), -2.5, .infinity, -.infinity]
        let rounded = roundedToBF16(values)
        #expect(rounded[0] == 1)
        #expect(rounded[1] == 1, "a tie goes to the even neighbour, 1")
        #expect(rounded[2] == Float(bitPattern: 0x3F82_0000), "a tie from an odd bf16 goes up to the even one")
        #expect(rounded[3] == Float(bitPattern: 0x3F81_0000), "above the tie rounds up")
        #expect(rounded[4] == -2.5 && rounded[5] == .infinity && rounded[6] == -.infinity)
        #expect(roundedToBF16([.nan])[0].isNaN)
    }

    @Test("attention's products on oneDNN's sgemm equal OpenBLAS's on strided views (query, key and value of one head)")
    func attention() {
        guard Bert.MatrixBackend.isAvailable(.oneDNN) else {
            print("oneDNN attention not tested: no AVX-512 kernels on this CPU (\(BertEmbedder.oneDNNInstructionSet))")
            return
        }
        let n = 77, stride = 1152, head = 32
        let rows = noise(n * stride, seed: 70, scale: 1)
        var viaOneDNN = [Float](repeating: .nan, count: n * n), viaBLAS = viaOneDNN
        rows.withUnsafeBufferPointer { qkv in
            let query = qkv.baseAddress! + 3 * head, key = qkv.baseAddress! + 384 + 3 * head
            Kernels.multiplyTransposed(query, lda: stride, key, ldb: stride, m: n, n: n, k: head, alpha: 0.125, into: &viaOneDNN, ldc: n, oneDNNThreads: 1)
            Kernels.multiplyTransposed(query, lda: stride, key, ldb: stride, m: n, n: n, k: head, alpha: 0.125, into: &viaBLAS, ldc: n)
        }
        #expect(zip(viaOneDNN, viaBLAS).allSatisfy { abs($0 - $1) <= 1e-5 * max(abs($1), 1) })
        var contextOneDNN = [Float](repeating: .nan, count: n * 384), contextBLAS = contextOneDNN
        rows.withUnsafeBufferPointer { qkv in
            let value = qkv.baseAddress! + 768 + 5 * head
            Kernels.multiply(viaBLAS, lda: n, value, ldb: stride, m: n, n: head, k: n, into: &contextOneDNN, ldc: 384, oneDNNThreads: 1)
            Kernels.multiply(viaBLAS, lda: n, value, ldb: stride, m: n, n: head, k: n, into: &contextBLAS, ldc: 384)
        }
        for r in 0..<n {
            for c in 0..<head {
                let a = contextOneDNN[r * 384 + c], b = contextBLAS[r * 384 + c]
                #expect(abs(a - b) <= 1e-4 * max(abs(b), 1), "row \(r) column \(c)")
            }
        }
        // Columns outside the head are not written.
        #expect(contextOneDNN[head].isNaN && contextOneDNN[383].isNaN)
    }
}
