@testable import EmbedKitBERT
import Foundation
import Testing

@Suite("Kernels on tiny hand-made tensors")
struct KernelsTests {
    @Test("GELU is the exact erf form to 1e-6")
    func gelu() {
        var values = (0..<96).map { Float($0 - 48) / 8 }  // −6 … 5.875
        values += [-20, -9, 0, 9, 20, -0.001, 0.001, 3e-5]
        values += [Float](repeating: 0, count: (8 - values.count % 8) % 8)
        var output = values
        output.withUnsafeMutableBufferPointer { Kernels.gelu($0.baseAddress!, count: $0.count) }
        for (x, y) in zip(values, output) {
            let expected = 0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
            #expect(abs(Double(y) - expected) <= 1e-6 * max(1, abs(expected)), "gelu(\(x))")
        }
    }

    @Test("exp has relative error below 1e-6 and underflows to 0")
    func exp() {
        for start in stride(from: -90.0, to: 88.0, by: 0.37 * 8) {
            let x = Kernels.Vector((0..<8).map { Float(start + 0.37 * Double($0)) })
            let y = Kernels.exp(x)
            for lane in 0..<8 where x[lane] > -87 && x[lane] < 88 {
                let expected = Foundation.exp(Double(x[lane]))
                #expect(abs(Double(y[lane]) - expected) <= 1e-6 * expected, "exp(\(x[lane]))")
            }
        }
        #expect(Kernels.exp(Kernels.Vector(repeating: -.infinity)) == Kernels.Vector(repeating: 0))
    }

    @Test("exp for non-positive inputs has relative error below 1e-6 and stays finite")
    func expNonPositive() {
        for start in stride(from: -90.0, to: 0, by: 0.23 * 8) {
            let x = Kernels.Vector((0..<8).map { Float(min(0, start + 0.23 * Double($0))) })
            let y = Kernels.expNonPositive(x)
            for lane in 0..<8 where x[lane] > -87 {
                let expected = Foundation.exp(Double(x[lane]))
                #expect(abs(Double(y[lane]) - expected) <= 1e-6 * expected, "exp(\(x[lane]))")
            }
        }
        let tiny = Kernels.expNonPositive(Kernels.Vector(repeating: -.infinity))
        #expect(tiny.max() < 1e-37 && tiny.min() >= 0)
    }

    @Test("LayerNorm with residual matches a hand computation")
    func layerNorm() {
        var x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 10]
        let residual: [Float] = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 6]
        let gamma: [Float] = [1, 1, 1, 1, 2, 2, 2, 2]
        let beta: [Float] = [0, 0, 0, 0, 0, 0, 0, 1]
        x.withUnsafeMutableBufferPointer { buffer in
            Kernels.addLayerNorm(
                buffer.baseAddress!, residual: residual, rows: 2, width: 8, gamma: gamma, beta: beta, epsilon: 1e-12)
        }
        // Row 0: 2…9, mean 5.5, variance 5.25. Row 1: seven 0 and one 16, mean 2, variance 28.
        let s0 = 1 / 5.25.squareRoot(), s1 = 1 / 28.0.squareRoot()
        let expected: [Double] = (0..<8).map { Double($0 + 2) - 5.5 }.enumerated().map { i, d in
            d * s0 * Double(gamma[i]) + Double(beta[i])
        } + (0..<8).map { i in (i == 7 ? 14.0 : -2.0) * s1 * Double(gamma[i]) + Double(beta[i]) }
        for (value, wanted) in zip(x, expected) { #expect(abs(Double(value) - wanted) < 1e-5) }
    }

    @Test("softmax rows sum to 1 and match a hand computation, for widths not a multiple of 8")
    func softmax() {
        for width in [1, 3, 8, 11, 17] {
            let rows = 2
            var values = (0..<(rows * width)).map { Float(($0 * 7) % 5) - 2.5 }
            let original = values
            values.withUnsafeMutableBufferPointer {
                Kernels.softmaxRows($0.baseAddress!, rows: rows, columns: width, stride: width)
            }
            for row in 0..<rows {
                let slice = original[(row * width)..<((row + 1) * width)].map(Double.init)
                let peak = slice.max()!
                let total = slice.reduce(0) { $0 + Foundation.exp($1 - peak) }
                for (column, x) in slice.enumerated() {
                    #expect(abs(Double(values[row * width + column]) - Foundation.exp(x - peak) / total) < 1e-6)
                }
            }
        }
    }

    @Test("mean pooling over the given rows, then unit L2 norm")
    func pooling() {
        let x: [Float] = [3, 0, 0, 4, 1, 0, 0, 0]  // two rows of four
        var output = [Float](repeating: 9, count: 4)
        output.withUnsafeMutableBufferPointer { Kernels.meanPoolNormalized(x, rows: 2, width: 4, into: $0.baseAddress!) }
        // Mean (2, 0, 0, 2) → normalized (1/√2, 0, 0, 1/√2).
        let r = Float(0.5).squareRoot()
        #expect(output.enumerated().allSatisfy { abs($0.element - [r, 0, 0, r][$0.offset]) < 1e-6 })
    }

    @Test("linear computes input · weightᵀ + bias with PyTorch weight layout")
    func linear() {
        let input: [Float] = [1, 2, 3, 4, 5, 6]  // 2 × 3
        let weight: [Float] = [1, 0, 0, 0, 1, 1]  // 2 × 3 (out × in)
        let bias: [Float] = [10, 20]
        var output = [Float](repeating: 0, count: 4)
        output.withUnsafeMutableBufferPointer {
            Kernels.linear(input, rows: 2, inFeatures: 3, weight: weight, bias: bias, outFeatures: 2, into: $0.baseAddress!)
        }
        #expect(output == [11, 25, 14, 31])
    }
}
