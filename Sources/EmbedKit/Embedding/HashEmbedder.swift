/// A model-free embedder: feature hashing of words and word bigrams into a fixed number of dimensions.
///
/// Texts are lower-cased and split into words (runs of letters and digits). Each word and each pair of
/// adjacent words is hashed (64-bit FNV-1a, stable across runs and machines) to a dimension and a sign;
/// the vector is then L2-normalized. Texts that share words get similar vectors, which is enough for
/// tests, demos and keyword-like search, with no model and no network.
public struct HashEmbedder: Embedder {
    public let identity: EmbedderIdentity
    public let maxBatchSize = 256
    public let tokenCounter: any TokenCounter = EstimatedTokenCounter()

    /// The dimension of a hash embedder when none is asked for.
    public static let defaultDimension = 384

    public init(dimension: Int = defaultDimension) {
        precondition(dimension > 0, "dimension must be positive")
        identity = EmbedderIdentity(name: "hash", model: "fnv1a-words-bigrams-v1", dimension: dimension, isNormalized: true)
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        texts.map(vector(for:))
    }

    /// The vector of one text (synchronous; `embed` maps this over a batch).
    public func vector(for text: String) -> [Float] {
        let dimension = identity.dimension
        var vector = [Float](repeating: 0, count: dimension)
        var previous: UInt64? = nil
        forEachWordHash(in: text) { word in
            add(word, to: &vector)
            if let previous {
                // Bigram: combine the two word hashes order-sensitively.
                add(Self.mix(previous &* 0x9E37_79B9_7F4A_7C15 ^ word), to: &vector)
            }
            previous = word
        }
        var norm: Float = 0
        for x in vector { norm += x * x }
        if norm > 0 {
            let scale = 1 / norm.squareRoot()
            for i in vector.indices { vector[i] *= scale }
        }
        return vector
    }

    private func add(_ hash: UInt64, to vector: inout [Float]) {
        let index = Int(hash % UInt64(vector.count))
        let sign: Float = (hash >> 63) == 0 ? 1 : -1
        vector[index] += sign
    }

    private static func mix(_ x: UInt64) -> UInt64 {
        // splitmix64 finaliser: spreads bits so that modulo and sign bit are independent.
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Calls `body` with the FNV-1a hash of each lower-cased word.
    private func forEachWordHash(in text: String, _ body: (UInt64) -> Void) {
        let offset: UInt64 = 0xcbf2_9ce4_8422_2325
        let prime: UInt64 = 0x0000_0100_0000_01B3
        var hash = offset
        var inWord = false
        for scalar in text.unicodeScalars {
            if scalar.value < 0x80, scalar.isWordCharacter {
                // ASCII: lower-case by setting bit 5 on letters; the same bytes as lowercaseMapping gives.
                let byte = scalar.value >= 0x41 && scalar.value <= 0x5A ? scalar.value | 0x20 : scalar.value
                hash = (hash ^ UInt64(byte)) &* prime
                inWord = true
            } else if scalar.isWordCharacter {
                for lower in scalar.properties.lowercaseMapping.utf8 {
                    hash = (hash ^ UInt64(lower)) &* prime
                }
                inWord = true
            } else if inWord {
                body(Self.mix(hash))
                hash = offset
                inWord = false
            }
        }
        if inWord { body(Self.mix(hash)) }
    }
}
