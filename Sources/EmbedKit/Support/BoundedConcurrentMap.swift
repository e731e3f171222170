extension Array where Element: Sendable {
    /// Transforms every element in child tasks, at most `maxConcurrentTasks` at a time, and returns the results in
    /// the elements' order whatever order the tasks finish in.
    ///
    /// The bound keeps one call from starting a task per element: the embedders hand it hundreds of batches, each
    /// holding its inputs (and, for the model, a workspace) while it runs. A new task starts only when one ends,
    /// and not after cancellation; the first error cancels the tasks still running and is rethrown.
    public func boundedConcurrentMap<Result: Sendable>(
        maxConcurrentTasks: Int, _ transform: @escaping @Sendable (Element) async throws -> Result
    ) async throws -> [Result] {
        let limit = Swift.max(1, maxConcurrentTasks)
        var results = [Result?](repeating: nil, count: count)
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var next = 0
            func startNext() {
                let position = next
                let element = self[position]
                group.addTask { (position, try await transform(element)) }
                next += 1
            }
            while next < count, next < limit { startNext() }
            while let (position, result) = try await group.next() {
                results[position] = result
                if next < count {
                    try Task.checkCancellation()
                    startNext()
                }
            }
        }
        return results.map { $0! }
    }
}
