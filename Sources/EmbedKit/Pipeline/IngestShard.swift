/// One of `count` disjoint parts of a tree, so that several processes or machines can ingest one tree at once:
/// `embed ingest --shard 2/4` takes the files whose path below their root hashes into part 2.
///
/// The hash is FNV-1a (64-bit) of the path's UTF-8 bytes below the root (`docs/a.md` under `/srv/tree`), mapped
/// to a part by its high bits (`hash * count >> 64`). It depends on nothing but that relative path, so machines
/// that mount the tree at different places split it alike, and every version of embed splits it alike.
public struct IngestShard: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The part, from 1 to ``count``.
    public let number: Int
    /// How many parts the tree is split into.
    public let count: Int

    /// The most parts a tree may be split into.
    public static let maxCount = 65_536

    /// `number` of `count` parts; nil unless `1 <= number <= count <= maxCount`.
    public init?(number: Int, count: Int) {
        guard count >= 1, count <= Self.maxCount, number >= 1, number <= count else { return nil }
        self.number = number
        self.count = count
    }

    /// Parses `I/N`, such as `2/4`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) }),
            let number = Int(parts[0]), let count = Int(parts[1])
        else { return nil }
        self.init(number: number, count: count)
    }

    public var description: String { "\(number)/\(count)" }

    /// True when the shard takes the file at `path`, found under the root `root` (both absolute).
    public func contains(_ path: String, under root: String) -> Bool {
        contains(relativePath: Self.relativePath(of: path, under: root))
    }

    /// True when the shard takes the file whose path below its root is `relativePath`.
    public func contains(relativePath: String) -> Bool {
        Self.part(of: relativePath, count: count) == number
    }

    /// The part (1-based) that `relativePath` falls in when a tree is split into `count` parts.
    public static func part(of relativePath: String, count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in relativePath.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int(hash.multipliedFullWidth(by: UInt64(count)).high) + 1
    }

    /// The path of `path` below `root`; a root that is the file itself gives its name.
    public static func relativePath(of path: String, under root: String) -> String {
        if path == root {
            return path.split(separator: "/").last.map(String.init) ?? path
        }
        let prefix = root.hasSuffix("/") ? root : root + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    // Recorded with a root as its text, `2/4`.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let shard = IngestShard(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a shard such as 2/4: \(text)"))
        }
        self = shard
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
