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
/// By default only documents are reported (see ``DocumentNames``): files with a document extension, and files
/// without one whose first bytes are text and not a script. Folders of dependencies, caches and version control
/// are not entered, and `.gitignore` and `.ignore` files in the walked folders (and in the folders above a root,
/// up to the top of its git work tree) are honoured. These skips are policy, so they are silent. `include` globs
/// bring files back past every one of them.
///
/// Hidden files and folders are skipped unless asked for. A symlink is followed only when it stays inside
/// one of the roots (or when `followSymlinks` is set), and a directory is never entered twice, so links
/// cannot loop. FIFOs, sockets and devices are reported and skipped: reading them could block forever.
public struct FileWalker: Sequence {
    public struct Options: Sendable, Equatable, Codable {
        public var includeHidden = false
        public var followSymlinks = false
        /// Globs of files read even when the default rules skip them (another type, a skipped or ignored folder
        /// that the glob names, a `.gitignore` pattern).
        public var include: [String] = []
        /// Globs that exclude files and folders; they win over `include`.
        public var exclude: [String] = []
        /// When not empty, files must match one of these globs instead of being documents by name.
        public var only: [String] = []
        /// Honour `.gitignore` and `.ignore` files.
        public var useIgnoreFiles = true
        /// Paths never ingested (the index itself). Not recorded in the index.
        public var ignoredPaths: Set<String> = []

        public init() {}

        /// Recorded in the index from this version on; its absence marks options written by an older version.
        static let currentRules = 2

