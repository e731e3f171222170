import ArgumentParser
import EmbedKit
import Foundation

struct ReindexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Bring an index up to date with its folders: what cron runs.",
        discussion: """
            Walks again every folder the index was built from, with the options it was ingested with: new \
            files are added, changed files re-embedded (only the chunks whose text changed), deleted files \
            removed, and unchanged files not even read. The embedder and chunking are the index's own.

              */15 * * * *  cd /srv/docs && embed reindex --quiet --db index.sqlite

            Each folder is walked with the options it was ingested with (--include, --exclude, --hidden...); \
            to change them, run `embed ingest` on that folder.

            \(ExitStatus.writerHelp)
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var embedderOptions: EmbedderOptions
    @OptionGroup var ingest: IngestOptions
    @OptionGroup var output: OutputOptions

    @Flag(
        help: ArgumentHelp(
            "Build the keyword index again from the chunks, whatever its state.",
            discussion: "Every run checks the keyword index quickly and rebuilds it when it is missing or damaged; "
                + "this is for damage that only `embed stats --check` finds."))
    var rebuildKeywordIndex = false

    func validate() throws {
        try ingest.validate()
    }

    func run() async throws {
        let status = try await IngestRunner(
            roots: nil, db: store.db, embedderOptions: embedderOptions, ingest: ingest, output: output,
            rebuildKeywordIndex: rebuildKeywordIndex
        ).run()
        if status != ExitStatus.success { throw ExitCode(status) }
    }
}
