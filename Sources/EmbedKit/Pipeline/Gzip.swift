internal import CEmbedZlib

/// Decompresses gzip data (RFC 1952) with zlib, refusing more output than a limit.
///
/// Memory is the output (never more than the limit), two 64 KiB buffers and zlib's state, whatever the compressed
/// or the declared size. Members are decompressed one after another, as `gzip -d` does. Damage never throws:
/// a truncated stream, corrupt data, a wrong checksum or data after the last member keep the text decompressed so
/// far, with a warning saying so.
public enum Gzip: Sendable {
    /// What decompressing gave.
    public enum Outcome: Sendable, Equatable {
        /// The decompressed bytes (at most the limit), and what was wrong with the stream, if anything.
        case decompressed([UInt8], warnings: [String])
        /// The data does not start with the gzip magic number.
        case notGzip
        /// The output passed `limit` bytes: decompression stopped there and the bytes were dropped.
        case tooLarge(limit: Int)
    }

    static let chunkSize = 1 << 16

    /// True when `bytes` start with the gzip magic number.
    public static func hasMagic(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.starts(with: [0x1F, 0x8B])
    }

    /// Decompresses `data`, producing at most `limit` bytes.
    public static func decompress(_ data: [UInt8], limit: Int) -> Outcome {
        var offset = 0
        return decompress(limit: limit) { buffer in
            let count = min(buffer.count, data.count - offset)
            data.withUnsafeBufferPointer { source in
                _ = buffer.initialize(from: source[offset..<(offset + count)])
            }
            offset += count
            return count
        }
    }

    /// Decompresses what `read` gives (it fills the buffer's start and returns the byte count, 0 at the end),
    /// producing at most `limit` bytes.
    static func decompress<E: Error>(
        limit: Int, read: (UnsafeMutableBufferPointer<UInt8>) throws(E) -> Int
    ) throws(E) -> Outcome {
        let input = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: chunkSize)
        let output = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: chunkSize)
        defer {
            input.deallocate()
            output.deallocate()
        }
        var start = 0
        var end = 0
        var atEnd = false
        /// Makes at least `minimum` bytes available (fewer only at the end of the data).
        func fill(_ minimum: Int) throws(E) {
            guard end - start < minimum else { return }
            if start > 0 {
                if end > start { UnsafeMutableRawPointer(input.baseAddress!).copyMemory(from: input.baseAddress! + start, byteCount: end - start) }
                end -= start
                start = 0
            }
            while end < minimum && !atEnd {
                let count = try read(UnsafeMutableBufferPointer(rebasing: input[end...]))
                if count == 0 { atEnd = true } else { end += count }
            }
        }

        try fill(2)
        guard hasMagic(input[start..<end]) else { return .notGzip }
        var stream = z_stream()
        // 16 + 15: a gzip wrapper (header, CRC-32 and length checked by zlib), the largest window.
        guard CEmbedZlib_inflateInit2(&stream, 16 + 15) == Z_OK else {
            return .decompressed([], warnings: ["zlib could not start decompressing; nothing read"])
        }
        defer { inflateEnd(&stream) }

        var bytes: [UInt8] = []
        var warnings: [String] = []
        decompressing: while true {
            if start == end { try fill(1) }
            stream.next_in = input.baseAddress! + start
            stream.avail_in = UInt32(end - start)
            stream.next_out = output.baseAddress
            stream.avail_out = UInt32(chunkSize)
            let status = inflate(&stream, Z_NO_FLUSH)
            start = end - Int(stream.avail_in)
            let produced = chunkSize - Int(stream.avail_out)
            if produced > 0 {
                guard bytes.count + produced <= limit else { return .tooLarge(limit: limit) }
                if bytes.count + produced > bytes.capacity {
                    // Grow by doubling, but never past the limit: capacity stays within it.
                    bytes.reserveCapacity(min(limit, max(2 * bytes.capacity, bytes.count + produced, chunkSize)))
                }
                bytes.append(contentsOf: output[..<produced])
            }
            switch status {
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress possible: zlib wants input and there is none left.
                if start == end && atEnd {
                    warnings.append(
                        "the gzip data ends early (truncated); kept the \(bytes.count) bytes decompressed before the end")
                    break decompressing
                }
            case Z_STREAM_END:
                try fill(2)
                if start == end { break decompressing }
                if hasMagic(input[start..<end]) {
                    inflateReset(&stream)  // another member follows
                    continue
                }
                warnings.append("data after the end of the gzip stream ignored")
                break decompressing
            default:
                // Corrupt deflate data, a wrong CRC-32 or length (zlib checks both after the last byte), a header
                // asking for a preset dictionary: what came out before is kept.
                let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                warnings.append("the gzip data is damaged (\(reason)); kept the \(bytes.count) bytes decompressed before")
                break decompressing
            }
        }
        return .decompressed(bytes, warnings: warnings)
    }
}
