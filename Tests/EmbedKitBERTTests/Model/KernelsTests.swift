import CEmbedKernels
@testable import EmbedKitBERT
import Foundation
import Testing

@Suite("Kernels on tiny hand-made tensors, every variant this CPU can run")
struct KernelsTests {
    /// Every variant the dispatcher could pick here; the portable one always.
    static let variants = Kernels.availableVariants.map { Kernels.name(of: $0) }

    private func variant(_ name: String) -> Int32 {
        Kernels.availableVariants.first { Kernels.name(of: $0) == name }!
    }

    @Test("the dispatcher picks the widest variant the CPU has; AVX2 is available where /proc/cpuinfo lists it")
    func dispatch() throws {
        let available = Kernels.availableVariants
        #expect(available.first == Int32(EMBED_KERNELS_PORTABLE))
        #expect(Kernels.variant == available.max())
        #if arch(x86_64) && os(Linux)
            let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
            let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? [])
            #expect(available.contains(Int32(EMBED_KERNELS_AVX2)) == (flags.contains("avx2") && flags.contains("fma")))
            #expect(available.contains(Int32(EMBED_KERNELS_AVX512)) == flags.contains("avx512f"))
        #endif
    }

    @Test("bias + GELU is the exact erf form to 1e-6", arguments: variants)
    func gelu(_ name: String) {
        var values = (0..<96).map { Float($0 - 48) / 8 }  // −6 … 5.875
        values += [-20, -9, 0, 9, 20, -0.001, 0.001, 3e-5]
        values += [Float](repeating: 0, count: (32 - values.count % 32) % 32)
        let bias = (0..<32).map { Float($0 % 3) - 1 }
        var output = values
        output.withUnsafeMutableBufferPointer {
            Kernels.biasGELU($0.baseAddress!, bias: bias, rows: $0.count / 32, width: 32, variant: variant(name))
        }
        for (index, (x, y)) in zip(values, output).enumerated() {
            let v = Double(x + bias[index % 32])
            let expected = 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot()))
            #expect(abs(Double(y) - expected) <= 1e-6 * max(1, abs(expected)), "gelu(\(v))")
        }
    }

    @Test("exp for non-positive inputs has relative error below 1e-6 and stays finite", arguments: variants)
    func expNonPositive(_ name: String) {
        let x = stride(from: -90.0, to: 0, by: 0.23).map { Float($0) } + [0, -0.0, 1e-30]
        let inputs = x.map { min(0, $0) }
        let y = Kernels.expNonPositive(inputs, variant: variant(name))
        for (input, output) in zip(inputs, y) where input > -87 {
            let expected = Foundation.exp(Double(input))
            #expect(abs(Double(output) - expected) <= 1e-6 * expected, "exp(\(input))")
        }
        let tiny = Kernels.expNonPositive([-.infinity, -1000], variant: variant(name))
        #expect(tiny.max()! < 1e-37 && tiny.min()! >= 0)
    }

    @Test("LayerNorm with bias and residual matches a hand computation", arguments: variants)
    func layerNorm(_ name: String) {
        // Two rows of 32: row 0 is 1…32 plus bias 1 (mean 17.5), row 1 is 31 zeros and one 32.
        var x = (0..<32).map { Float($0) } + [Float](repeating: 0, count: 32)
        let bias = [Float](repeating: 1, count: 32)
        let residual = [Float](repeating: 0, count: 32) + [Float](repeating: -1, count: 31) + [31]
        let gamma = (0..<32).map { Float($0 < 16 ? 1 : 2) }
        let beta = (0..<32).map { Float($0 == 31 ? 1 : 0) }
        x.withUnsafeMutableBufferPointer { buffer in
            Kernels.addLayerNorm(
                buffer.baseAddress!, bias: bias, residual: residual, rows: 2, width: 32, gamma: gamma, beta: beta,
                epsilon: 1e-12, variant: variant(name))
        }
        // Row 0: 1…32, mean 16.5, variance (32² − 1) / 12. Row 1: 31 zeros and 32, mean 1, variance 31.
        let s0 = 1 / ((32.0 * 32 - 1) / 12).squareRoot(), s1 = 1 / 31.0.squareRoot()
        let row0 = (0..<32).map { (Double($0 + 1) - 16.5) * s0 }
        let row1 = (0..<32).map { ($0 == 31 ? 31.0 : -1.0) * s1 }
        let expected = zip(row0 + row1, 0..<64).map { value, index in
            value * Double(gamma[index % 32]) + Double(beta[index % 32])
        }
        for (value, wanted) in zip(x, expected) { #expect(abs(Double(value) - wanted) < 1e-5) }
    }

    @Test("softmax rows sum to 1 and match a hand computation, for any width", arguments: variants)
    func softmax(_ name: String) {
        for width in [1, 3, 8, 11, 16, 17, 37] {
            let rows = 2
            var values = (0..<(rows * width)).map { Float(($0 * 7) % 5) - 2.5 }
            let original = values
            values.withUnsafeMutableBufferPointer {
                Kernels.softmaxRows($0.baseAddress!, rows: rows, columns: width, stride: width, variant: variant(name))
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

    @Test("mean pooling over the given rows, then unit L2 norm", arguments: variants)
    func pooling(_ name: String) {
        var x = [Float](repeating: 0, count: 32)  // two rows of 16
        x[0] = 3; x[3] = 4; x[16] = 1
        var output = [Float](repeating: 9, count: 16)
        output.withUnsafeMutableBufferPointer {
            Kernels.meanPoolNormalized(x, rows: 2, width: 16, into: $0.baseAddress!, variant: variant(name))
        }
        // Mean (2, 0, 0, 2, 0…) → normalized (1/√2, 0, 0, 1/√2, 0…).
        let r = Float(0.5).squareRoot()
        #expect(output.enumerated().allSatisfy { abs($0.element - ($0.offset == 0 || $0.offset == 3 ? r : 0)) < 1e-6 })
    }

    @Test("every variant agrees with the portable one on model-sized random tensors", arguments: variants)
    func agreesWithPortable(_ name: String) {
        let portable = Int32(EMBED_KERNELS_PORTABLE)
        let chosen = variant(name)
        let rows = 5, width = 384, wide = 1536
        func close(_ a: [Float], _ b: [Float], _ tolerance: Float, _ what: String) {
            let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst <= tolerance, "\(what): \(name) differs from portable by \(worst)")
        }
        func run(_ input: [Float], _ body: (UnsafeMutablePointer<Float>, Int32) -> Void) -> ([Float], [Float]) {
            var a = input, b = input
            a.withUnsafeMutableBufferPointer { body($0.baseAddress!, chosen) }
            b.withUnsafeMutableBufferPointer { body($0.baseAddress!, portable) }
            return (a, b)
        }
        let bias = noise(wide, seed: 1, scale: 1)
        var (a, b) = run(noise(rows * wide, seed: 2)) {
            Kernels.biasGELU($0, bias: bias, rows: rows, width: wide, variant: $1)
        }
        close(a, b, 1e-6, "bias + GELU")

        let residual = noise(rows * width, seed: 3)
        let gamma = noise(width, seed: 4, scale: 2), beta = noise(width, seed: 5, scale: 1)
        (a, b) = run(noise(rows * width, seed: 6, scale: 20)) {
            Kernels.addLayerNorm(
                $0, bias: bias, residual: residual, rows: rows, width: width, gamma: gamma, beta: beta,
                epsilon: 1e-12, variant: $1)
        }
        close(a, b, 1e-5, "LayerNorm")

        for columns in [7, 100, 256] {
            (a, b) = run(noise(rows * columns, seed: 7, scale: 30)) {
                Kernels.softmaxRows($0, rows: rows, columns: columns, stride: columns, variant: $1)
            }
            close(a, b, 1e-6, "softmax over \(columns)")
        }

        let hidden = noise(rows * width, seed: 8)
        (a, b) = run([Float](repeating: 0, count: width)) {
            Kernels.meanPoolNormalized(hidden, rows: rows, width: width, into: $0, variant: $1)
        }
        close(a, b, 1e-6, "pooling")

        let ids: [Int32] = [3, 0, 7, 7, 1]
        let word = noise(8 * width, seed: 9), position = noise(rows * width, seed: 10), type = noise(width, seed: 11)
        (a, b) = run([Float](repeating: 0, count: rows * width)) {
            Kernels.embeddings(
                ids, count: rows, word: word, position: position, type: type, gamma: gamma, beta: beta,
                epsilon: 1e-12, width: width, into: $0, variant: $1)
        }
        close(a, b, 1e-5, "embeddings")
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
        output.withUnsafeMutableBufferPointer {
            Kernels.linear(input, rows: 2, inFeatures: 3, weight: weight, bias: nil, outFeatures: 2, into: $0.baseAddress!)
        }
        #expect(output == [1, 5, 4, 11])
    }

    @Test("the row kernel multiplies by weightᵀ like a double-precision reference, with and without accumulating",
          arguments: variants)
    func rowKernel(name: String) {
        // 70 output columns: blocks of four and a tail; rows odd and even; output rows wider than the product.
        let k = 48, n = 70, ldo = 75
        let weight = noise(n * k, seed: 7, scale: 1)
        for rows in [1, 2, 3, 8, 17] {
            let input = noise(rows * k, seed: UInt64(rows), scale: 1)
            let start = noise(rows * ldo, seed: 99, scale: 1)
            for accumulate in [false, true] {
                var output = start
                output.withUnsafeMutableBufferPointer {
                    embed_k_matmul_bt(variant(name), input, rows, k, weight, n, $0.baseAddress!, ldo, accumulate ? 1 : 0)
                }
                var worst: Double = 0
                for r in 0..<rows {
                    for j in 0..<ldo {
                        var expected = Double(start[r * ldo + j])
                        if j < n {
                            let dot = (0..<k).reduce(0.0) { $0 + Double(input[r * k + $1]) * Double(weight[j * k + $1]) }
                            expected = (accumulate ? expected : 0) + dot
                        }
                        worst = max(worst, abs(expected - Double(output[r * ldo + j])))
                    }
                }
                #expect(worst < 1e-5, "rows \(rows), accumulate \(accumulate): off by \(worst)")
            }
        }
    }

    @Test("a linear layer gives the same product on the row kernel, split over threads or not, as on OpenBLAS")
    func linearPaths() {
        let k = 384, n = 1152
        let weight = noise(n * k, seed: 3, scale: 0.1)
        let bias = noise(n, seed: 4, scale: 1)
        func product(_ input: [Float], rows: Int, threads: Int) -> [Float] {
            var output = [Float](repeating: .nan, count: rows * n)
            output.withUnsafeMutableBufferPointer {
                Kernels.linear(input, rows: rows, inFeatures: k, weight: weight, bias: bias, outFeatures: n,
                               into: $0.baseAddress!, threads: threads)
            }
            return output
        }
        // One row more than fewRows goes to OpenBLAS; its first fewRows rows must match the row kernel's.
        let rows = Kernels.fewRows
        let input = noise((rows + 1) * k, seed: 5, scale: 1)
        let blas = product(input, rows: rows + 1, threads: 1).prefix(rows * n)
        let rowKernel = product(Array(input.prefix(rows * k)), rows: rows, threads: 1)
        #expect(!rowKernel.contains { $0.isNaN })
        let worst = zip(rowKernel, blas).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "row kernel and OpenBLAS differ by \(worst)")
        for short in [1, 15, rows] {
            let part = Array(input.prefix(short * k))
            #expect(product(part, rows: short, threads: 1) == product(part, rows: short, threads: 2),
                    "\(short) rows: splitting the columns over threads changed the product")
        }
    }
}
