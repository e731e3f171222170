import ArgumentParser
import EmbedKit

/// The exit statuses of every `embed` command. Keep in step with the README.
enum ExitStatus {
    /// Everything asked for was done.
    static let success: Int32 = 0
    /// The run finished, but some files could not be indexed, or some indexes could not be searched
    /// (each was reported on stderr).
    static let someFilesFailed: Int32 = 1
    /// The command line is wrong.
    static let usage: Int32 = 2
    /// The index, its disk or the embedder is unusable (missing, damaged, mismatched, full, failing); what was
    /// stored before the problem is kept.
    static let fatal: Int32 = 3
    /// Another ingest or reindex holds the index's lock (use `--wait` to wait for it).
    static let locked: Int32 = 4
    /// Stopped by SIGINT or SIGTERM (requests in flight cancelled); finished documents are kept.
    static let interrupted: Int32 = 130

    /// Every status, for `embed --help`.
    static let help = table([
        (success, "success"),
        (someFilesFailed, "some files or indexes failed, or a path to remove matched nothing;\neach is reported on stderr, and the rest went in"),
        (usage, "usage error"),
        (fatal, "the index or the embedder cannot be used;\nwhat was stored before is kept"),
        (locked, "another ingest, reindex or remove is writing the index\n(see --wait)"),
        (interrupted, "stopped by SIGINT or SIGTERM; finished documents were kept"),
    ])

    /// `ingest` and `reindex`.
    static let writerHelp = table([
        (success, "success"),
        (someFilesFailed, "some files could not be indexed; each is reported on stderr,\nand the rest went in"),
        (usage, "usage error (nothing is written)"),
        (fatal, "the index or the embedder cannot be used;\nwhat was stored before is kept"),
        (locked, "another ingest, reindex or remove is writing the index\n(see --wait)"),
        (interrupted, "stopped by SIGINT or SIGTERM; finished documents were kept"),
    ])

    /// `remove`.
    static let removeHelp = table([
        (success, "success"),
        (someFilesFailed, "a path matched nothing in the index (the others were removed)"),
        (usage, "usage error"),
        (fatal, "the index cannot be used"),
        (locked, "another ingest, reindex or remove is writing the index\n(see --wait)"),
    ])

    /// `merge`.
    static let mergeHelp = table([
        (success, "success: every input was merged"),
        (someFilesFailed, "an input could not be merged (each is reported on stderr);\nthe others were"),
        (usage, "usage error"),
        (fatal, "the output cannot be used, or no input could be merged;\nwhat was merged before is kept"),
        (locked, "another writer holds the output (see --wait)"),
    ])

    /// `query`.
    static let queryHelp = table([
        (success, "success (also when a query found nothing)"),
        (someFilesFailed, "an index, or its keyword index, could not be searched;\nthe others answered"),
        (usage, "usage error"),
        (fatal, "no index could be searched, or the embedder cannot be used"),
    ])

    /// `stats`.
    static let statsHelp = table([
        (success, "success; with --check, the index is sound"),
        (usage, "usage error"),
        (fatal, "the index cannot be read; with --check, it (or its keyword\nindex or vector file) is damaged"),
    ])

    /// `encode` and `export`.
    static let readerHelp = table([
        (success, "success"),
        (usage, "usage error"),
        (fatal, "the index or the embedder cannot be used"),
    ])

    /// An `EXIT STATUS:` section, each meaning's later lines indented under its first.
    private static func table(_ rows: [(Int32, String)]) -> String {
        var lines = ["EXIT STATUS:"]
        for (status, meaning) in rows {
            let number = String(status) + String(repeating: " ", count: max(1, 5 - String(status).count))
            for (index, line) in meaning.split(separator: "\n").enumerated() {
                lines.append("  " + (index == 0 ? number : "     ") + line)
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension ExitStatus {
    /// The exit status for an error that ends a command: the one place where errors become statuses.
    static func of(_ error: any Error) -> Int32 {
        switch error {
        case let exit as ExitCode: exit.rawValue
        case let store as StoreError where store.code == .locked: locked
        case is UsageError, is ValidationError: usage
        default: fatal
        }
    }
}
