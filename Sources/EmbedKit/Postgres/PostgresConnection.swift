private import CEmbedPQ
import Foundation

/// One libpq connection. Not thread-safe: one owner (an actor on its own serial executor) uses it, because
/// every call blocks until the server answers.
///
/// Parameters travel as text, except byte strings and vectors, which travel in binary; results come back in
/// binary (``PostgresRows``), so no number or vector is printed and parsed on the way.
final class PostgresConnection {
    private let handle: OpaquePointer
    let location: PostgresLocation

    /// Connects, retrying for a while when the server is starting up, restarting or not yet reachable.
    /// - Throws: ``StoreError`` `.cannotOpen` naming the server (never a password) and what to check.
    init(_ location: PostgresLocation, attempts: Int = 5) throws(StoreError) {
        self.location = location
        var delay = 0.2
        var attempt = 0
        while true {
            attempt += 1
            guard let connection = PQconnectdb(location.connectionString) else {
                throw StoreError(.cannotOpen, "\(location.display): out of memory", path: location.display)
            }
            if PQstatus(connection) == CONNECTION_OK {
                handle = connection
                break
            }
            let message = Self.oneLine(String(cString: PQerrorMessage(connection)))
            PQfinish(connection)
            let passing = ["starting up", "shutting down", "Connection refused", "in recovery mode", "timeout expired"]
                .contains { message.contains($0) }
            guard passing, attempt < attempts else {
                throw StoreError(
                    .cannotOpen,
                    "cannot connect to \(location.display): \(message)"
                        + (message.contains("password") ? " (the password comes from PGPASSWORD or ~/.pgpass)" : ""),
                    path: location.display)
            }
            Thread.sleep(forTimeInterval: delay)
            delay = min(delay * 2, 2)
        }
        // Notices (such as "relation already exists, skipping") are not for the user.
        _ = try? execute("SET client_min_messages = warning")
    }

    deinit { PQfinish(handle) }

    /// True while the connection to the server is up, as far as libpq knows.
    var isUp: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Runs SQL without parameters: several statements at once are allowed. Rows come back as text: read rows
    /// with ``query(_:_:)``.
    @discardableResult
    func execute(_ sql: String) throws(StoreError) -> PostgresRows {
        try check(PQexec(handle, sql), sql: sql)
    }

    /// Runs one statement with parameters `$1`, `$2`... bound to `values`.
    @discardableResult
    func query(_ sql: String, _ values: [PostgresValue] = []) throws(StoreError) -> PostgresRows {
        var texts: [[CChar]?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        var types: [Oid] = []
        for value in values {
            switch value {
            case .null:
                texts.append(nil)
                lengths.append(0)
                formats.append(0)
                types.append(0)
            case .text(let text):
                texts.append(Array(text.utf8CString))
                lengths.append(0)
                formats.append(0)
                types.append(0)
            case .int(let number):
                texts.append(Array(String(number).utf8CString))
                lengths.append(0)
                formats.append(0)
                types.append(20)  // int8
            case .bytes(let bytes):
                texts.append(bytes.map { CChar(bitPattern: $0) })
                lengths.append(Int32(bytes.count))
                formats.append(1)
                types.append(17)  // bytea
            case .vector(let vector):
                let bytes = PostgresRows.encodeVector(vector)
                texts.append(bytes.map { CChar(bitPattern: $0) })
                lengths.append(Int32(bytes.count))
                formats.append(1)
                types.append(0)  // the statement casts it: `$1::vector`
            case .textArray(let array):
                texts.append(Array(Self.arrayLiteral(array).utf8CString))
                lengths.append(0)
                formats.append(0)
                types.append(1009)  // text[]
            case .byteaArray(let array):
                texts.append(Array(Self.arrayLiteral(array.map { "\\x" + $0.map { String(format: "%02x", $0) }.joined() }).utf8CString))
                lengths.append(0)
                formats.append(0)
                types.append(1001)  // bytea[]
            }
        }
        let result = withPointers(texts) { pointers in
            PQexecParams(handle, sql, Int32(values.count), types, pointers, lengths, formats, 1)
        }
        return try check(result, sql: sql)
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isUp { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    private func check(_ result: OpaquePointer?, sql: String) throws(StoreError) -> PostgresRows {
        guard let result else {
            throw StoreError(
                .server, "\(location.display): \(Self.oneLine(String(cString: PQerrorMessage(handle))))",
                path: location.display)
        }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY {
            return PostgresRows(result)
        }
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
        let message = Self.oneLine(String(cString: PQresultErrorMessage(result)))
        PQclear(result)
        throw Self.error(state: state, message: message, location: location, connectionLost: !isUp)
    }

    /// The store's error for a server error with SQLSTATE `state`.
    static func error(state: String, message: String, location: PostgresLocation, connectionLost: Bool) -> StoreError {
        let path = location.display
        if connectionLost || state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03" {
            return StoreError(
                .connectionLost, "\(path): the connection to the server was lost (\(message)); nothing of the "
                    + "unfinished transaction was kept: run again once the server is back", path: path)
        }
        switch state {
        case "53100": return StoreError(.diskFull, "\(path): the database server's disk is full (\(message))", path: path)
        case "53200", "53300": return StoreError(.busy, "\(path): the server is out of resources (\(message))", path: path)
        case "25006": return StoreError(.readOnly, "\(path): the server is read-only (\(message))", path: path)
        case "40001", "40P01": return StoreError(.busy, "\(path): \(message); run again", path: path)
        default: return StoreError(.server, "\(path): \(message)", path: path)
        }
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
    }

    /// A PostgreSQL array literal of `items`, each quoted.
    static func arrayLiteral(_ items: [String]) -> String {
        "{" + items.map { "\"" + $0.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\"" }
            .joined(separator: ",") + "}"
    }
}

/// A value bound to a statement's parameter.
enum PostgresValue {
    case null
    case text(String)
    case int(Int64)
    case bytes([UInt8])
    /// pgvector's `vector`, sent in its binary form; write the parameter as `$n::vector`.
    case vector([Float])
    case textArray([String])
    case byteaArray([[UInt8]])
}

private func withPointers<R>(_ buffers: [[CChar]?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    func nest(_ index: Int, _ pointers: [UnsafePointer<CChar>?]) -> R {
        guard index < buffers.count else { return body(pointers) }
        guard let buffer = buffers[index] else { return nest(index + 1, pointers + [nil]) }
        return buffer.withUnsafeBufferPointer { nest(index + 1, pointers + [$0.baseAddress]) }
    }
    return nest(0, [])
}

/// The rows of a result, in binary: read each column with the accessor of its type.
final class PostgresRows {
    private let result: OpaquePointer

    fileprivate init(_ result: OpaquePointer) { self.result = result }
    deinit { PQclear(result) }

    var count: Int { Int(PQntuples(result)) }
    /// Rows the statement changed (INSERT, UPDATE, DELETE).
    var changed: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) == 1 }

    private func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer {
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        guard let value = PQgetvalue(result, Int32(row), Int32(column)), length > 0 else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: value, count: length)
    }

