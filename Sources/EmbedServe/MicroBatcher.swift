public import EmbedKit
import EmbedServeAPI
import Foundation
public import ServiceLifecycle

/// Gathers the texts of concurrent callers into batches for one embedder: texts that arrive while the model is
/// busy, or within ``Configuration/window`` of an idle model while other requests are in flight, go through it
/// in one call, up to ``Configuration/maxBatch`` texts, and each caller gets exactly its own vectors back.
///
/// A service of its own (``run()``): one batch is in the model at a time, and the model itself uses every core
/// on it. The queue is bounded: beyond ``Configuration/maxQueuedTexts`` a caller is refused at once
/// (``ServeError/overloaded``), never queued without limit.
public final class MicroBatcher: Service, Sendable {
    public struct Configuration: Sendable {
        /// How long an idle model waits for more texts before it starts on what it has (a busy model gathers
        /// what arrives meanwhile into its next batch anyway). Default 5 ms.
        public var window: Duration
        /// Wait the window even when the service says no other request is in flight. Default false: a lone
        /// caller would only wait for nobody. True keeps the window unconditional (an operator's explicit one).
        public var waitsAlone: Bool
        /// The most texts in one call of the embedder (a caller with more is a batch of its own).
        public var maxBatch: Int
        /// The most texts waiting; more are refused.
        public var maxQueuedTexts: Int

        public init(window: Duration = .milliseconds(5), waitsAlone: Bool = false, maxBatch: Int = 64, maxQueuedTexts: Int = 8192) {
            self.window = window
            self.waitsAlone = waitsAlone
            self.maxBatch = maxBatch
            self.maxQueuedTexts = maxQueuedTexts
        }
    }

    /// What the batcher has done, for `/metrics`.
    public struct Statistics: Sendable, Equatable {
        public var batches = 0
        public var texts = 0
        public var refused = 0
        public var queuedTexts = 0
        /// Times an idle model waited the window for more texts.
        public var windowsWaited = 0
    }

    struct Job: Sendable {
        var texts: [String]
        var reply: CheckedContinuation<[[Float]], any Error>
    }

