internal import CEmbedBLAS

/// The numeric building blocks of the forward pass: matrix multiplies through OpenBLAS, element-wise
/// work in SIMD loops over raw pointers (no bounds checks, no allocation).
enum Kernels {
    typealias Vector = SIMD8<Float>

    // MARK: - Matrix multiplication

    /// `output[rows × outFeatures] = input[rows × inFeatures] · weightᵀ + bias`, with the weight in
    /// PyTorch `Linear` layout `[outFeatures, inFeatures]`, all row-major.
    static func linear(
        _ input: UnsafePointer<Float>, rows: Int, inFeatures: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outFeatures: Int,
        into output: UnsafeMutablePointer<Float>
    ) {
        // Start from the bias in every row, then accumulate the product (beta = 1).
        for row in 0..<rows {
            (output + row * outFeatures).update(from: bias, count: outFeatures)
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outFeatures), Int32(inFeatures),
            1, input, Int32(inFeatures), weight, Int32(inFeatures), 1, output, Int32(outFeatures))
    }

    /// `c[m × n] = alpha · a[m × k] · bᵀ` where `b` is `[n × k]`; leading dimensions given.
    static func multiplyTransposed(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        m: Int, n: Int, k: Int, alpha: Float, into c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    /// `c[m × n] = a[m × k] · b[k × n]`; leading dimensions given.
    static func multiply(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        m: Int, n: Int, k: Int, into c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
            1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    // MARK: - Normalisation

    /// `x = LayerNorm(x + residual) · gamma + beta` over rows of `width` values (`residual` may be nil).
    /// `width` must be a multiple of 8.
    static func addLayerNorm(
        _ x: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, rows: Int, width: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float
    ) {
        let lanes = Vector.scalarCount
        let inverseWidth = 1 / Float(width)
        for row in 0..<rows {
            let values = UnsafeMutableRawPointer(x + row * width)
            var sum = Vector()
            if let residual {
                let added = UnsafeRawPointer(residual + row * width)
                for offset in stride(from: 0, to: width * 4, by: lanes * 4) {
                    let v = values.loadUnaligned(fromByteOffset: offset, as: Vector.self)
                        + added.loadUnaligned(fromByteOffset: offset, as: Vector.self)
                    values.storeBytes(of: v, toByteOffset: offset, as: Vector.self)
                    sum += v
                }
            } else {
                for offset in stride(from: 0, to: width * 4, by: lanes * 4) {
                    sum += values.loadUnaligned(fromByteOffset: offset, as: Vector.self)
                }
            }
            let mean = sum.sum() * inverseWidth
            var squares = Vector()
            for offset in stride(from: 0, to: width * 4, by: lanes * 4) {
                let d = values.loadUnaligned(fromByteOffset: offset, as: Vector.self) - mean
                squares += d * d
            }
            let scale = 1 / (squares.sum() * inverseWidth + epsilon).squareRoot()
            let g = UnsafeRawPointer(gamma)
            let b = UnsafeRawPointer(beta)
            for offset in stride(from: 0, to: width * 4, by: lanes * 4) {
                let v = values.loadUnaligned(fromByteOffset: offset, as: Vector.self)
                let normalized = (v - mean) * scale * g.loadUnaligned(fromByteOffset: offset, as: Vector.self)
                    + b.loadUnaligned(fromByteOffset: offset, as: Vector.self)
                values.storeBytes(of: normalized, toByteOffset: offset, as: Vector.self)
            }
        }
    }

    // MARK: - Activations

    /// Exact (erf) GELU in place: `x · ½ · (1 + erf(x / √2))`. `count` must be a multiple of 8.
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let raw = UnsafeMutableRawPointer(x)
        for offset in stride(from: 0, to: count * 4, by: Vector.scalarCount * 4) {
            let v = raw.loadUnaligned(fromByteOffset: offset, as: Vector.self)
            let result = 0.5 * v * (1 + erf(v * 0.70710678118654752))
            raw.storeBytes(of: result, toByteOffset: offset, as: Vector.self)
        }
    }

    /// Softmax of each row of `rows × columns` values (row stride `stride`), in place.
    static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int, stride rowStride: Int) {
        let lanes = Vector.scalarCount
        let whole = columns - columns % lanes
        for row in 0..<rows {
            let values = x + row * rowStride
            let raw = UnsafeMutableRawPointer(values)
            var maxima = Vector(repeating: -.infinity)
            for offset in Swift.stride(from: 0, to: whole * 4, by: lanes * 4) {
                let v = raw.loadUnaligned(fromByteOffset: offset, as: Vector.self)
                maxima.replace(with: v, where: v .> maxima)
            }
            var maximum = maxima.max()
            for column in whole..<columns { maximum = Swift.max(maximum, values[column]) }

            var sums = Vector()
            for offset in Swift.stride(from: 0, to: whole * 4, by: lanes * 4) {
                let e = expNonPositive(raw.loadUnaligned(fromByteOffset: offset, as: Vector.self) - maximum)
                raw.storeBytes(of: e, toByteOffset: offset, as: Vector.self)
                sums += e
            }
            var sum = sums.sum()
            if whole < columns {
                var tail = Vector(repeating: -.infinity)
                for column in whole..<columns { tail[column - whole] = values[column] }
                let e = expNonPositive(tail - maximum)
                for column in whole..<columns {
                    values[column] = e[column - whole]
                    sum += e[column - whole]
                }
            }
            let inverse = 1 / sum
            for offset in Swift.stride(from: 0, to: whole * 4, by: lanes * 4) {
                let v = raw.loadUnaligned(fromByteOffset: offset, as: Vector.self) * inverse
                raw.storeBytes(of: v, toByteOffset: offset, as: Vector.self)
            }
            for column in whole..<columns { values[column] *= inverse }
        }
    }

    // MARK: - Pooling

    /// The mean of `rows` rows of `width` values, then scaled to unit L2 norm, into `output`.
    static func meanPoolNormalized(
        _ x: UnsafePointer<Float>, rows: Int, width: Int, into output: UnsafeMutablePointer<Float>
    ) {
        output.update(repeating: 0, count: width)
        for row in 0..<rows {
            let values = x + row * width
            for column in 0..<width { output[column] += values[column] }
        }
        let inverseRows = 1 / Float(max(rows, 1))
        var squares: Float = 0
        for column in 0..<width {
            output[column] *= inverseRows
            squares += output[column] * output[column]
        }
        // sentence-transformers' Normalize: x / max(‖x‖, 1e-12).
        let inverseNorm = 1 / Swift.max(squares.squareRoot(), 1e-12)
        for column in 0..<width { output[column] *= inverseNorm }
    }

    // MARK: - Vector math

    /// eˣ per lane: range reduction to r ∈ [−½ ln 2, ½ ln 2], a degree-7 polynomial, scaling by 2ⁿ.
    /// Relative error about 1e-7; inputs below −87 give ≈ 0 (or exactly 0 for −∞), above 88 are clamped.
    @inline(__always)
    static func exp(_ x: Vector) -> Vector {
        // Clamp with compare-and-select: `clamped(lowerBound:upperBound:)` is not inlined.
        var clamped = x.replacing(with: -87, where: x .< -87)
        clamped.replace(with: 88, where: clamped .> 88)
        // n = round(x / ln 2) without a rounding instruction (baseline x86-64 has none for vectors):
        // adding 1.5·2²³ leaves n in the low mantissa bits, rounded to nearest even.
        let shifter: Float = 12_582_912
        let shifted = clamped * 1.44269504088896341 + shifter
        let n = shifted - shifter
        // ln 2 split into a part exact in float and the rest (Cody–Waite reduction).
        let r = clamped - n * 0.693145751953125 - n * 1.428606765330187e-06
        var p = Vector(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let exponent = (integer &+ 127) &<< 23
        let scale = unsafeBitCast(exponent, to: Vector.self)
        var result = p * scale
        result.replace(with: 0, where: x .< -87)
        return result
    }

    /// eˣ per lane for x ≤ 0 (softmax after subtracting the maximum, erf's e^(−x²)): the cheaper
    /// path of ``exp(_:)`` with no upper clamp, a degree-6 polynomial (relative error about 2e-7),
    /// and inputs below −87 giving e⁻⁸⁷ ≈ 1.6e-38 instead of exactly 0.
    @inline(__always)
    static func expNonPositive(_ x: Vector) -> Vector {
        let clamped = x.replacing(with: -87, where: x .< -87)
        let shifter: Float = 12_582_912
        let shifted = clamped * 1.44269504088896341 + shifter
        let n = shifted - shifter
        let r = clamped - n * 0.693145751953125 - n * 1.428606765330187e-06
        var p = Vector(repeating: 1.0 / 720)
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        return p * unsafeBitCast((integer &+ 127) &<< 23, to: Vector.self)
    }

    /// erf per lane (Abramowitz & Stegun 7.1.26; absolute error below 1.5e-7).
    @inline(__always)
    static func erf(_ x: Vector) -> Vector {
        let a = abs(x)
        let t = 1 / (1 + 0.3275911 * a)
        var p = Vector(repeating: 1.061405429)
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        p = p * t
        var y = 1 - p * expNonPositive(-a * a)
        y.replace(with: -y, where: x .< 0)
        return y
    }

    @inline(__always)
    private static func abs(_ x: Vector) -> Vector {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Vector.self)
    }
}