        enum CodingKeys: String, CodingKey {
            case includeHidden = "include_hidden", followSymlinks = "follow_symlinks", include, exclude, only
            case useIgnoreFiles = "ignore_files", rules
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            includeHidden = try container.decodeIfPresent(Bool.self, forKey: .includeHidden) ?? false
            followSymlinks = try container.decodeIfPresent(Bool.self, forKey: .followSymlinks) ?? false
            exclude = try container.decodeIfPresent([String].self, forKey: .exclude) ?? []
            let include = try container.decodeIfPresent([String].self, forKey: .include) ?? []
            if try container.decodeIfPresent(Int.self, forKey: .rules) == nil {
                // Older versions read every file and `include` only narrowed that: the globs keep that meaning,
                // and the rest gets today's defaults (docs/decisions.md, "Indexes from older versions get the
                // new defaults").
                only = include
            } else {
                self.include = include
                only = try container.decodeIfPresent([String].self, forKey: .only) ?? []
                useIgnoreFiles = try container.decodeIfPresent(Bool.self, forKey: .useIgnoreFiles) ?? true
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(includeHidden, forKey: .includeHidden)
            try container.encode(followSymlinks, forKey: .followSymlinks)
            try container.encode(include, forKey: .include)
            try container.encode(exclude, forKey: .exclude)
            try container.encode(only, forKey: .only)
            try container.encode(useIgnoreFiles, forKey: .useIgnoreFiles)
            try container.encode(Self.currentRules, forKey: .rules)
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

    /// The first `limit` bytes of the regular file at `path`, or nil when it is not one or cannot be read.
    /// Opened without blocking, so a FIFO put in its place cannot hang the walk.
    static func readRegularFile(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        var bytes = [UInt8](repeating: 0, count: limit)
        var count = 0
        while count < limit {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, limit - count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            count += n
        }
        return Array(bytes.prefix(count))
    }

    /// True when a file without an extension is a document: text, not a script (`#!`). A file that cannot be
    /// read is let through, so that reading it reports the problem.
    static func looksLikeDocument(_ path: String) -> Bool {
        guard let head = readRegularFile(path, limit: FormatDetector.binaryProbeLength) else { return true }
        if head.starts(with: Array("#!".utf8)) { return false }
        return (try? FormatDetector.checkText(head)) != nil
    }

    public struct Iterator: IteratorProtocol {
        /// A folder waiting to be listed.
        struct Folder {
            var path: String
            /// Path below its root; empty for the root.
            var relative: String
            /// The ignore files that apply inside it.
            var ignores: IgnoreScope?
            /// Entered only because an `include` glob names it (a skipped or ignored folder): only files that
            /// match an `include` glob are read inside.
            var includedOnly: Bool
        }

        private let options: Options
        private var pendingRoots: [String]
        private var canonicalRoots: [String] = []
        /// Folders to list, top of the stack last.
        private var stack: [Folder] = []
        /// Entries of the directory being listed, in reverse sorted order.
        private var queue: [Event] = []
        private var visitedDirectories = Set<FileIdentity>()
        /// `include` globs with a slash, split into segments: the ones that can lead into skipped folders.
        private let includePaths: [[String]]

        init(walker: FileWalker) {
            options = walker.options
            pendingRoots = walker.roots.reversed()
            canonicalRoots = walker.roots.compactMap(FileWalker.canonicalPath)
            includePaths = options.include.filter { $0.contains("/") }.map {
                $0.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            }
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
                let ignores = options.useIgnoreFiles ? Self.enclosingIgnores(of: canonical) : nil
                stack.append(Folder(path: canonical, relative: "", ignores: ignores, includedOnly: false))
            } else if !options.ignoredPaths.contains(canonical) {
                // A file named as a root is read whatever its type: naming it is explicit.
                let name = (canonical as NSString).lastPathComponent
                if options.only.isEmpty || matches(options.only, relative: name) {
                    if let event = Self.event(path: canonical, info: info) { queue.append(event) }
                }
            }
        }

        /// The ignore files above `root` that git would apply: those from the top of its work tree (the nearest
        /// folder above holding `.git`) down to the root's parent. None when the root is not inside a work tree.
        static func enclosingIgnores(of root: String) -> IgnoreScope? {
            var ancestors: [String] = []
            var folder = root
            var info = stat()
            // A root that is a work tree's top (or a nested repository) is not governed by the folders above it.
            guard lstat(root == "/" ? "/.git" : root + "/.git", &info) != 0 else { return nil }
            while folder != "/" {
                folder = (folder as NSString).deletingLastPathComponent
                ancestors.append(folder)
                if lstat(folder == "/" ? "/.git" : folder + "/.git", &info) == 0 {
                    var scope: IgnoreScope?
                    for ancestor in ancestors.reversed() {
                        let present = Set(IgnoreScope.fileNames.filter {
                            var fileInfo = stat()
                            return lstat(ancestor == "/" ? "/" + $0 : ancestor + "/" + $0, &fileInfo) == 0
                        })
                        if let patterns = IgnoreScope.load(folder: ancestor, present: present) {
                            scope = IgnoreScope(base: ancestor, patterns: patterns, parent: scope)
                        }
                    }
                    return scope
                }
            }
            return nil
        }

        private mutating func list(_ directory: Folder) {
            guard let handle = opendir(directory.path) else {
                queue.append(
                    .problem(Diagnostic(path: directory.path, .error, "cannot list folder: \(String(cString: strerror(errno)))")))
                return
            }
            var names: [String] = []
            var markers = Set<String>()
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
                if IgnoreScope.fileNames.contains(name) || DocumentNames.skippedFolderMarkers.contains(name) {
                    markers.insert(name)
                }
                if !options.includeHidden && name.hasPrefix(".") { continue }
                names.append(name)
            }
            closedir(handle)
            var folder = directory
            // A virtual environment or a tagged cache below a root is skipped like node_modules.
            if !folder.relative.isEmpty && !folder.includedOnly
                && !markers.isDisjoint(with: DocumentNames.skippedFolderMarkers)
            {
                guard isNamedByInclude(folder.relative) else { return }
                folder.includedOnly = true
            }
            if options.useIgnoreFiles, let patterns = IgnoreScope.load(folder: folder.path, present: markers) {
                folder.ignores = IgnoreScope(base: folder.path, patterns: patterns, parent: folder.ignores)
            }
            // Sorted by bytes so the order is the same on every machine; reversed because the queue pops from the end.
            names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            var subdirectories: [Folder] = []
            var events: [Event] = []
            for name in names {
                let path = folder.path == "/" ? "/" + name : folder.path + "/" + name
                let relative = folder.relative.isEmpty ? name : folder.relative + "/" + name
                if matches(options.exclude, relative: relative) { continue }
                var linkInfo = stat()
                guard lstat(path, &linkInfo) == 0 else {
                    events.append(.problem(Diagnostic(path: path, .warning, "vanished or unreadable, skipped")))
                    continue
                }
                // A link is judged by what it points at (a broken one as itself), and reported only when wanted.
                var info = linkInfo
                if (linkInfo.st_mode & S_IFMT) == S_IFLNK && stat(path, &info) != 0 { info = linkInfo }
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    var child = Folder(
                        path: path, relative: relative, ignores: folder.ignores, includedOnly: folder.includedOnly)
                    if folder.includedOnly {
                        guard leadsInto(relative) else { continue }
                    } else if DocumentNames.skippedFolders.contains(name)
                        || (folder.ignores?.ignores(path, isDirectory: true) ?? false)
                    {
                        guard isNamedByInclude(relative) else { continue }
                        child.includedOnly = true
                    }
                    guard followable(path, linkInfo: linkInfo, info: info, events: &events) else { continue }
                    let identity = FileIdentity(info)
                    guard !visitedDirectories.contains(identity) else { continue }  // a loop or a second link
                    visitedDirectories.insert(identity)
                    subdirectories.append(child)
                } else {
                    guard !options.ignoredPaths.contains(path) else { continue }
                    let wanted = selects(relative: relative, name: name, folder: folder)
                    guard wanted != false, followable(path, linkInfo: linkInfo, info: info, events: &events) else {
                        continue
                    }
                    // Looked into only once known to stay inside the roots; a FIFO or device is never opened here.
                    if wanted == nil, (info.st_mode & S_IFMT) == S_IFREG, !FileWalker.looksLikeDocument(path) {
                        continue
                    }
                    if let event = Self.event(path: path, info: info) { events.append(event) }
                }
            }
            // Files of this folder first, then its subfolders, each in sorted order.
            stack.append(contentsOf: subdirectories.reversed())
            queue.append(contentsOf: (undecodable + events).reversed())
        }

