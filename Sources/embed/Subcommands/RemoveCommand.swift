import ArgumentParser
import EmbedKit
import Foundation

struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove files, folders or roots from an index.",
        discussion: """
            Each PATH (as typed, relative or absolute; it need not exist any more) removes the documents at or \
            under it, with their chunks and vectors, and the ingested roots at or under it, which reindex then \
            no longer walks. Removed paths are printed on stdout. A PATH that matches nothing is reported \
            (`PATH: error: not in the index`, exit status 1) and the others are still removed. A file or folder \
            that still exists inside a root that stays comes back at the next reindex: that is reported as a \
            warning (delete it, or ingest the root again with --exclude).

            \(ExitStatus.removeHelp)
            """)

    @Argument(help: "Files, folders or roots to remove from the index.", completion: .file())
    var paths: [String]

    @OptionGroup var store: StoreOptions

    @Flag(help: "Wait for another writer of the same index to finish, instead of exiting with status 4.")
    var wait = false

    @Flag(name: .shortAndLong, help: "Print only problems on stderr (no summary).")
    var quiet = false

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("Give at least one file, folder or root to remove.") }
    }

    func run() async throws {
        let targets = paths.map(IndexRemoval.absolutePath)
        let plan: [IndexRemoval]
        do {
            if PostgresLocation.isPostgres(store.db) {
                let writer = try PostgresIndexStore(try PostgresLocation(store.db), wait: wait, create: false)
                plan = try await writer.remove(under: targets)
            } else {
                // An index that must exist: a missing path does not create an empty one.
                let index = try await EmbeddingIndex.open(store.db, for: .write(wait: wait))
                defer { index.close() }
                let keywordIndex = KeywordIndexReporter(db: store.db, quiet: quiet, live: !quiet && Terminal.stderrIsTTY)
                let writer = try await index.writableStore(keywordIndexProgress: keywordIndex.progress)
                plan = try await writer.remove(under: targets)
                if let warning = try await writer.refreshVectorFile() { Terminal.error("warning: \(warning)") }
            }
        } catch {
            throw Terminal.fail(error)
        }

        let out = OutputBuffer()
        var unmatched = 0
        var removedDocuments = Set<String>()
        var removedRoots = Set<String>()
        for (typed, removal) in zip(paths, plan) {
            if removal.isEmpty {
                unmatched += 1
                Terminal.error("\(DisplayPath.escaped(typed)): error: not in the index")
                continue
            }
            for path in removal.documents where removedDocuments.insert(path).inserted {
                out.line("removed \(DisplayPath.of(path))")
            }
            for root in removal.roots where removedRoots.insert(root).inserted {
                out.line("removed root \(DisplayPath.of(root))")
            }
            if let kept = removal.keptRoot, FileManager.default.fileExists(atPath: removal.target) {
                Terminal.error(
                    "\(DisplayPath.escaped(typed)): warning: still on disk under the root \(DisplayPath.of(kept)); the "
                        + "next reindex adds it again (delete it, or ingest the root again with --exclude)")
            }
        }
        out.flush()
        if !quiet {
            let files = counted(removedDocuments.count, "file")
            let roots = removedRoots.count == 1 ? "1 root" : "\(removedRoots.count) roots"
            Terminal.error("Removed \(files) and \(roots) from \(store.db)")
        }
        if unmatched > 0 { throw ExitCode(ExitStatus.someFilesFailed) }
    }
}