    public let embedder: any Embedder
    public let configuration: Configuration
    /// Told the size of every batch the model ran (for metrics).
    private let onBatch: @Sendable (Int) -> Void
    /// Whether other requests are in flight in the service, so that more texts may come soon.
    private let othersInFlight: @Sendable () -> Bool
    private let queue = Locked<(jobs: [Job], statistics: Statistics)>(([], Statistics()))
    private let signal: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// - Parameter othersInFlight: whether the service has other requests in flight; without them an idle model
    ///   starts at once (unless ``Configuration/waitsAlone``).
    public init(
        embedder: any Embedder, configuration: Configuration = .init(), onBatch: @escaping @Sendable (Int) -> Void = { _ in },
        othersInFlight: @escaping @Sendable () -> Bool = { true }
    ) {
        self.embedder = embedder
        self.configuration = configuration
        self.onBatch = onBatch
        self.othersInFlight = othersInFlight
        (signal, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var statistics: Statistics { queue.withLock { $0.statistics } }

    /// Embeds `texts` in a batch with whatever else is waiting.
    /// - Throws: ``ServeError`` `.overloaded` when the queue is full; the embedder's error when its batch fails.
    public func embed(_ texts: [String]) async throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { reply in
            let accepted = queue.withLock { state -> Bool in
                guard state.statistics.queuedTexts + texts.count <= configuration.maxQueuedTexts else {
                    state.statistics.refused += 1
                    return false
                }
                state.jobs.append(Job(texts: texts, reply: reply))
                state.statistics.queuedTexts += texts.count
                return true
            }
            if accepted {
                wake.yield()
            } else {
                reply.resume(throwing: ServeError.overloaded(queued: configuration.maxQueuedTexts))
            }
        }
    }

    /// Runs batches until the service group shuts down; what is still queued then is refused.
    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in signal {
                while let batch = await nextBatch() { await process(batch) }
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        for job in queue.withLock({ state -> [Job] in
            defer { state.jobs = [] }
            return state.jobs
        }) {
            job.reply.resume(throwing: ServeError.shuttingDown)
        }
    }

    /// The next batch: the jobs waiting, up to the batch limit; when they are fewer, what else arrives within the
    /// window. Nil when nothing waits.
    private func nextBatch() async -> [Job]? {
        var batch = take(upTo: configuration.maxBatch, atLeastOne: true)
        guard !batch.isEmpty else { return nil }
        var count = batch.reduce(0) { $0 + $1.texts.count }
        if count < configuration.maxBatch && configuration.window > .zero
            && (configuration.waitsAlone || othersInFlight())
        {
            queue.withLock { $0.statistics.windowsWaited += 1 }
            try? await Task.sleep(for: configuration.window)
            let more = take(upTo: configuration.maxBatch - count)
            count += more.reduce(0) { $0 + $1.texts.count }
            batch += more
        }
        return batch
    }

    /// Takes waiting jobs, in order, while they fit in `room` texts; with `atLeastOne`, the first job even when it
    /// is larger (a caller with more texts than a batch holds is a batch of its own).
    private func take(upTo room: Int, atLeastOne: Bool = false) -> [Job] {
        queue.withLock { state in
            var taken: [Job] = []
            var count = 0
            while let job = state.jobs.first {
                let fits = count + job.texts.count <= room || (atLeastOne && taken.isEmpty)
                guard fits else { break }
                taken.append(state.jobs.removeFirst())
                count += job.texts.count
            }
            state.statistics.queuedTexts -= count
            return taken
        }
    }

    private func process(_ batch: [Job]) async {
        let texts = batch.flatMap(\.texts)
        do {
            let vectors = try await embedder.embed(texts)
            try EmbeddingError.validate(
                vectors, count: texts.count, dimension: embedder.identity.dimension, source: "the embedder")
            queue.withLock {
                $0.statistics.batches += 1
                $0.statistics.texts += texts.count
            }
            onBatch(texts.count)
            var start = 0
            for job in batch {
                job.reply.resume(returning: Array(vectors[start..<(start + job.texts.count)]))
                start += job.texts.count
            }
        } catch let error as EmbeddingError where batch.count > 1 && Self.isAboutInput(error) {
            // The embedder refused something in the batch: one caller's texts, most likely. Each caller's texts go
            // alone, so only the callers whose texts fail get the error, not every caller merged with them; all at
            // once, since the embedder bounds its own concurrency.
            await withTaskGroup(of: Void.self) { group in
                for job in batch { group.addTask { await self.process([job]) } }
            }
        } catch {
            for job in batch { job.reply.resume(throwing: error) }
        }
    }

    /// True for an error that some input may cause and other inputs not (a refused or too long input, a
    /// broken answer to it); false for one that would fail any batch (an unreachable service, a missing model),
    /// which is not tried again caller by caller: against a service that times out, that would multiply the wait.
    static func isAboutInput(_ error: EmbeddingError) -> Bool {
        !error.stopsRun && [.rejected, .inputTooLong, .badResponse].contains(error.code)
    }
}

/// An embedder whose calls go through a ``MicroBatcher``: what search embeds its queries with.
public struct BatchedEmbedder: Embedder {
    public let batcher: MicroBatcher
    /// When the queue is full, wait for room instead of failing with 429: for ingest jobs, whose documents
    /// would otherwise fail because a crowd of requests filled the queue.
    public let waitsForRoom: Bool

    public init(_ batcher: MicroBatcher, waitsForRoom: Bool = false) {
        self.batcher = batcher
        self.waitsForRoom = waitsForRoom
    }

    public var identity: EmbedderIdentity { batcher.embedder.identity }
    public var maxBatchSize: Int { batcher.configuration.maxBatch }
    public var tokenCounter: any TokenCounter { batcher.embedder.tokenCounter }
    public var maxInputTokens: Int? { batcher.embedder.maxInputTokens }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        while true {
            do {
                return try await batcher.embed(texts)
            } catch let error as ServeError where waitsForRoom && error.status == 429 {
                try await Task.sleep(for: .milliseconds(50))  // cancellable: a stopped job does not wait on
            }
        }
    }
}
