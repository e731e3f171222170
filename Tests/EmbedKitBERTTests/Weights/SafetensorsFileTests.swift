@testable import EmbedKitBERT
import EmbedKitTestSupport
import Foundation
import Testing

@Suite("Safetensors reader")
struct SafetensorsFileTests {
    /// Writes a safetensors file: 8-byte little-endian header length, the header, then `data`.
    static func file(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) throws -> URL {
        let directory = try TemporaryDirectory(prefix: "safetensors-test")
        let headerBytes = Array(header.utf8)
        let length = declaredLength ?? UInt64(headerBytes.count)
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + headerBytes + data
        return URL(fileURLWithPath: try directory.write("model.safetensors", bytes: bytes))
    }

    static func floats(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * UInt32($0))) } }
    }

    static func error(_ url: URL) -> BertError? {
        do {
            _ = try SafetensorsFile(url: url)
            return nil
        } catch {
            return error
        }
    }

    @Test("reads a valid file's tensors and metadata")
    func valid() throws {
        let header = #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}"#
        let file = try SafetensorsFile(url: Self.file(header: header, data: Self.floats([1, 2, 3, 4, 5, 6])))
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensors["w"]?.shape == [2, 2])
        let weights = Bert.Weights(file: file)
        // The mapping table's names are what the reader looks up; here the test file uses its own names.
        #expect(file.tensors.count == 2)
        let info = try #require(file.tensors["b"])
        let pointer = file.rawPointer(for: info)
        #expect(pointer.loadUnaligned(fromByteOffset: 4, as: Float.self) == 6)
        #expect(throws: BertError.self) { try weights.tensor(.wordEmbeddings, shape: [2, 2]) }
    }

    @Test(
        "rejects truncated and hostile files with an error, never a crash",
        arguments: [
            ("", nil, "too short for a safetensors header"),
            ("{}", UInt64(1) << 62, "exceeds the file"),
            ("{}", UInt64.max, "exceeds the file"),
            ("not json", nil, "not a JSON object of tensor entries"),
            ("[1,2,3]", nil, "not a JSON object of tensor entries"),
            (#"{"t":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#, nil, "unknown dtype F33"),
            (#"{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, nil, "negative dimension"),
            (#"{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, nil, "header"),
            (#"{"t":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, nil, "malformed header entry t.shape"),
            (#"{"t":{"dtype":"F32","shape":[1]}}"#, nil, "malformed header entry t.data_offsets"),
            (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, nil, "malformed data_offsets"),
            (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, nil, "malformed data_offsets"),
            (#"{"t":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}}"#, nil, "past the data section"),
            (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}"#, nil, "header"),
            (#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, nil, "its shape needs 12"),
            (#"{"t":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, nil, "shape too large"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, nil, "overlap"),
            (#"{"__metadata__":{"n":1}}"#, nil, "malformed header entry __metadata__"),
        ] as [(String, UInt64?, String)]
    )
    func hostile(header: String, declaredLength: UInt64?, expected: String) throws {
        let url: URL
        if header.isEmpty {
            let directory = try TemporaryDirectory(prefix: "safetensors-test")
            url = URL(fileURLWithPath: try directory.write("model.safetensors", bytes: [1, 2, 3]))
        } else {
            url = try Self.file(header: header, data: [UInt8](repeating: 0, count: 16), declaredLength: declaredLength)
        }
        let error = try #require(Self.error(url))
        #expect(error.code == .invalidSafetensors)
        #expect(error.message.contains(expected), "\(error.message)")
    }

    /// Found by the safetensors fuzzer (fuzz/regressions/safetensors): whether an empty tensor inside another
    /// was refused as an overlap depended on how their names sorted.
    @Test("empty tensors overlap nothing, whatever their names", arguments: ["a", "z"])
    func emptyTensorInsideAnother(emptyName: String) throws {
        let header = #"{"m":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"\#(emptyName)":{"dtype":"U8","shape":[0,5],"data_offsets":[4,4]}}"#
        let file = try SafetensorsFile(url: try Self.file(header: header, data: [UInt8](repeating: 0, count: 8)))
        #expect(file.tensors[emptyName]?.byteRange.isEmpty == true)
        #expect(file.tensors["m"]?.byteRange.count == 8)
    }

    @Test("a missing file is unreadable, an empty one is truncated")
    func missingAndEmpty() throws {
        let directory = try TemporaryDirectory(prefix: "safetensors-test")
        #expect(Self.error(directory.url.appendingPathComponent("absent"))?.code == .fileUnreadable)
        let empty = URL(fileURLWithPath: try directory.write("empty.safetensors", bytes: []))
        #expect(Self.error(empty)?.code == .invalidSafetensors)
    }

    @Test("weights are checked for dtype and shape, and misaligned data is copied")
    func weightLookup() throws {
        let name = Bert.Weights.name(of: .embeddingsNormBias)
        // Two bytes of U8 first, so the F32 tensor starts at a misaligned offset.
        let header = #"{"pad":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"\#(name)":{"dtype":"F32","shape":[3],"data_offsets":[2,14]}}"#
        let paddedHeader = header + String(repeating: " ", count: (8 - (header.utf8.count % 8)) % 8)
        let url = try Self.file(header: paddedHeader, data: [9, 9] + Self.floats([1.5, -2, 3]))
        let weights = Bert.Weights(file: try SafetensorsFile(url: url))
        let buffer = try weights.tensor(.embeddingsNormBias, shape: [3])
        #expect(Array(UnsafeBufferPointer(start: buffer.base, count: 3)) == [1.5, -2, 3])
        let wrongShape = try #require(throws: BertError.self) { try weights.tensor(.embeddingsNormBias, shape: [4]) }
        #expect(wrongShape.code == .invalidWeights)
        let missing = try #require(throws: BertError.self) { try weights.tensor(.wordEmbeddings, shape: [3]) }
        #expect(missing.message == "The checkpoint has no tensor embeddings.word_embeddings.weight.")
    }

    @Test("the mapping table uses Hugging Face BertModel checkpoint names")
    func names() {
        #expect(Bert.Weights.name(of: .layer(5, .intermediateWeight)) == "encoder.layer.5.intermediate.dense.weight")
        #expect(Bert.Weights.name(of: .layer(0, .attentionNormBias)) == "encoder.layer.0.attention.output.LayerNorm.bias")
        #expect(Bert.Weights.name(of: .positionEmbeddings) == "embeddings.position_embeddings.weight")
    }
}
