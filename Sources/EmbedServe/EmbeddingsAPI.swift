import EmbedKit
import Foundation

/// The body of `POST /v1/embeddings`, as OpenAI defines it.
struct EmbeddingsRequest: Decodable {
    var input: [String]
    var model: String?
    var encodingFormat: OpenAICompatibleEmbedder.Encoding
    var dimensions: Int?

    private enum CodingKeys: String, CodingKey {
        case input, model, dimensions
        case encodingFormat = "encoding_format"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let one = try? container.decode(String.self, forKey: .input) {
            input = [one]
        } else if let many = try? container.decode([String].self, forKey: .input) {
            input = many
        } else if container.contains(.input) {
            throw ServeError.invalid("'input' must be a string or an array of strings (token arrays are not supported)")
        } else {
            throw ServeError.invalid("'input' is required: a string or an array of strings")
        }
        model = try? container.decodeIfPresent(String.self, forKey: .model)
        let format = try? container.decodeIfPresent(String.self, forKey: .encodingFormat)
        guard let encoding = OpenAICompatibleEmbedder.Encoding(rawValue: format ?? "float") else {
            throw ServeError.invalid("'encoding_format' must be float or base64")
        }
        encodingFormat = encoding
        if container.contains(.dimensions) {
            guard let dimensions = try? container.decode(Int.self, forKey: .dimensions) else {
                throw ServeError.invalid("'dimensions' must be an integer")
            }
            self.dimensions = dimensions
        }
    }
}

/// The answer of `POST /v1/embeddings`.
struct EmbeddingsResponse: Encodable {
    struct Item: Encodable {
        var object = "embedding"
        var index: Int
        var embedding: Vector
    }

    /// A vector as floats, or as base64 of little-endian float32 (`encoding_format: base64`).
    enum Vector: Encodable {
        case floats([Float])
        case base64(String)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .floats(let values): try container.encode(values)
            case .base64(let text): try container.encode(text)
            }
        }
    }

    struct Usage: Encodable {
        var prompt_tokens: Int
        var total_tokens: Int
    }

    var object = "list"
    var data: [Item]
    var model: String
    var usage: Usage
}

/// OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`.
struct ErrorBody: Encodable {
    struct Detail: Encodable {
        var message: String
        var type: String
        var param: String?
        var code: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(message, forKey: .message)
            try container.encode(type, forKey: .type)
            try container.encode(param, forKey: .param)
            try container.encode(code, forKey: .code)
        }

        private enum CodingKeys: String, CodingKey { case message, type, param, code }
    }

    var error: Detail
}

enum Base64Vector {
    /// Little-endian float32, base64: what OpenAI sends for `encoding_format: base64`.
    static func encode(_ vector: [Float]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(vector.count * 4)
        for value in vector {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
    }
}
