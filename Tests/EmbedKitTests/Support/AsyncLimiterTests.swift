import EmbedKit
import Foundation
import Testing

@Suite("AsyncLimiter")
struct AsyncLimiterTests {
    @Test("never runs more than its limit at once, and runs everything")
    func bound() async {
        let limiter = AsyncLimiter(limit: 2)
        let counts = Locked((running: 0, peak: 0, done: 0))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<24 {
                group.addTask {
                    await limiter.run {
                        counts.withLock { $0.running += 1; $0.peak = max($0.peak, $0.running) }
                        usleep(2000)  // holds the slot, as a forward pass or a search would
                        counts.withLock { $0.running -= 1; $0.done += 1 }
                    }
                }
            }
        }
        let final = counts.withLock { $0 }
        #expect(final.peak <= 2)
        #expect(final.done == 24)
    }
}
