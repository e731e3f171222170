public import Foundation

#if canImport(Glibc)
    private import Glibc
#elseif canImport(Darwin)
    private import Darwin
#endif

/// A memory-mapped `.safetensors` file with a validated header.
///
/// Validation: the 8-byte header length fits the file; the header is a UTF-8 JSON object; every tensor
/// has a known dtype, non-negative dimensions, and `data_offsets` inside the data section whose length
/// equals the shape's element count times the dtype's size; no two tensors that hold bytes overlap. A truncated or
/// hostile file gives a ``BertError``, never a crash or an out-of-bounds read.
///
/// `@unchecked Sendable`: the mapping is read-only (`PROT_READ`), never changes after `init`, and is
/// unmapped only in `deinit`, when no tensor view can remain (views keep the file alive).
public final class SafetensorsFile: @unchecked Sendable {
    /// The element types of the safetensors format.
    public enum DType: String, Sendable, CaseIterable {
        case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
        case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
        case i32 = "I32", u32 = "U32", f32 = "F32"
        case i64 = "I64", u64 = "U64", f64 = "F64"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .bool, .u8, .i8, .f8e5m2, .f8e4m3: 1
            case .i16, .u16, .f16, .bf16: 2
            case .i32, .u32, .f32: 4
            case .i64, .u64, .f64: 8
            }
        }
    }

    /// One tensor's entry in the header.
    public struct TensorInfo: Sendable, Hashable {
        public var dtype: DType
        public var shape: [Int]
        /// The tensor's bytes, as offsets from the start of the file.
        public var byteRange: Range<Int>
    }

    /// The largest header accepted (the format's own limit is 100 MB).
    public static let maxHeaderLength = 100_000_000

    /// The tensors by name.
    public let tensors: [String: TensorInfo]
    /// The `__metadata__` string map, empty when absent.
    public let metadata: [String: String]
    /// The file's length in bytes.
    public let byteCount: Int

    private let base: UnsafeRawPointer
    private let path: String

    /// Maps and validates the file at `url`.
    /// - Throws: ``BertError`` (`.fileUnreadable`, `.invalidSafetensors`).
    public init(url: URL) throws(BertError) {
        path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw BertError(.fileUnreadable, "Cannot open \(path).") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw BertError(.fileUnreadable, "\(path) is not a regular file.")
        }
        let size = Int(status.st_size)
        guard size >= 8 else {
            throw BertError(.invalidSafetensors, "\(path) is truncated: \(size) bytes, too short for a safetensors header.")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw BertError(.fileUnreadable, "Cannot memory-map \(path).")
        }
        let base = UnsafeRawPointer(mapped)
        do {
            (tensors, metadata) = try Self.parseHeader(UnsafeRawBufferPointer(start: base, count: size), path: path)
        } catch {
            munmap(mapped, size)
            throw error
        }
        self.base = base
        self.byteCount = size
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), byteCount)
    }

    /// The first byte of a tensor; valid as long as this file object lives.
    func rawPointer(for info: TensorInfo) -> UnsafeRawPointer {
        base + info.byteRange.lowerBound
    }

    /// Parses and validates the header of a complete safetensors file held in `bytes`.
    package static func parseHeader(
        _ bytes: UnsafeRawBufferPointer, path: String
    ) throws(BertError) -> (tensors: [String: TensorInfo], metadata: [String: String]) {
        func invalid(_ message: String) -> BertError {
            BertError(.invalidSafetensors, "\(path) is not a valid safetensors file: \(message).")
        }
        guard bytes.count >= 8 else { throw invalid("shorter than 8 bytes") }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(min(maxHeaderLength, bytes.count - 8)) else {
            throw invalid("the header length \(headerLength) exceeds the file (\(bytes.count) bytes)")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = bytes.count - dataStart
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[8..<dataStart]))
        } catch let error as DecodingError {
            let path: [any CodingKey]
            switch error {
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
            case .keyNotFound(let key, let c): path = c.codingPath + [key]
            @unknown default: path = []
            }
            if path.isEmpty { throw invalid("the header is not a JSON object of tensor entries") }
            throw invalid("malformed header entry \(path.map(\.stringValue).joined(separator: "."))")
        } catch {
            throw invalid("the header cannot be read")
        }

        var tensors: [String: TensorInfo] = [:]
        for (name, entry) in header.tensors {
            let dtypeName = entry.dtype
            let shape = entry.shape
            let offsets = entry.offsets
            guard let dtype = DType(rawValue: dtypeName) else {
                throw invalid("tensor \(name) has the unknown dtype \(dtypeName)")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw invalid("tensor \(name) has a negative dimension")
            }
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw invalid("tensor \(name) has malformed data_offsets")
            }
            guard offsets[1] <= dataLength else {
                throw invalid("tensor \(name) ends at \(offsets[1]), past the data section (\(dataLength) bytes)")
            }
            var byteCount = dtype.size
            for dimension in shape {
                let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw invalid("tensor \(name) has a shape too large") }
                byteCount = product
            }
            guard byteCount == offsets[1] - offsets[0] else {
                throw invalid("tensor \(name) has \(offsets[1] - offsets[0]) bytes, its shape needs \(byteCount)")
            }
            tensors[name] = TensorInfo(
                dtype: dtype, shape: shape, byteRange: (dataStart + offsets[0])..<(dataStart + offsets[1]))
        }
        // Empty tensors hold no bytes, so they overlap nothing wherever their offsets point.
        let sorted = tensors.filter { !$0.value.byteRange.isEmpty }
            .sorted { ($0.value.byteRange.lowerBound, $0.key) < ($1.value.byteRange.lowerBound, $1.key) }
        for (previous, next) in zip(sorted, sorted.dropFirst())
        where next.value.byteRange.lowerBound < previous.value.byteRange.upperBound {
            throw invalid("tensors \(previous.key) and \(next.key) overlap")
        }
        return (tensors, header.metadata)
    }

    /// One tensor's header entry.
    private struct Entry: Decodable {
        var dtype: String
        var shape: [Int]
        var offsets: [Int]

        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case offsets = "data_offsets"
        }
    }

    /// The header: tensor entries plus the optional `__metadata__` string map. JSONDecoder's `Int`
    /// rejects fractions, Booleans and out-of-range numbers.
    private struct Header: Decodable {
        var tensors: [String: Entry] = [:]
        var metadata: [String: String] = [:]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for key in container.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try container.decode([String: String].self, forKey: key)
                } else {
                    tensors[key.stringValue] = try container.decode(Entry.self, forKey: key)
                }
            }
        }
    }
}
