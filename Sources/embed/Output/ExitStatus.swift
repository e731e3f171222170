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

    static let help = """
        EXIT STATUS:
          0    success
          1    some files or indexes failed, or a path to remove matched nothing;
               each is reported on stderr, and the rest went in
          2    usage error
          3    the index or the embedder cannot be used; what was stored before is kept
          4    another ingest, reindex or remove is writing the index (see --wait)
          130  stopped by SIGINT or SIGTERM; finished documents were kept
        """
}
