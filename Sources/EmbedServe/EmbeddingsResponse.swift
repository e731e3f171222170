import Foundation

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
