import Foundation

/// Where a PostgreSQL index lives: `postgres://user@host:port/dbname?schema=NAME`, given wherever an index path
/// is (`--db`).
///
/// The index is the schema `NAME` (default `embed`) of that database: one database holds many indexes, one per
/// schema. Every other query parameter (`sslmode`, `connect_timeout`, `application_name`...) goes to libpq as
/// it is. A password is refused, in the URL or as a parameter: it would be shown by `ps`, kept in shell
/// histories and crontabs, and printed in messages. libpq reads it from `PGPASSWORD` or `~/.pgpass` instead,
/// and embed never stores or prints it.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    /// What libpq connects with: the URL without `schema`, with a 10 s connect timeout unless one is given.
    let connectionString: String
    /// The schema that holds the index.
    public let schema: String
    /// The URL as messages show it.
    public let display: String

    public static let defaultSchema = "embed"

    /// True when `db` names a PostgreSQL index rather than a SQLite file.
    public static func isPostgres(_ db: String) -> Bool {
        let lower = db.prefix(14).lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// Parses a `postgres://` or `postgresql://` URL.
    /// - Throws: ``UsageError`` when it is not a usable URL, holds a password, or names an unusable schema.
    public init(_ url: String) throws {
        guard var components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw UsageError("--db \(Self.redacted(url)) is not a PostgreSQL URL such as postgres://user@host:5432/dbname?schema=embed")
        }
        let shown = Self.redacted(url)
        if components.password != nil
            || components.queryItems?.contains(where: { $0.name.lowercased() == "password" }) == true
        {
            throw UsageError(
                "--db \(shown) holds a password: it would be kept in shell histories and shown by ps. Leave it out "
                    + "and put it in the environment variable PGPASSWORD or in ~/.pgpass (libpq reads both)")
        }
        var schema = Self.defaultSchema
        var items: [URLQueryItem] = []
        for item in components.queryItems ?? [] {
            if item.name == "schema" {
                schema = item.value ?? ""
            } else {
                items.append(item)
            }
        }
        guard Self.isPlainIdentifier(schema) else {
            throw UsageError(
                "--db \(shown): the schema \"\(schema)\" must be 1 to 63 lower-case letters, digits and underscores, "
                    + "starting with a letter or an underscore")
        }
        if !items.contains(where: { $0.name == "connect_timeout" }) {
            items.append(URLQueryItem(name: "connect_timeout", value: "10"))
        }
        components.queryItems = items
        guard let connection = components.string else {
            throw UsageError("--db \(shown) is not a PostgreSQL URL such as postgres://user@host:5432/dbname")
        }
        connectionString = connection
        self.schema = schema
        display = shown
    }

    public var description: String { display }

    private init(connectionString: String, schema: String, display: String) {
        self.connectionString = connectionString
        self.schema = schema
        self.display = display
    }

    /// The same database, another schema.
    func inSchema(_ schema: String) -> PostgresLocation {
        PostgresLocation(connectionString: connectionString, schema: schema, display: display + " (schema " + schema + ")")
    }

    /// A name PostgreSQL folds to itself and needs no quoting for.
    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63 else { return false }
        let lower = UInt8(ascii: "a")...UInt8(ascii: "z")
        let digit = UInt8(ascii: "0")...UInt8(ascii: "9")
        let underscore = UInt8(ascii: "_")
        return (lower.contains(first) || first == underscore)
            && name.utf8.allSatisfy { lower.contains($0) || digit.contains($0) || $0 == underscore }
    }

    /// `url` with any password replaced, for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else {
            // Not parseable: show nothing after a user-info marker.
            if let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://") { return url[..<scheme.upperBound] + "…" + url[at...] }
            return url
        }
        if components.password != nil { components.password = "REDACTED" }
        if let items = components.queryItems, items.contains(where: { $0.name.lowercased() == "password" }) {
            components.queryItems = items.map { $0.name.lowercased() == "password" ? URLQueryItem(name: $0.name, value: "REDACTED") : $0 }
        }
        return components.string ?? url
    }
}
