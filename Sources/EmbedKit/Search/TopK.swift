/// One scored row.
public struct ScoredRow: Sendable, Equatable {
    public var row: Int
    public var score: Float

    /// The ranking order, equal scores by the lower row.
    @inline(__always)
    static func ranksBefore(_ a: ScoredRow, _ b: ScoredRow) -> Bool {
        RankingOrder.ranksBefore(a.score, b.score, tiesBrokenBy: a.row < b.row)
    }
}

/// Keeps the `k` best rows seen so far (a bounded min-heap whose root is the worst kept row).
struct TopK {
    let k: Int
    private(set) var heap: [ScoredRow] = []

    init(k: Int) {
        self.k = max(0, k)
        heap.reserveCapacity(self.k)
    }

    /// The score a new row must beat to enter, once the heap is full.
    var threshold: Float { heap.count < k ? -.infinity : heap[0].score }

    @inline(__always)
    mutating func insert(_ candidate: ScoredRow) {
        guard k > 0 else { return }
        if heap.count < k {
            heap.append(candidate)
            siftUp(heap.count - 1)
        } else if ScoredRow.ranksBefore(candidate, heap[0]) {
            heap[0] = candidate
            siftDown(0)
        }
    }

    /// The kept rows, best first.
    func sorted() -> [ScoredRow] { heap.sorted(by: ScoredRow.ranksBefore) }

    // The heap's root is the row that ranks last.
    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard ScoredRow.ranksBefore(heap[parent], heap[child]) else { return }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var worst = left
            let right = left + 1
            if right < heap.count, ScoredRow.ranksBefore(heap[left], heap[right]) { worst = right }
            guard ScoredRow.ranksBefore(heap[parent], heap[worst]) else { return }
            heap.swapAt(parent, worst)
            parent = worst
        }
    }
}
