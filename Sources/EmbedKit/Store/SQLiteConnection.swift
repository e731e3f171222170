private import CEmbedSQLite
import Foundation

/// Owns one SQLite connection handle. Not thread-safe: only one owner (an actor or a single task) may use it.
final class SQLiteConnection {
    private let handle: OpaquePointer
    let path: String
    /// FTS5's API on this connection, once fetched (see ``fts5Tokens(of:tokenizer:query:)``).
    private var fts5API: UnsafeMutablePointer<fts5_api>?

    /// Opens (and with `create`, creates) the database at `path`.
    /// - Parameter immutable: read the file as it is, without locks or a write-ahead log: only for a file that
    ///   nobody can be writing (see ``IndexReader``).
    init(path: String, readOnly: Bool = false, create: Bool = true, immutable: Bool = false) throws(StoreError) {
        var db: OpaquePointer?
        var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create && !readOnly { flags |= SQLITE_OPEN_CREATE }
        flags |= SQLITE_OPEN_NOMUTEX  // this connection is confined to one owner
        let name: String
        if immutable {
            flags |= SQLITE_OPEN_URI
            name = Self.immutableURI(path)
        } else {
            name = Self.plainName(path)
        }
        let rc = sqlite3_open_v2(name, &db, flags, nil)
        SQLiteOpenCounter.record(path)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw StoreError(.cannotOpen, "cannot open index \(path): \(message)", path: path, sqliteCode: rc)
        }
        handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
    }

    /// `path` as a file name SQLite cannot mistake for a URI: this SQLite is built to read `file:...` names as
    /// URIs, so `--db file:x.sqlite` would otherwise open `x.sqlite`.
    static func plainName(_ path: String) -> String {
        path.hasPrefix("file:") ? "./" + path : path
    }

    /// A `file:` URI for `path` with `immutable=1`; every byte outside the unreserved set is percent-encoded.
    static func immutableURI(_ path: String) -> String {
        fileURI(path, query: "immutable=1")
    }

    /// A `file:` URI for `path` with `query`; every byte outside the unreserved set is percent-encoded.
    static func fileURI(_ path: String, query: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var encoded = ""
        for byte in absolute.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "/"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded += String(format: "%%%02X", byte)
            }
        }
        return "file:" + encoded + "?" + query
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs one or more SQL statements that take no parameters and return no rows.
    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw error(rc, text)
        }
    }

    func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc, lastMessage) }
        return SQLiteStatement(statement, connection: self)
    }

    /// One token of a text, as an FTS5 tokenizer makes it, and the UTF-8 offsets of the text it came from.
    struct FTS5Token {
        var token: String
        var utf8Range: Range<Int>
    }

    /// The tokens FTS5 makes of `text`, in order, with the tokenizer `specification` (as in `tokenize = '...'`:
    /// a name, then its arguments, separated by spaces): as a MATCH query's words when `query` is true, else as a
    /// document's text.
    func fts5Tokens(of text: String, tokenizer specification: String, query: Bool) throws(StoreError) -> [FTS5Token] {
        final class Collected { var tokens: [FTS5Token] = [] }
        if fts5API == nil { fts5API = CEmbedSQLite_fts5_api(handle) }
        guard let fts5API else { throw StoreError(.sqlite, "this SQLite has no FTS5, which keyword search needs") }
        let collected = Collected()
        let words = specification.split(separator: " ").map(String.init)
        guard let name = words.first else { return [] }
        let arguments = words.dropFirst().map { strdup($0) }
        defer { arguments.forEach { free($0) } }
        var argumentPointers = arguments.map { UnsafePointer<CChar>($0) }
        var utf8 = Array(text.utf8)
        let rc = withExtendedLifetime(collected) {
            utf8.withUnsafeMutableBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) { bytes in
                    argumentPointers.withUnsafeMutableBufferPointer { argumentBuffer in
                        CEmbedSQLite_fts5_tokenize(
                            fts5API, name, argumentBuffer.baseAddress, Int32(argumentBuffer.count), bytes.baseAddress,
                            Int32(bytes.count), query ? 1 : 0, Unmanaged.passUnretained(collected).toOpaque()
                        ) { context, _, token, length, start, end in
                            guard let context, let token, start <= end else { return SQLITE_OK }
                            let collected = Unmanaged<Collected>.fromOpaque(context).takeUnretainedValue()
                            let bytes = UnsafeRawBufferPointer(start: token, count: Int(length))
                            collected.tokens.append(
                                FTS5Token(token: String(decoding: bytes, as: UTF8.self), utf8Range: Int(start)..<Int(end)))
                            return SQLITE_OK
                        }
                    }
                }
            }
        }
        guard rc == SQLITE_OK else { throw error(rc, "cannot tokenize with FTS5's \(specification): \(lastMessage)") }
        return collected.tokens
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// True for the errors of a read-only connection that meets a hot rollback journal or a write-ahead log
    /// that needs recovery: a connection that may write repairs the file on open.
    static func needsRecovery(_ error: StoreError) -> Bool {
        guard let code = error.sqliteCode else { return false }
        return code == ExtendedCode.readOnlyRollback || code == ExtendedCode.readOnlyRecovery
    }

    /// True for the errors of a read-only connection that cannot create or map the write-ahead log's shared
    /// memory (`-shm`): a folder or file it may not write.
    static func lacksSharedMemory(_ error: StoreError) -> Bool {
        guard let code = error.sqliteCode else { return false }
        return code & 0xFF == SQLITE_CANTOPEN
            || [
                ExtendedCode.readOnlyCantInit, ExtendedCode.readOnlyDirectory, ExtendedCode.readOnlyCantLock,
                ExtendedCode.ioShmOpen, ExtendedCode.ioShmMap,
            ].contains(code)
    }

    /// SQLite's extended result codes used here (C macros that Swift does not import).
    private enum ExtendedCode {
        static let readOnlyRecovery = SQLITE_READONLY | 1 << 8
        static let readOnlyCantLock = SQLITE_READONLY | 2 << 8
        static let readOnlyRollback = SQLITE_READONLY | 3 << 8
        static let readOnlyCantInit = SQLITE_READONLY | 5 << 8
        static let readOnlyDirectory = SQLITE_READONLY | 6 << 8
        static let ioShmOpen = SQLITE_IOERR | 18 << 8
        static let ioShmMap = SQLITE_IOERR | 21 << 8
    }

    /// True inside BEGIN ... COMMIT (SQLite is not in autocommit mode).
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    var changes: Int { Int(sqlite3_changes(handle)) }

    func error(_ rc: Int32, _ message: String) -> StoreError {
        let primary = rc & 0xFF
        let code: StoreError.Code
        switch primary {
        case SQLITE_BUSY, SQLITE_LOCKED: code = .busy
        case SQLITE_FULL: code = .diskFull
        case SQLITE_READONLY: code = .readOnly
        case SQLITE_CORRUPT, SQLITE_NOTADB: code = .corrupt
        case SQLITE_CANTOPEN: code = .cannotOpen
        default: code = .sqlite
        }
        let hint: String
        switch code {
        case .diskFull: hint = " (the disk or SQLite's size limit is full; free space and run again)"
        case .readOnly: hint = " (the index is read-only; check its permissions)"
        case .corrupt: hint = " (the index file is damaged; rebuild it from its documents)"
        case .busy: hint = " (another process holds the index; try again)"
        default: hint = ""
        }
        return StoreError(code, "\(path): \(message)\(hint)", path: path, sqliteCode: rc)
    }
}

