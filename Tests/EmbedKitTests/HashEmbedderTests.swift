import EmbedKit
import Testing

@Suite("HashEmbedder")
struct HashEmbedderTests {
    @Test("vectors are unit length, deterministic and similar for shared words")
    func basics() async throws {
        let embedder = HashEmbedder()
        let vectors = try await embedder.embed(["The cat sat on the mat", "the CAT sat on the mat", "quantum chromodynamics"])
        #expect(vectors.count == 3)
        #expect(vectors.allSatisfy { $0.count == 384 })
        let norm = vectors[0].reduce(0) { $0 + $1 * $1 }
        #expect(abs(norm - 1) < 1e-5)
        #expect(vectors[0] == vectors[1])
        let dot = zip(vectors[0], vectors[2]).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(abs(dot) < 0.3)
    }

    @Test("an empty text gives the zero vector")
    func empty() async throws {
        let vector = HashEmbedder().vector(for: "  ,. ")
        #expect(vector.allSatisfy { $0 == 0 })
    }
}
