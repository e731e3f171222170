import Foundation

/// `embed merge`: joins indexes built with the same recipe (the shards of one tree, ingested with `--shard` by
/// several processes or machines) into one.
///
/// Each input is checked before the output is touched; an input that is not an index, is damaged, or was built
/// with another embedder or chunking is reported and left out, and the rest are merged. Each input goes in in one
/// transaction (see ``SQLiteIndexStore/merge(indexAt:)``) and is recorded, so a merge that was killed is run again
/// as it was and resumes after the last input it finished.
public struct IndexMerge: Sendable {
    public var output: String
    public var inputs: [String]
    /// Wait for another writer of the output instead of failing with ``StoreError`` `.locked`.
    public var wait: Bool

    public init(output: String, inputs: [String], wait: Bool = false) {
        self.output = output
        self.inputs = inputs
        self.wait = wait
    }

    /// What became of one input.
    public enum Result: Sendable {
        case merged(MergeOutcome)
        /// Left out, with why (the message names the input).
        case failed(String)
    }

    /// What the merge tells as it goes, one input at a time.
    public struct Events: Sendable {
        public var input: @Sendable (_ path: String, _ result: Result) -> Void
        public var warning: @Sendable (String) -> Void

        public init(
            input: @escaping @Sendable (String, Result) -> Void = { _, _ in },
            warning: @escaping @Sendable (String) -> Void = { _ in }
        ) {
            self.input = input
            self.warning = warning
        }
    }

    /// Runs the merge.
    /// - Returns: what became of each input, in order.
    /// - Throws: ``StoreError`` when the output cannot be opened or written (what was merged before is kept),
    ///   or when no input can be merged (the output is then not created).
    public func run(events: Events = .init()) async throws -> [Result] {
        let outputPath = FileWalker.canonicalPath(output)
        var results = [Result?](repeating: nil, count: inputs.count)
        var recipes: [(index: Int, recipe: IndexRecipe)] = []
        var seen = Set<String>()
        for (i, input) in inputs.enumerated() {
            do {
                let real = FileWalker.canonicalPath(input) ?? input
                guard real != outputPath else {
                    throw StoreError(.cannotOpen, "\(input) is the output itself", path: input)
                }
                guard seen.insert(real).inserted else {
                    throw StoreError(.cannotOpen, "\(input) is given twice", path: input)
                }
                let reader = try IndexReader(path: input)
                guard let recipe = try reader.recipe() else {
                    throw StoreError(.notAnIndex, "\(input) is an empty index: nothing to merge", path: input)
                }
                if let first = recipes.first, first.recipe.settings != recipe.settings {
                    throw StoreError(
                        .mismatch,
                        "\(input) was built with another embedder or chunking than \(inputs[first.index]): shards must be "
                            + "built with one recipe (`embed stats --db` shows each one's); build it again with the same options",
                        path: input)
                }
                recipes.append((i, recipe))
            } catch {
                results[i] = .failed(Self.describe(error, path: input))
                events.input(input, results[i]!)
            }
        }
        guard let first = recipes.first else {
            throw StoreError(.cannotOpen, "no input could be merged into \(output); nothing was written", path: output)
        }

        let index = try await EmbeddingIndex.open(output, for: .writeOrCreate(wait: wait))
        defer { index.close() }
        let store = try await index.writableStore()
        if index.isNew || index.recipe == nil {
            try await store.prepare(first.recipe.settings, roots: [])
            try await store.recordEmbedder(first.recipe.openai)
        } else if let stored = index.recipe?.settings, stored != first.recipe.settings {
            throw StoreError(
                .mismatch,
                "\(output) was built with another embedder or chunking than \(inputs[first.index]): merge into a new "
                    + "index, or one built with the inputs' recipe (`embed stats --db` shows each one's)",
                path: output)
        }
        for (i, _) in recipes {
            let input = inputs[i]
            do {
                results[i] = .merged(try await store.merge(indexAt: input))
                Failpoint.reach("merge-input-committed")
            } catch let error as StoreError where [.diskFull, .readOnly, .busy, .locked].contains(error.code) {
                // The output's problem: stop, keeping what was merged.
                throw error
            } catch {
                results[i] = .failed(Self.describe(error, path: input))
            }
            events.input(input, results[i]!)
        }
        if let warning = try await store.refreshVectorFile() { events.warning(warning) }
        return results.map { $0! }
    }

    private static func describe(_ error: any Error, path: String) -> String {
        if let error = error as? StoreError { return error.namingPath(path) }
        return "\(path): \(error)"
    }
}
