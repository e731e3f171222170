import ArgumentParser
import EmbedKit

/// The embedders `embed` can use.
enum EmbedderKind: String, ExpressibleByArgument, CaseIterable {
    /// Feature hashing of words and bigrams: no model, no network.
    case hash

    /// The embedder used when neither the command line nor the index names one.
    static let `default`: EmbedderKind = .hash
}

/// `--embedder` and the options of each embedder.
struct EmbedderOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The embedder: \(EmbedderKind.allCases.map(\.rawValue).joined(separator: ", ")).",
            discussion: "Default: the one the index was built with, else \(EmbedderKind.default.rawValue)."))
    var embedder: EmbedderKind?

    /// Builds the embedder named on the command line, else the one `settings` records, else the default.
    func makeEmbedder(for settings: IndexSettings?) async throws -> any Embedder {
        let kind = embedder ?? settings.flatMap { EmbedderKind(rawValue: $0.embedder.name) } ?? .default
        switch kind {
        case .hash:
            return HashEmbedder(dimension: settings?.embedder.name == "hash" ? settings!.embedder.dimension : 384)
        }
    }
}
