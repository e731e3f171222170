import ArgumentParser
import EmbedKit
import Foundation

@main
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Turn folders of documents into a searchable embedding index.",
        discussion: """
            Ingest folders of text, Markdown, reStructuredText, HTML and XML into a SQLite index, then search it.

              embed ingest docs/ notes/     # build or update the index
              embed query "how do I rotate logs" "backup schedule"
              embed reindex --quiet         # from cron: sync the index with its folders

            ENVIRONMENT:
              EMBED_DB         the index used without --db
                               (default: \(StoreOptions.fallbackPath))
              EMBED_MODEL_DIR  the all-MiniLM-L6-v2 folder used without --model-dir
                               (default: the first found in ../share/embed/models
                               beside embed, $XDG_DATA_HOME/embed/models,
                               /usr/local/share/embed/models, /usr/share/embed/models,
                               ./models)
              EMBED_API_KEY    the openai embedder's API key (or --api-key-env NAME)

            \(ExitStatus.help)
            """,
        version: "0.1.0",
        subcommands: [
            IngestCommand.self, ReindexCommand.self, RemoveCommand.self, MergeCommand.self, QueryCommand.self, StatsCommand.self,
            EncodeCommand.self, ExportCommand.self, ServeCommand.self,
        ]
    )

    /// Runs the command, mapping usage errors to exit status 2 (ArgumentParser's default is 64).
    static func main() async {
        defer { reportSQLiteOpens() }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            reportSQLiteOpens()
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ExitStatus.usage)
            }
            exit(withError: error)
        }
    }
}

extension EmbedCommand {
    /// With `EMBED_COUNT_OPENS=1`, prints how many SQLite connections the command opened to each file, so that
    /// "each command opens each index once" can be checked from outside (the tests do).
    static func reportSQLiteOpens() {
        guard ProcessInfo.processInfo.environment["EMBED_COUNT_OPENS"] == "1" else { return }
        for (path, count) in SQLiteOpenCounter.all.sorted(by: { $0.key < $1.key }) {
            FileHandle.standardError.write(Data("sqlite-opens: \(count) \(path)\n".utf8))
        }
    }
}
