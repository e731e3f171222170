package import EmbedKit
import Foundation

/// The body of `POST /v1/embeddings`, as OpenAI defines it.
package struct EmbeddingsRequest: Decodable {
    package var input: [String]
    package var model: String?
    package var encodingFormat: OpenAICompatibleEmbedder.Encoding
    package var dimensions: Int?

    private enum CodingKeys: String, CodingKey {
        case input, model, dimensions
        case encodingFormat = "encoding_format"
    }

    package init(from decoder: any Decoder) throws {
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
        guard !input.isEmpty else { throw ServeError.invalid("'input' is empty: give at least one text") }
        if input.contains(where: \.isEmpty) { throw ServeError.invalid("an input is empty: give some text") }
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
