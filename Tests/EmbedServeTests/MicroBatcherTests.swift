import EmbedKit
import EmbedKitTestSupport
import EmbedServe
import EmbedServeAPI
import Foundation
import ServiceLifecycle
import Testing

@Suite("MicroBatcher")
struct MicroBatcherTests {
    /// Runs `body` with `batcher` running, then stops it.
    static func running<T: Sendable>(_ batcher: MicroBatcher, _ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await batcher.run()
                return nil
            }
            let result = try await body()
            group.cancelAll()
            return result
        }
    }

    @Test("200 concurrent callers each get exactly their own vectors, in far fewer model calls")
    func ownVectors() async throws {
        let model = CountingEmbedder(dimension: 16, delay: .milliseconds(20))
        let batcher = MicroBatcher(embedder: model, configuration: .init(window: .milliseconds(5), maxBatch: 32))
        let reference = HashEmbedder(dimension: 16)
        try await Self.running(batcher) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<200 {
                    group.addTask {
                        // Callers send one to three texts, each their own.
                        let texts = (0...(caller % 3)).map { "caller \(caller) text \($0) \(String(repeating: "x", count: caller % 7))" }
                        let vectors = try await batcher.embed(texts)
                        #expect(vectors == (try await reference.embed(texts)), "caller \(caller) got another's vectors")
                    }
                }
                try await group.waitForAll()
            }
        }
        let statistics = batcher.statistics
        #expect(statistics.texts == (0..<200).reduce(0) { $0 + $1 % 3 + 1 })
        #expect(model.snapshot.calls == statistics.batches)
        #expect(statistics.batches < 60, "\(statistics.batches) model calls for 200 callers: no batching")
        #expect(model.snapshot.maxInFlight == 1, "one batch in the model at a time")
    }

    @Test("an idle model waits the window only while other requests are in flight, or always when told to")
    func windowOnlyWithCompany() async throws {
        for (others, waitsAlone, expected) in [(false, false, 0), (true, false, 3), (false, true, 3)] {
            let model = CountingEmbedder(dimension: 16)
            let batcher = MicroBatcher(
                embedder: model, configuration: .init(window: .milliseconds(1), waitsAlone: waitsAlone),
                othersInFlight: { others })
            try await Self.running(batcher) {
                for caller in 0..<3 { _ = try await batcher.embed(["caller \(caller)"]) }
            }
            #expect(batcher.statistics.batches == 3)
            #expect(batcher.statistics.windowsWaited == expected, "others in flight: \(others), waits alone: \(waitsAlone)")
        }
    }

    @Test("the queue is bounded: callers beyond it are refused at once with 429, the rest served")
    func bounded() async throws {
        let model = CountingEmbedder(dimension: 8, delay: .milliseconds(200))
        let batcher = MicroBatcher(embedder: model, configuration: .init(window: .zero, maxBatch: 4, maxQueuedTexts: 8))
        let outcomes = try await Self.running(batcher) {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for caller in 0..<40 {
                    group.addTask {
                        do {
                            _ = try await batcher.embed(["text \(caller)"])
                            return true
                        } catch let error as ServeError {
                            #expect(error.status == 429 && error.retryAfter != nil)
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
        }
        #expect(outcomes.contains(true) && outcomes.contains(false), "\(outcomes)")
        #expect(batcher.statistics.refused == outcomes.filter { !$0 }.count)
        #expect(batcher.statistics.queuedTexts == 0)
    }

    @Test("an ingest job's embedder waits for room in a full queue instead of failing its documents")
    func jobsWaitForRoom() async throws {
        let model = CountingEmbedder(dimension: 8, delay: .milliseconds(100))
        let batcher = MicroBatcher(embedder: model, configuration: .init(window: .zero, maxBatch: 4, maxQueuedTexts: 8))
        let job = BatchedEmbedder(batcher, waitsForRoom: true)
        let (served, refused) = try await Self.running(batcher) {
            try await withThrowingTaskGroup(of: (Bool, Bool).self) { group in
                // A crowd of plain callers keeps the queue full; the job's ten calls run among them.
                for caller in 0..<40 {
                    group.addTask {
                        let isJob = caller % 4 == 0
                        do {
                            let embedder: any Embedder = isJob ? job : BatchedEmbedder(batcher)
                            let vectors = try await embedder.embed(["text \(caller)"])
                            #expect(vectors.count == 1)
                            return (isJob, true)
                        } catch let error as ServeError where error.status == 429 {
                            return (isJob, false)
                        }
                    }
                }
                var served = 0
                var refused = 0
                for try await (isJob, ok) in group where isJob { if ok { served += 1 } else { refused += 1 } }
                return (served, refused)
            }
        }
        #expect(served == 10 && refused == 0, "the job's calls: \(served) served, \(refused) refused")
        #expect(batcher.statistics.refused > 0, "the queue was never full: the test proves nothing")
    }

    @Test("a batch refused for one caller's input fails only that caller; a service failure fails all, at once")
    func failureIsolated() async throws {
        for (code, isolated) in [(EmbeddingError.Code.rejected, true), (.inputTooLong, true), (.transport, false)] {
            let model = CountingEmbedder(dimension: 8, failMarker: "FAIL", failCode: code)
            // A long window that is always waited puts the three callers in one batch.
            let batcher = MicroBatcher(
                embedder: model, configuration: .init(window: .milliseconds(300), waitsAlone: true, maxBatch: 8))
            let outcomes = try await Self.running(batcher) {
                await withTaskGroup(of: (String, Bool).self) { group in
                    for text in ["fine one", "FAIL here", "fine two"] {
                        group.addTask {
                            do {
                                let vectors = try await batcher.embed([text])
                                #expect(vectors == (try await HashEmbedder(dimension: 8).embed([text])))
                                return (text, true)
                            } catch {
                                return (text, false)
                            }
                        }
                    }
                    var outcomes: [String: Bool] = [:]
                    for await (text, served) in group { outcomes[text] = served }
                    return outcomes
                }
            }
            #expect(outcomes == ["fine one": isolated, "FAIL here": false, "fine two": isolated], "\(code)")
            // One merged call; when isolated, then one call per caller.
            #expect(model.snapshot.calls == (isolated ? 4 : 1), "\(code)")
        }
    }

    @Test("a failing batch fails its callers, and the next batch is served")
    func failure() async throws {
        let model = CountingEmbedder(dimension: 8, failMarker: "FAIL")
        let batcher = MicroBatcher(embedder: model, configuration: .init(window: .zero, maxBatch: 1))
        try await Self.running(batcher) {
            await #expect(throws: (any Error).self) { try await batcher.embed(["FAIL here"]) }
            let served = try await batcher.embed(["fine"])
            #expect(served.count == 1)
        }
    }
}
