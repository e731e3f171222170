public import Foundation
import EmbedKit

/// The vectors the fake embeddings servers return: derived from a hash of each input's text, so a test can
/// check that every stored vector belongs to its own text.
///
/// Components are multiples of 1/1024 in -1 ... 1, exactly representable in JSON, `Float` and `Double`.
public enum DeterministicVectors {
    /// The vector of `text` with `dimension` components.
    public static func vector(for text: String, dimension: Int) -> [Float] {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return (0..<dimension).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(Int(z % 2049) - 1024) / 1024
        }
    }

    /// An OpenAI-style embeddings response body for `vectors` (item `i` has index `indexes?[i] ?? i`),
    /// with floats as JSON numbers or base64 little-endian float32.
    public static func responseBody(_ vectors: [[Float]], base64: Bool = false, indexes: [Int]? = nil) -> Data {
        var json = #"{"object":"list","data":["#
        for (i, vector) in vectors.enumerated() {
            if i > 0 { json += "," }
            let embedding: String
            if base64 {
                embedding = "\"\(Data(VectorCoding.encode(vector)).base64EncodedString())\""
            } else {
                embedding = "[" + vector.map { "\($0)" }.joined(separator: ",") + "]"
            }
            json += #"{"object":"embedding","index":\#(indexes?[i] ?? i),"embedding":\#(embedding)}"#
        }
        json += #"],"model":"fake","usage":{"prompt_tokens":0,"total_tokens":0}}"#
        return Data(json.utf8)
    }

    /// The `input` strings of an embeddings request body (a string or an array of strings), or nil.
    public static func inputs(ofRequestBody body: Data) -> [String]? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return nil }
        if let single = object["input"] as? String { return [single] }
        return object["input"] as? [String]
    }

    /// The parsed JSON object of an embeddings request body, or nil.
    static func requestFields(_ body: Data) -> (model: String?, encoding: String?, dimensions: Int?) {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            return (nil, nil, nil)
        }
        return (object["model"] as? String, object["encoding_format"] as? String, object["dimensions"] as? Int)
    }
}
