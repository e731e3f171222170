import Foundation
import Testing

@testable import EmbedKit

@Suite("--shard I/N: which files a shard takes")
struct IngestShardTests {
    @Test("I/N parses for 1 <= I <= N; anything else is refused")
    func parsing() {
        #expect(IngestShard("2/4") == IngestShard(number: 2, count: 4))
        #expect(IngestShard("1/1")?.description == "1/1")
        for bad in ["0/4", "5/4", "4", "/4", "2/", "2/4/1", "-1/4", "a/b", " 2/4", "2/0", "1/65537", "١/٢", ""] {
            #expect(IngestShard(bad) == nil, "\(bad) was accepted")
        }
    }

    @Test("the part depends on the path below the root alone, and is the same in every version (FNV-1a, high bits)")
    func stable() {
        // Pinned: a change here would move files between the shards of machines running different versions.
        #expect(IngestShard.part(of: "guide/install.md", count: 1000) == 447)
        #expect(IngestShard.part(of: "a.txt", count: 1000) == 496)
        #expect(IngestShard.part(of: "docs/ünïcode.html", count: 7) == 3)
        let shard = IngestShard(number: 447, count: 1000)!
        #expect(shard.contains("/srv/tree/guide/install.md", under: "/srv/tree"))
        #expect(shard.contains("/mnt/copy/guide/install.md", under: "/mnt/copy/"))
        #expect(!shard.contains("/srv/tree/guide/install.md", under: "/srv"))
        #expect(IngestShard.relativePath(of: "/srv/tree/a.txt", under: "/srv/tree/a.txt") == "a.txt")
    }

    @Test("every file falls in exactly one part, and the parts are about even")
    func partition() {
        let paths = (0..<20_000).map { "dir\($0 % 97)/file-\($0).md" }
        for count in [1, 2, 3, 4, 16] {
            var sizes = [Int](repeating: 0, count: count)
            for path in paths {
                let taking = (1...count).filter { IngestShard(number: $0, count: count)!.contains(relativePath: path) }
                #expect(taking.count == 1)
                sizes[taking[0] - 1] += 1
            }
            let even = Double(paths.count) / Double(count)
            for size in sizes { #expect(abs(Double(size) - even) < even * 0.1, "parts of \(count): \(sizes)") }
        }
    }

    @Test("a root records its shard as I/N, and an index from before shards reads as whole")
    func recorded() throws {
        let root = IngestRoot(path: "/srv/tree", shard: IngestShard("3/8"))
        let json = try IndexFile.encode([root])
        #expect(json.contains("\"shard\":\"3\\/8\"") || json.contains("\"shard\":\"3/8\""), "\(json)")
        let decoded = try JSONDecoder().decode([IngestRoot].self, from: Data(json.utf8))
        #expect(decoded == [root])
        let old = try JSONDecoder().decode([IngestRoot].self, from: Data(#"[{"path":"/srv/tree","options":{}}]"#.utf8))
        #expect(old[0].shard == nil)
    }
}
