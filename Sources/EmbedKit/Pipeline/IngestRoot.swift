/// A folder (or file) given to `ingest`, with the options it was walked with.
///
/// The index records its roots, so that `embed reindex` can walk them again exactly as they were ingested.
public struct IngestRoot: Sendable, Equatable, Codable {
    /// The absolute, symlink-free path.
    public var path: String
    public var options: FileWalker.Options
    /// The part of the tree this index takes (`--shard`); nil for all of it.
    public var shard: IngestShard?

    public init(path: String, options: FileWalker.Options = .init(), shard: IngestShard? = nil) {
        self.path = path
        self.options = options
        self.shard = shard
    }

    /// The root for a path as the user typed it: made absolute and symlink-free when it exists.
    public static func resolving(
        _ path: String, options: FileWalker.Options = .init(), shard: IngestShard? = nil
    ) -> IngestRoot {
        IngestRoot(path: FileWalker.canonicalPath(path) ?? path, options: options, shard: shard)
    }

    /// `known` with `roots` recorded: a root already known gets its new options, a new one is added.
    static func recording(_ roots: [IngestRoot], in known: [IngestRoot]) -> [IngestRoot] {
        var recorded = known
        for root in roots {
            if let index = recorded.firstIndex(where: { $0.path == root.path }) {
                recorded[index] = root
            } else {
                recorded.append(root)
            }
        }
        return recorded
    }

    /// True when this root takes the file at `path` (under it): always, unless the root is a shard of its tree.
    public func takes(_ path: String) -> Bool {
        shard?.contains(path, under: self.path) ?? true
    }

    /// True when `path` is this root or lies under it.
    public func contains(_ path: String) -> Bool {
        path == self.path || path.hasPrefix(self.path == "/" ? "/" : self.path + "/")
    }
}
