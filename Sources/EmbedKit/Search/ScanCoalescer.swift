/// Lets concurrent searches of one index share their passes over its vectors.
///
/// A scan is bound by memory bandwidth: it reads every vector (18 MB for 12,000 chunks of all-MiniLM-L6-v2),
/// whether for one query or many, and a matrix product scores many queries for little more than one. So a
/// search that would scan while another search's scan runs waits for it to end; then every query that waited
/// meanwhile is scanned in one pass, by one of the waiting searches, and each gets its own results.
///
/// Sharing a pass changes no result: ``ExactSearch`` ranks by exact scores, the same whichever queries it
/// scanned together. Queries share a pass only when they ask for the same matrix, `k` and score floor; a
/// search with a filter scans on its own.
final class ScanCoalescer: Sendable {
    private struct Waiter {
        var id: Int
        var queries: [[Float]]
        var matrix: VectorMatrix
        var k: Int
        var minScore: Float?
        var continuation: CheckedContinuation<Turn, Never>

        /// Which waiters may share a pass.
        var passKey: PassKey { PassKey(matrix: ObjectIdentifier(matrix.storage), k: k, minScore: minScore?.bitPattern) }
    }

    private struct PassKey: Hashable {
        var matrix: ObjectIdentifier
        var k: Int
        /// The floor's bits: a NaN floor must equal itself here.
        var minScore: UInt32?
    }

    private enum Turn {
        /// The waiter's results, scanned by another search.
        case done([[ScoredRow]])
        /// The waiter scans for everyone waiting, itself included.
        case scan
    }

    private struct State {
        var scanning = false
        var waiting: [Waiter] = []
        var nextID = 0
    }

    private let state = Locked(State())

    /// How many passes scanned queries of more than one search, for tests.
    private let sharedPasses = Locked(0)
    var sharedPassCount: Int { sharedPasses.withLock { $0 } }

    /// The `k` best rows of `matrix` for each of `queries`, as ``ExactSearch/search(_:in:k:partitions:minScore:accept:)``
    /// returns them, scanned with the queries of the searches waiting at the same time.
    func search(_ queries: [[Float]], in matrix: VectorMatrix, k: Int, minScore: Float?) async -> [[ScoredRow]] {
        var id = 0
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let scanNow = state.withLock { state -> Bool in
                id = state.nextID
                state.nextID &+= 1
                state.waiting.append(
                    Waiter(id: id, queries: queries, matrix: matrix, k: k, minScore: minScore, continuation: continuation))
                guard !state.scanning else { return false }
                state.scanning = true
                return true
            }
            if scanNow { continuation.resume(returning: .scan) }
        }
        if case .done(let results) = turn { return results }

        // This search scans for all that wait, then hands the next turn to one that came meanwhile.
        let batch = state.withLock { state in
            defer { state.waiting = [] }
            return state.waiting
        }
        var own: [[ScoredRow]] = []
        var passes: [PassKey: [Waiter]] = [:]
        var order: [PassKey] = []
        for waiter in batch {
            if passes[waiter.passKey] == nil { order.append(waiter.passKey) }
            passes[waiter.passKey, default: []].append(waiter)
        }
        for key in order {
            let sharing = passes[key]!
            if sharing.count > 1 { sharedPasses.withLock { $0 += 1 } }
            let results = await ExactSearch.search(
                sharing.flatMap(\.queries), in: sharing[0].matrix, k: key.k, minScore: sharing[0].minScore)
            var start = 0
            for waiter in sharing {
                let mine = Array(results[start..<start + waiter.queries.count])
                start += waiter.queries.count
                if waiter.id == id { own = mine } else { waiter.continuation.resume(returning: .done(mine)) }
            }
        }
        let next = state.withLock { state -> Waiter? in
            guard let first = state.waiting.first else {
                state.scanning = false
                return nil
            }
            return first
        }
        next?.continuation.resume(returning: .scan)
        return own
    }
}
