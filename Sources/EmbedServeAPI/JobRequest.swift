import Foundation

/// The body of `POST /v1/ingest` and `POST /v1/reindex`.
package struct JobRequest: Decodable {
    /// Folders and files to ingest (ingest only).
    package var paths: [String]
    /// Which served index to write; the first when absent.
    package var db: String?

    private enum CodingKeys: String, CodingKey { case paths, db }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.paths) {
            guard let paths = try? container.decode([String].self, forKey: .paths) else {
                throw ServeError.invalid("'paths' must be an array of folders and files")
            }
            self.paths = paths
        } else {
            paths = []
        }
        if container.contains(.db) {
            guard let db = try? container.decode(String.self, forKey: .db) else { throw ServeError.invalid("'db' must be a string") }
            self.db = db
        }
    }
}
