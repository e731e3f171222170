/// Why the index could not be opened, read or written.
public struct StoreError: CodedError, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let cannotOpen = Code("cannot open")
        public static let busy = Code("busy")
        public static let diskFull = Code("disk full")
        public static let readOnly = Code("read-only")
        public static let corrupt = Code("corrupt")
        public static let sqlite = Code("sqlite")
        /// The index was built with another embedder or chunking than the one asked for.
        public static let mismatch = Code("mismatch")
        /// The file is not an `embed` index, or one from a newer version.
        public static let notAnIndex = Code("not an index")
        /// Another process is writing this index.
        public static let locked = Code("locked")
        /// The index has no keyword table yet: it was last written by an embed without keyword search.
        public static let noKeywordIndex = Code("no keyword index")
        /// A PostgreSQL server refused a statement.
        public static let server = Code("database server")
        /// The connection to a PostgreSQL server was lost; the unfinished transaction was rolled back.
        public static let connectionLost = Code("connection lost")
        /// The index records no roots, so there is nothing to reindex.
        public static let nothingRecorded = Code("nothing recorded")
    }

    public var code: Code
    /// What happened and what to do about it.
    public var message: String
    public var path: String?
    public var sqliteCode: Int32?
    public var cause: (any Error)?

    public init(
        _ code: Code, _ message: String, path: String? = nil, sqliteCode: Int32? = nil, cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.sqliteCode = sqliteCode
        self.cause = cause
    }
}

extension StoreError {
    /// The message, naming the index at `path` once: as it is when the message names it, else after it.
    public func namingPath(_ path: String) -> String {
        message.contains(path) ? message : "\(path): \(message)"
    }
}
