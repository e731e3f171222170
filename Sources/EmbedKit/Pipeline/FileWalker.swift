import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A regular file found under an ingest root.
public struct SourceFile: Sendable, Equatable {
    /// Absolute path, with the root's symlinks resolved.
    public var path: String
    public var size: Int64
    public var modificationTimeNanoseconds: Int64
}

/// Walks ingest roots depth-first, in sorted order, one directory at a time (memory stays bounded by the
/// tree's depth, not its size).
///
/// Hidden files and folders are skipped unless asked for. A symlink is followed only when it stays inside
/// one of the roots (or when `followSymlinks` is set), and a directory is never entered twice, so links
/// cannot loop. FIFOs, sockets and devices are reported and skipped: reading them could block forever.
public struct FileWalker: Sequence {
    public struct Options: Sendable, Equatable, Codable {
        public var includeHidden = false
        public var followSymlinks = false
        /// Globs a file must match (any of them) to be ingested; empty means every file.
        public var include: [String] = []
        /// Globs that exclude files and folders.
        public var exclude: [String] = []
        /// Paths never ingested (the index itself). Not recorded in the index.
        public var ignoredPaths: Set<String> = []

        public init() {}

        enum CodingKeys: String, CodingKey {
            case includeHidden = "include_hidden", followSymlinks = "follow_symlinks", include, exclude
        }
    }

    public enum Event: Sendable, Equatable {
        case file(SourceFile)
        case problem(Diagnostic)
    }

    public let roots: [String]
    public let options: Options

    public init(roots: [String], options: Options = Options()) {
        self.roots = roots
        self.options = options
    }

    /// The absolute, symlink-free form of `path`, or nil when it does not exist.
    public static func canonicalPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public func makeIterator() -> Iterator { Iterator(walker: self) }

    public struct Iterator: IteratorProtocol {
        private let options: Options
        private var pendingRoots: [String]
        private var canonicalRoots: [String] = []
        /// Directories to list, as (path, path relative to its root), top of the stack last.
        private var stack: [(path: String, relative: String, root: String)] = []
        /// Entries of the directory being listed, in reverse sorted order.
        private var queue: [Event] = []
        private var visitedDirectories = Set<FileIdentity>()

        init(walker: FileWalker) {
            options = walker.options
            pendingRoots = walker.roots.reversed()
            canonicalRoots = walker.roots.compactMap(FileWalker.canonicalPath)
        }

        public mutating func next() -> Event? {
            while true {
                if let event = queue.popLast() { return event }
                if let directory = stack.popLast() {
                    list(directory)
                    continue
                }
                guard let root = pendingRoots.popLast() else { return nil }
                start(root)
            }
        }

        private mutating func start(_ root: String) {
            guard let canonical = FileWalker.canonicalPath(root) else {
                queue.append(.problem(Diagnostic(path: root, .error, "no such file or directory")))
                return
            }
            var info = stat()
            guard stat(canonical, &info) == 0 else {
                queue.append(.problem(Diagnostic(path: root, .error, "cannot read: \(String(cString: strerror(errno)))")))
                return
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                visitedDirectories.insert(FileIdentity(info))
                stack.append((canonical, "", canonical))
            } else {
                if let event = event(path: canonical, relative: (canonical as NSString).lastPathComponent, info: info) {
                    queue.append(event)
                }
            }
        }

        private mutating func list(_ directory: (path: String, relative: String, root: String)) {
            guard let handle = opendir(directory.path) else {
                queue.append(
                    .problem(Diagnostic(path: directory.path, .error, "cannot list folder: \(String(cString: strerror(errno)))")))
                return
            }
            var names: [String] = []
            var undecodable: [Event] = []
            while let entry = readdir(handle) {
                let decoded = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    let cString = raw.bindMemory(to: CChar.self).baseAddress!
                    return (String(validatingCString: cString), String(cString: cString))
                }
                // A path that is not UTF-8 can't round-trip through String (nor be stored): report it plainly
                // instead of failing later to find the repaired name.
                guard let name = decoded.0 else {
                    if options.includeHidden || !decoded.1.hasPrefix(".") {
                        undecodable.append(
                            .problem(
                                Diagnostic(
                                    path: directory.path + "/" + decoded.1, .warning, "name is not valid UTF-8, skipped")))
                    }
                    continue
                }
                if name == "." || name == ".." { continue }
                if !options.includeHidden && name.hasPrefix(".") { continue }
                names.append(name)
            }
            closedir(handle)
            // Sorted by bytes so the order is the same on every machine; reversed because the queue pops from the end.
            names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            var subdirectories: [(path: String, relative: String, root: String)] = []
            var events: [Event] = []
            for name in names {
                let path = directory.path == "/" ? "/" + name : directory.path + "/" + name
                let relative = directory.relative.isEmpty ? name : directory.relative + "/" + name
                if matches(options.exclude, relative: relative, name: name) { continue }
                var linkInfo = stat()
                guard lstat(path, &linkInfo) == 0 else {
                    events.append(.problem(Diagnostic(path: path, .warning, "vanished or unreadable, skipped")))
                    continue
                }
                var info = linkInfo
                if (linkInfo.st_mode & S_IFMT) == S_IFLNK {
                    guard stat(path, &info) == 0 else {
                        events.append(.problem(Diagnostic(path: path, .warning, "broken symlink, skipped")))
                        continue
                    }
                    if !options.followSymlinks {
                        guard let target = FileWalker.canonicalPath(path), isInsideRoots(target) else {
                            events.append(
                                .problem(
                                    Diagnostic(
                                        path: path, .warning,
                                        "symlink leads outside the ingested folders, not followed (use --follow-symlinks)")))
                            continue
                        }
                    }
                }
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    let identity = FileIdentity(info)
                    guard !visitedDirectories.contains(identity) else { continue }  // a loop or a second link
                    visitedDirectories.insert(identity)
                    subdirectories.append((path, relative, directory.root))
                } else if let event = event(path: path, relative: relative, info: info) {
                    events.append(event)
                }
            }
            // Files of this folder first, then its subfolders, each in sorted order.
            stack.append(contentsOf: subdirectories.reversed())
            queue.append(contentsOf: (undecodable + events).reversed())
        }

        /// What to report for a file that is not a folder: nil when it is excluded.
        private func event(path: String, relative: String, info: stat) -> Event? {
            guard !options.ignoredPaths.contains(path) else { return nil }
            let name = (relative as NSString).lastPathComponent
            if !options.include.isEmpty && !matches(options.include, relative: relative, name: name) { return nil }
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
                return .file(SourceFile(path: path, size: Int64(info.st_size), modificationTimeNanoseconds: mtime))
            case S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK:
                return .problem(Diagnostic(path: path, .warning, "not a regular file (FIFO, socket or device), skipped"))
            default:
                return nil
            }
        }

        private func isInsideRoots(_ path: String) -> Bool {
            canonicalRoots.contains { root in path == root || path.hasPrefix(root == "/" ? "/" : root + "/") }
        }

        private func matches(_ globs: [String], relative: String, name: String) -> Bool {
            globs.contains { glob in
                fnmatch(glob, glob.contains("/") ? relative : name, 0) == 0
            }
        }
    }
}

/// A file's device and inode: the same directory reached by two paths has one identity.
struct FileIdentity: Hashable {
    var device: UInt64
    var inode: UInt64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
