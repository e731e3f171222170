import Foundation

/// What `embed remove` takes out of an index for one path the user named: the documents and remembered skips
/// at or under it, and the recorded roots at or under it.
public struct IndexRemoval: Sendable, Equatable {
    /// The named path, absolute and symlink-free as far as it exists.
    public var target: String
    /// Stored documents at or under `target`, sorted.
    public var documents: [String]
    /// Remembered skips at or under `target` (not documents; removed silently).
    public var skipped: [String]
    /// Recorded roots at or under `target`, sorted.
    public var roots: [String]
    /// A root that stays and holds `target`: if the file or folder still exists, the next reindex adds it again.
    public var keptRoot: String?

    /// True when the path matched nothing in the index.
    public var isEmpty: Bool { documents.isEmpty && skipped.isEmpty && roots.isEmpty }

    /// The path as a user typed it, made absolute. An existing path is resolved like `ingest` resolves it
    /// (`realpath`); a path that no longer exists is resolved as far as its folders exist, so that a deleted
    /// file is still found by the path it was stored under.
    public static func absolutePath(_ typed: String) -> String {
        if let canonical = FileWalker.canonicalPath(typed) { return canonical }
        let full = typed.hasPrefix("/") ? typed : FileManager.default.currentDirectoryPath + "/" + typed
        var parts: [Substring] = []
        for part in full.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        for existing in stride(from: parts.count - 1, through: 0, by: -1) {
            guard let base = FileWalker.canonicalPath("/" + parts[..<existing].joined(separator: "/")) else { continue }
            let rest = parts[existing...].joined(separator: "/")
            return base == "/" ? "/" + rest : base + "/" + rest
        }
        return "/" + parts.joined(separator: "/")
    }

    /// What removing each of `targets` (absolute paths) takes out of an index holding `documents`, remembered
    /// `skipped` files and `roots`.
    public static func plan(
        _ targets: [String], documents: some Collection<String>, skipped: some Collection<String>,
        roots: [IngestRoot]
    ) -> [IndexRemoval] {
        let scopes = targets.map { IngestRoot(path: $0) }
        let removedRoots = Set(roots.map(\.path).filter { root in scopes.contains { $0.contains(root) } })
        return targets.map { target in
            let scope = IngestRoot(path: target)
            return IndexRemoval(
                target: target, documents: documents.filter(scope.contains).sorted(),
                skipped: skipped.filter(scope.contains).sorted(),
                roots: roots.map(\.path).filter(scope.contains).sorted(),
                keptRoot: roots.first { !removedRoots.contains($0.path) && $0.contains(target) }?.path)
        }
    }
}

extension IndexStore {
    /// Removes from the index everything at or under each of `targets` (absolute paths): documents with their
    /// chunks and unused vectors, remembered skips, and recorded roots, all in one transaction.
    /// - Returns: what each target matched (empty when it matched nothing).
    public func remove(under targets: [String]) async throws -> [IndexRemoval] {
        let plan = IndexRemoval.plan(
            targets, documents: try await documentStates().keys, skipped: try await skippedFiles().keys,
            roots: try await roots())
        try await remove(
            documents: Set(plan.flatMap(\.documents)).sorted(), skips: Set(plan.flatMap(\.skipped)).sorted(),
            roots: Set(plan.flatMap(\.roots)).sorted())
        return plan
    }
}
