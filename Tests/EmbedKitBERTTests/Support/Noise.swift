/// A fixed pseudo-random sequence in [−scale, scale), so failures repeat.
func noise(_ count: Int, seed: UInt64, scale: Float = 4) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
}
