import EmbedKit

/// Counts how many things are in progress at once and remembers the most there ever were.
public final class HighWater: Sendable {
    private let state = Locked((current: 0, max: 0))

    public init() {}

    public func enter() {
        state.withLock {
            $0.current += 1
            $0.max = Swift.max($0.max, $0.current)
        }
    }

    public func leave() { state.withLock { $0.current -= 1 } }

    /// How many are in progress now.
    public var current: Int { state.withLock { $0.current } }
    /// The most that were ever in progress at once.
    public var max: Int { state.withLock { $0.max } }
}
