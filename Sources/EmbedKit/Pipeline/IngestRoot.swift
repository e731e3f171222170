/// A folder (or file) given to `ingest`, with the options it was walked with.
///
/// The index records its roots, so that `embed reindex` can walk them again exactly as they were ingested.
public struct IngestRoot: Sendable, Equatable, Codable {
    /// The absolute, symlink-free path.
    public var path: String
    public var options: FileWalker.Options

    public init(path: String, options: FileWalker.Options = .init()) {
        self.path = path
        self.options = options
    }

    /// The root for a path as the user typed it: made absolute and symlink-free when it exists.
    public static func resolving(_ path: String, options: FileWalker.Options = .init()) -> IngestRoot {
        IngestRoot(path: FileWalker.canonicalPath(path) ?? path, options: options)
    }

    /// True when `path` is this root or lies under it.
    public func contains(_ path: String) -> Bool {
        path == self.path || path.hasPrefix(self.path == "/" ? "/" : self.path + "/")
    }
}