/// A prepared statement, reset before each use. Belongs to its connection's owner.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(_ handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    enum Value {
        case int(Int64)
        case double(Double)
        case text(String)
        case blob([UInt8])
        case null
    }

    /// Binds `values` to the parameters ?1, ?2, ... after resetting the statement.
    @discardableResult
    func bind(_ values: [Value]) -> SQLiteStatement {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .int(let v): sqlite3_bind_int64(handle, index, v)
            case .double(let v): sqlite3_bind_double(handle, index, v)
            case .text(let v):
                var v = v
                v.withUTF8 { CEmbedSQLite_bind_text_transient(handle, index, $0.baseAddress, Int32($0.count)) }
            case .blob(let v):
                v.withUnsafeBytes { CEmbedSQLite_bind_blob_transient(handle, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count)) }
            case .null: sqlite3_bind_null(handle, index)
            }
        }
        return self
    }

    /// Binds a float vector as a little-endian float32 BLOB.
    func bindVector(_ vector: [Float], at index: Int32) {
        VectorCoding.withBytes(of: vector) {
            CEmbedSQLite_bind_blob_transient(handle, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count))
        }
    }

    /// Steps once: true when a row is available.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc, connection.lastMessage)
        }
    }

    /// Ends the statement's current run, so it no longer holds the tables it read (SQLite refuses to drop a table
    /// while a statement on the connection is still running).
    func reset() {
        sqlite3_reset(handle)
    }

    /// Runs the statement to completion, ignoring rows.
    func run() throws(StoreError) {
        while try step() {}
    }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Calls `body` with the column's bytes without copying them; valid only inside `body`.
    func withBlob<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let count = Int(sqlite3_column_bytes(handle, column))
        let pointer = sqlite3_column_blob(handle, column)
        return try body(UnsafeRawBufferPointer(start: count > 0 ? pointer : nil, count: count))
    }
}
