import Foundation
import Testing

/// Reads committed test fixtures from `Tests/EmbedKitTests/Fixtures/parsing/`.
enum Fixtures {
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/parsing/\(name)")
        return try [UInt8](Data(contentsOf: url))
    }
}
