import ArgumentParser
import EmbedKit
import Foundation

struct MergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join indexes built with the same recipe, such as the shards of one tree, into one.",
        discussion: """
            N processes or machines ingest one tree at once with `embed ingest --shard I/N`, each into its own \
            index; `embed merge OUT IN...` then joins them. OUT is created when missing (with the inputs' \
            recipe), or must have been built with the same embedder and chunking.

            Each input goes in in one transaction: a merge killed at any moment leaves OUT as it was or with \
            that input whole, and running the same command again resumes after the inputs already merged \
            (an input merged before and unchanged since is not read again). A document OUT already holds is \
            replaced only by newer, different contents. The inputs' roots are recorded without their shard, so \
            `embed reindex --db OUT` walks the whole tree. An input that is not an index, is damaged, or has \
            another recipe is reported and left out, and the others are merged (exit status 1).

              embed merge index.sqlite shard-1.sqlite shard-2.sqlite shard-3.sqlite shard-4.sqlite

            \(ExitStatus.mergeHelp)
            """)

    @Argument(help: "The index to merge into (created when missing).", completion: .file())
    var output: String

    @Argument(help: "The indexes to merge into it.", completion: .file())
    var inputs: [String]

    @Flag(help: "Wait for another writer of the output to finish, instead of exiting with status 4.")
    var wait = false

    @Flag(name: .shortAndLong, help: "Print only problems on stderr (no summary).")
    var quiet = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("Give the output index and at least one index to merge.") }
        if ([output] + inputs).contains(where: PostgresLocation.isPostgres) {
            throw ValidationError(
                "embed merge joins SQLite indexes; the shards of a PostgreSQL index write into it directly (--shard I/N).")
        }
    }

    func run() async throws {
        let quiet = quiet
        let failed = Locked(0)
        let events = IndexMerge.Events(
            input: { path, result in
                switch result {
                case .failed(let message):
                    failed.withLock { $0 += 1 }
                    Terminal.error("error: \(message); not merged")
                case .merged(let outcome):
                    guard !quiet else { return }
                    if outcome.alreadyMerged {
                        Terminal.error("\(DisplayPath.escaped(path)): merged before and unchanged since")
                    } else {
                        Terminal.error(
                            "\(DisplayPath.escaped(path)): \(counted(outcome.added, "document")) added, \(outcome.replaced) "
                                + "replaced, \(outcome.kept) kept as they were; \(counted(outcome.chunks, "chunk")) written")
                    }
                }
            },
            warning: { Terminal.error("warning: \($0)") })
        let results: [IndexMerge.Result]
        do {
            results = try await IndexMerge(output: output, inputs: inputs, wait: wait).run(events: events)
        } catch {
            throw Terminal.fail(error)
        }
        let merged = results.filter { if case .merged = $0 { true } else { false } }.count
        if !quiet {
            Terminal.error("Merged \(counted(merged, "index", plural: "indexes")) of \(inputs.count) into \(output)")
        }
        if failed.withLock({ $0 }) > 0 { throw ExitCode(ExitStatus.someFilesFailed) }
    }
}
