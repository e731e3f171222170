import ArgumentParser
import Foundation

/// `--db`: the index file.
struct StoreOptions: ParsableArguments {
    /// The environment variable that names the default index.
    static let environmentVariable = "EMBED_DB"
    /// The index used when neither `--db` nor `$EMBED_DB` names one, relative to the working directory.
    static let fallbackPath = "output/embeddings.sqlite"
    /// The index used when no `--db` is given: `$EMBED_DB` when set and not empty, else ``fallbackPath``.
    static var defaultPath: String {
        if let path = ProcessInfo.processInfo.environment[environmentVariable], !path.isEmpty { return path }
        return fallbackPath
    }
    /// How help texts describe the default index.
    static let defaultHelp = "$\(environmentVariable) when set, else \(fallbackPath)"

    @Option(
        name: .customLong("db"),
        help: ArgumentHelp("The index file (SQLite). Default: \(StoreOptions.defaultHelp).", valueName: "db"),
        completion: .file())
    var dbOption: String?

    /// The index: `--db`, else ``defaultPath``.
    var db: String { dbOption ?? Self.defaultPath }
}
