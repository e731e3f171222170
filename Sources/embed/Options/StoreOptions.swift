import ArgumentParser

/// `--db`: the index file.
struct StoreOptions: ParsableArguments {
    static let defaultPath = "output/embeddings.sqlite"

    @Option(name: .long, help: "The index file (SQLite).")
    var db: String = StoreOptions.defaultPath
}