    /// An integer column (int2, int4 or int8).
    func int(_ row: Int, _ column: Int) -> Int64 {
        let raw = bytes(row, column)
        switch raw.count {
        case 2: return Int64(Int16(bigEndian: raw.loadUnaligned(as: Int16.self)))
        case 4: return Int64(Int32(bigEndian: raw.loadUnaligned(as: Int32.self)))
        case 8: return Int64(bigEndian: raw.loadUnaligned(as: Int64.self))
        default: return 0
        }
    }

    /// A float4 or float8 column.
    func double(_ row: Int, _ column: Int) -> Double {
        let raw = bytes(row, column)
        switch raw.count {
        case 4: return Double(Float(bitPattern: UInt32(bigEndian: raw.loadUnaligned(as: UInt32.self))))
        case 8: return Double(bitPattern: UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)))
        default: return 0
        }
    }

    func text(_ row: Int, _ column: Int) -> String {
        String(decoding: bytes(row, column), as: UTF8.self)
    }

    func blob(_ row: Int, _ column: Int) -> [UInt8] { Array(bytes(row, column)) }

    /// A `vector` column: nil when null or not a well-formed vector.
    func vector(_ row: Int, _ column: Int) -> [Float]? {
        guard !isNull(row, column) else { return nil }
        return Self.decodeVector(bytes(row, column))
    }

    /// pgvector's binary form: the dimension (int16), an unused int16, then the floats, all big-endian.
    static func encodeVector(_ vector: [Float]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + 4 * vector.count)
        let dimension = UInt16(truncatingIfNeeded: vector.count)
        bytes += [UInt8(dimension >> 8), UInt8(dimension & 0xff), 0, 0]
        for value in vector {
            let bits = value.bitPattern
            bytes += [UInt8(bits >> 24), UInt8((bits >> 16) & 0xff), UInt8((bits >> 8) & 0xff), UInt8(bits & 0xff)]
        }
        return bytes
    }

    static func decodeVector(_ raw: UnsafeRawBufferPointer) -> [Float]? {
        guard raw.count >= 4 else { return nil }
        let dimension = Int(UInt16(raw[0]) << 8 | UInt16(raw[1]))
        guard raw.count == 4 + 4 * dimension else { return nil }
        return (0..<dimension).map { i in
            Float(bitPattern: UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 4 + 4 * i, as: UInt32.self)))
        }
    }
}
