public import EmbedKit
import Foundation

extension ResolvedEmbedder {
    /// Builds the embedder, with the prefixes of `kind` put before every text. The one place where an embedder
    /// is built from a request: it lives here because this module knows every embedder.
    /// - Throws: ``UsageError`` when something needed was not given (an openai base URL or model) or a prefix
    ///   leaves no room; ``BertError`` when the model cannot be loaded; ``EmbeddingError`` when an openai server
    ///   asked for its dimension fails.
    public func makeEmbedder(embedding kind: PrefixedEmbedder.TextKind) async throws -> any Embedder {
        if precision != .fp32, spec != .minilm {
            throw UsageError(
                "--precision \(precision.rawValue) is for the minilm embedder; \(spec.kind.rawValue) has no such setting. "
                    + "Leave out --precision.")
        }
        let base: any Embedder
        switch spec {
        case .hash(let dimension):
            base = HashEmbedder(dimension: dimension)
        case .minilm:
            base = try BertEmbedder.load(
                modelDirectory: modelDirectory.map { URL(fileURLWithPath: $0, isDirectory: true) },
                configuration: .init(precision: precision))
        case .openai(let recipe):
            let configuration = try recipe.configuration(maxConcurrentRequests: concurrency)
            let moreBaseURLs = try recipe.moreEndpoints()
            if !moreBaseURLs.isEmpty {
                // A fleet: each endpoint gets its own limit of `concurrency` requests.
                base =
                    if let recordedDimension {
                        try EmbeddingFleet(configuration, moreBaseURLs: moreBaseURLs, dimension: recordedDimension)
                    } else {
                        try await EmbeddingFleet.connect(configuration, moreBaseURLs: moreBaseURLs)
                    }
            } else if let recordedDimension {
                base = try OpenAICompatibleEmbedder(configuration, dimension: recordedDimension)
            } else {
                base = try await OpenAICompatibleEmbedder.connect(configuration)
            }
        }
        return try prefixing(base, embedding: kind)
    }
}
