#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Legacy charsets through the C library's iconv: whole single-byte tables, and streamed multi-byte text.
enum IconvConversion {
    /// What a conversion gave: valid UTF-8, and how many invalid byte sequences became U+FFFD.
    struct Result {
        var utf8: [UInt8]
        var replaced: Int
        /// Characters outside ASCII that decoded cleanly: what `replaced` is weighed against.
        var nonASCII: Int
    }

    /// No code point: the byte is undefined in the charset.
    static let undefined: UInt32 = .max

    /// What iconv_open returns when it has no converter: `(iconv_t) -1`.
    private static var failedOpen: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: -1) }

    /// Tables made so far, by charset. `Locked`, not `Mutex`: ThreadSanitizer cannot see `Mutex`'s hand-over.
    private static let tables = Locked<[String: [UInt32]]>([:])

    /// The characters of bytes 0x80-0xFF in the single-byte charset iconv calls `name` (``undefined`` where it
    /// has none), or nil when iconv has no such converter. Built once per charset, one byte at a time, so that
    /// converters that combine characters (glibc's CP1255 and CP1258 compose a letter with the accent after it)
    /// still give one character per byte, as the Encoding Standard decodes them.
    static func singleByteTable(_ name: String) -> [UInt32]? {
        if let table = tables.withLock({ $0[name] }) { return table }
        guard let cd = iconv_open("UTF-32LE", name), cd != failedOpen else { return nil }
        defer { iconv_close(cd) }
        var table = [UInt32](repeating: undefined, count: 128)
        for byte in 0x80...0xFF {
            var input = [CChar(truncatingIfNeeded: byte)]
            var output = [UInt32](repeating: 0, count: 4)
            let produced: Int = input.withUnsafeMutableBufferPointer { inBuffer in
                output.withUnsafeMutableBytes { outBuffer in
                    var inPointer = inBuffer.baseAddress
                    var inLeft = 1
                    var outPointer = outBuffer.baseAddress?.assumingMemoryBound(to: CChar.self)
                    var outLeft = outBuffer.count
                    let failed = iconv(cd, &inPointer, &inLeft, &outPointer, &outLeft) == -1
                    // Flush: a composing converter holds the character back, waiting for an accent.
                    _ = iconv(cd, nil, nil, &outPointer, &outLeft)
                    return failed && outLeft == outBuffer.count ? 0 : (outBuffer.count - outLeft) / 4
                }
            }
            if produced == 1 { table[byte - 0x80] = output[0] }
            _ = iconv(cd, nil, nil, nil, nil)  // back to the initial state for the next byte
        }
        tables.withLock { $0[name] = table }
        return table
    }

    /// Decodes `bytes` from the multi-byte charset iconv calls `name`, or nil when iconv has no such converter.
    ///
    /// Memory: the output and one 64 KiB buffer. A byte iconv rejects becomes U+FFFD (or `extraBytes[byte]`)
    /// and decoding resumes at the next byte; an incomplete sequence at the end becomes one U+FFFD.
    static func decodeMultiByte(
        _ bytes: ArraySlice<UInt8>, iconvName name: String, extraBytes: [UInt8: UInt32]
    ) -> Result? {
        guard let cd = iconv_open("UTF-8", name), cd != failedOpen else { return nil }
        defer { iconv_close(cd) }
        var result = Result(utf8: [], replaced: 0, nonASCII: 0)
        result.utf8.reserveCapacity(bytes.count + bytes.count / 2)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        bytes.withUnsafeBufferPointer { input in
            guard let base = input.baseAddress else { return }
            var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(mutating: base)
                .assumingMemoryBound(to: CChar.self)
            var inLeft = input.count
            buffer.withUnsafeMutableBytes { out in
                let outBase = out.baseAddress!.assumingMemoryBound(to: CChar.self)
                func drain(_ outPointer: UnsafeMutablePointer<CChar>?) {
                    let produced = UnsafeBufferPointer(
                        start: UnsafeRawPointer(outBase).assumingMemoryBound(to: UInt8.self),
                        count: outPointer! - outBase)
                    result.utf8.append(contentsOf: produced)
                }
                while inLeft > 0 {
                    var outPointer: UnsafeMutablePointer<CChar>? = outBase
                    var outLeft = out.count
                    let status = iconv(cd, &inPointer, &inLeft, &outPointer, &outLeft)
                    let error = status == -1 ? errno : 0
                    drain(outPointer)
                    guard status == -1 else { continue }
                    switch error {
                    case E2BIG:
                        continue
                    case EINVAL:
                        // The input ends inside a sequence.
                        appendScalar(0xFFFD, to: &result.utf8)
                        result.replaced += 1
                        inLeft = 0
                    default:
                        // EILSEQ (or anything unexpected): replace one byte and go on after it.
                        let byte = UInt8(truncatingIfNeeded: inPointer!.pointee)
                        if let scalar = extraBytes[byte] {
                            appendScalar(scalar, to: &result.utf8)
                        } else {
                            appendScalar(0xFFFD, to: &result.utf8)
                            result.replaced += 1
                        }
                        inPointer! += 1
                        inLeft -= 1
                    }
                }
                // Back to the initial shift state, writing out anything a stateful converter held back.
                var outPointer: UnsafeMutablePointer<CChar>? = outBase
                var outLeft = out.count
                _ = iconv(cd, nil, nil, &outPointer, &outLeft)
                drain(outPointer)
            }
        }
        result.nonASCII = countNonASCII(result.utf8) - result.replaced
        return result
    }

    /// Decodes `bytes` with a single-byte `table` (from ``singleByteTable(_:)``).
    static func decodeSingleByte(_ bytes: ArraySlice<UInt8>, table: [UInt32]) -> Result {
        var result = Result(utf8: [], replaced: 0, nonASCII: 0)
        result.utf8.reserveCapacity(bytes.count + bytes.count / 2)
        for byte in bytes {
            if byte < 0x80 {
                result.utf8.append(byte)
                continue
            }
            let scalar = table[Int(byte) - 0x80]
            if scalar == undefined {
                appendScalar(0xFFFD, to: &result.utf8)
                result.replaced += 1
            } else {
                appendScalar(scalar, to: &result.utf8)
                result.nonASCII += 1
            }
        }
        return result
    }

    /// Characters (not bytes) outside ASCII in valid UTF-8.
    private static func countNonASCII(_ utf8: [UInt8]) -> Int {
        var count = 0
        for byte in utf8 where byte >= 0xC0 { count += 1 }
        return count
    }

    /// Appends the UTF-8 encoding of the Unicode scalar `scalar` to `out`.
    static func appendScalar(_ scalar: UInt32, to out: inout [UInt8]) {
        if scalar < 0x80 {
            out.append(UInt8(scalar))
        } else if scalar < 0x800 {
            out.append(UInt8(0xC0 | scalar >> 6))
            out.append(UInt8(0x80 | scalar & 0x3F))
        } else if scalar < 0x10000 {
            out.append(UInt8(0xE0 | scalar >> 12))
            out.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        } else {
            out.append(UInt8(0xF0 | scalar >> 18))
            out.append(UInt8(0x80 | (scalar >> 12) & 0x3F))
            out.append(UInt8(0x80 | (scalar >> 6) & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