        /// Whether the file (not a folder) at `relative` is to be read: an `include` glob, else not ignored and a
        /// document (or, with `only` globs, matching one). Nil when only its contents can tell (no extension).
        private func selects(relative: String, name: String, folder: Folder) -> Bool? {
            if matches(options.include, relative: relative) { return true }
            if folder.includedOnly { return false }
            let path = folder.path == "/" ? "/" + name : folder.path + "/" + name
            if let ignores = folder.ignores, ignores.ignores(path, isDirectory: false) { return false }
            if !options.only.isEmpty { return matches(options.only, relative: relative) }
            return DocumentNames.isDocument(name)
        }

        /// False, with a warning, for a broken symlink or one that leaves the roots without `followSymlinks`.
        private func followable(_ path: String, linkInfo: stat, info: stat, events: inout [Event]) -> Bool {
            guard (linkInfo.st_mode & S_IFMT) == S_IFLNK else { return true }
            var target = stat()
            guard stat(path, &target) == 0 else {
                events.append(.problem(Diagnostic(path: path, .warning, "broken symlink, skipped")))
                return false
            }
            if !options.followSymlinks {
                guard let resolved = FileWalker.canonicalPath(path), isInsideRoots(resolved) else {
                    events.append(
                        .problem(
                            Diagnostic(
                                path: path, .warning,
                                "symlink leads outside the ingested folders, not followed (use --follow-symlinks)")))
                    return false
                }
            }
            return true
        }

        /// What to report for a wanted file that is not a folder: nil for anything else than files and special
        /// files.
        private static func event(path: String, info: stat) -> Event? {
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

        /// True when an `include` glob names the skipped folder at `relative`: one of its segments other than `**`
        /// matches the folder's name, and the glob can match paths below it (`node_modules/pkg/**` names
        /// `node_modules`; `**/*.md` does not).
        private func isNamedByInclude(_ relative: String) -> Bool {
            let name = relative.split(separator: "/").last.map(String.init) ?? relative
            return includePaths.contains { glob in
                glob.contains { $0 != "**" && fnmatch($0, name, 0) == 0 } && Self.reaches(glob, below: relative)
            }
        }

        /// Inside a folder entered for an `include` glob: true when some glob can match paths below `relative`.
        private func leadsInto(_ relative: String) -> Bool {
            includePaths.contains { Self.reaches($0, below: relative) }
        }

        /// Whether `glob` could match a path strictly below the folder `relative`.
        static func reaches(_ glob: [String], below relative: String) -> Bool {
            let folder = relative.split(separator: "/", omittingEmptySubsequences: true)
            for (index, segment) in folder.enumerated() {
                guard index < glob.count else { return false }
                if glob[index] == "**" { return true }
                if fnmatch(glob[index], String(segment), 0) != 0 { return false }
            }
            return glob.count > folder.count
        }

        private func isInsideRoots(_ path: String) -> Bool {
            canonicalRoots.contains { root in path == root || path.hasPrefix(root == "/" ? "/" : root + "/") }
        }

        private func matches(_ globs: [String], relative: String) -> Bool {
            globs.contains { FileWalker.globMatches($0, relativePath: relative) }
        }
    }
}

extension FileWalker {
    /// How `include`, `exclude` and `only` globs (and the query's `--path`) match: a glob with a `/` matches
    /// the path below the root, others the file name. `*` crosses folders.
    public static func globMatches(_ glob: String, relativePath: String) -> Bool {
        let subject = glob.contains("/") ? relativePath : String(relativePath.split(separator: "/").last ?? "")
        return fnmatch(glob, subject, 0) == 0
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
