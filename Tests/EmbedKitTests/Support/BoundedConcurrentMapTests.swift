import EmbedKit
import Testing

@Suite("Bounded concurrent map")
struct BoundedConcurrentMapTests {
    @Test("results come back in the elements' order, whatever order the tasks finish in")
    func order() async throws {
        // Later elements finish first.
        let results = try await Array(0..<12).boundedConcurrentMap(maxConcurrentTasks: 4) { n in
            try await Task.sleep(for: .milliseconds(2 * (12 - n)))
            return n * n
        }
        #expect(results == (0..<12).map { $0 * $0 })
    }

    @Test("never more tasks at once than the bound, and the bound is reached", arguments: [1, 3])
    func bound(limit: Int) async throws {
        let running = Locked((now: 0, most: 0))
        let results = try await Array(0..<20).boundedConcurrentMap(maxConcurrentTasks: limit) { n in
            running.withLock { state in
                state.now += 1
                state.most = max(state.most, state.now)
            }
            try await Task.sleep(for: .milliseconds(5))
            running.withLock { $0.now -= 1 }
            return n
        }
        #expect(results == Array(0..<20))
        #expect(running.withLock { $0.most } == limit)
    }

    @Test("an empty array makes no task")
    func empty() async throws {
        let results = try await [Int]().boundedConcurrentMap(maxConcurrentTasks: 2) { $0 }
        #expect(results.isEmpty)
    }

    @Test("the first error is rethrown")
    func error() async {
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            _ = try await Array(0..<10).boundedConcurrentMap(maxConcurrentTasks: 2) { n in
                if n == 3 { throw Refused() }
                return n
            }
        }
    }
}
