package import EmbedKit
import Foundation

/// The body of `POST /v1/search`: what `embed query` takes on its command line.
package struct SearchRequest: Decodable {
    package var queries: [String]
    package var k: Int
    package var mode: SearchMode
    package var group: ResultGrouping
    package var all: Bool
    package var under: [String]
    package var path: [String]
    package var format: Set<DocumentFormat>
    package var minScore: Float?

    /// The most queries in one request, and the largest k: beyond them a request is refused (413, 400).
    package static let maxQueries = 1024
    package static let maxK = 1000
    /// The most results one request may ask for (queries × k): each carries its chunk's text.
    package static let maxResults = 10_000

    private enum CodingKeys: String, CodingKey {
        case query, queries, k, mode, group, all, under, path, format
        case minScore = "min_score"
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func field<T: Decodable>(_ type: T.Type, _ key: CodingKeys, _ what: String) throws -> T? {
            guard container.contains(key) else { return nil }
            guard let value = try? container.decode(type, forKey: key) else {
                throw ServeError.invalid("'\(key.stringValue)' must be \(what)")
            }
            return value
        }
        var queries = try field([String].self, .queries, "an array of strings") ?? []
        if let one = try field(String.self, .query, "a string") { queries.insert(one, at: 0) }
        guard !queries.isEmpty else { throw ServeError.invalid("give 'query' (a string) or 'queries' (an array)") }
        if queries.contains(where: { $0.allSatisfy(\.isWhitespace) }) {
            throw ServeError.invalid("a query is empty: give the words to search for")
        }
        guard queries.count <= Self.maxQueries else {
            throw ServeError(
                status: 413, type: "invalid_request_error",
                "\(queries.count) queries in one request; at most \(Self.maxQueries)")
        }
        self.queries = queries
        k = try field(Int.self, .k, "an integer") ?? 10
        guard (1...Self.maxK).contains(k) else { throw ServeError.invalid("'k' must be between 1 and \(Self.maxK)") }
        guard queries.count * k <= Self.maxResults else {
            throw ServeError(
                status: 413, type: "invalid_request_error",
                "\(queries.count) queries × k \(k) = \(queries.count * k) results; at most \(Self.maxResults) per request")
        }
        let modeName = try field(String.self, .mode, "vector, keyword or hybrid") ?? SearchMode.hybrid.rawValue
        guard let mode = SearchMode(rawValue: modeName) else {
            throw ServeError.invalid("'mode' must be vector, keyword or hybrid")
        }
        self.mode = mode
        let groupName = try field(String.self, .group, "chunk or document") ?? ResultGrouping.chunk.rawValue
        guard let group = ResultGrouping(rawValue: groupName) else {
            throw ServeError.invalid("'group' must be chunk or document")
        }
        self.group = group
        all = try field(Bool.self, .all, "true or false") ?? false
        under = try field([String].self, .under, "an array of folders") ?? []
        path = try field([String].self, .path, "an array of globs") ?? []
        var formats = Set<DocumentFormat>()
        for name in try field([String].self, .format, "an array of formats") ?? [] {
            guard let format = DocumentFormat(rawValue: name) else {
                throw ServeError.invalid("'format' holds '\(name)'; the formats are text, markdown, html, xml, rst")
            }
            formats.insert(format)
        }
        format = formats
        minScore = try field(Float.self, .minScore, "a number")
    }

    package var options: SearchOptions {
        SearchOptions(
            mode: mode, k: k,
            filter: SearchFilter(pathPrefixes: under, pathGlobs: path, formats: format, minScore: minScore),
            grouping: group, collapseCopies: !all)
    }
}
