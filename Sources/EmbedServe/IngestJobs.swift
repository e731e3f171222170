public import EmbedKit
import EmbedServeAPI
import Foundation
public import ServiceLifecycle

/// The ingest and reindex jobs of `embed serve`: one writer per index at a time (a second gets 409 with the
/// running job's id), each job's events kept and streamed to whoever follows it, a job that outlives the
/// request that started it (a client that disconnects does not stop it), and cancellation after the batches
/// in flight.
///
/// A service of its own: the jobs run as child tasks of ``run()``, so shutting the server down stops them
/// the way SIGTERM stops `embed ingest`.
public final class IngestJobs: Service, Sendable {
    /// What a job is doing.
    public enum State: String, Sendable, Encodable {
        case running, succeeded, failed, cancelled
    }

    struct Record {
        var id: String
        var kind: String
        var db: String
        var state: State = .running
        /// Every event so far, one JSON line each.
        var events: [String] = []
        var followers: [AsyncStream<String>.Continuation] = []
        var cancelled = false
        var finished: ContinuousClock.Instant?
        var lastWasProgress = false

        /// Keeps an event for `GET /v1/jobs/{id}`, in bounded memory however long the job runs: a progress
        /// event replaces the one before it when nothing came between, and beyond ``maxKeptEvents`` the oldest
        /// events after the first are dropped (followers of the stream still get every one).
        mutating func keep(_ line: String, isProgress: Bool) {
            if isProgress, lastWasProgress {
                events[events.count - 1] = line
            } else {
                events.append(line)
            }
            lastWasProgress = isProgress
            if events.count > IngestJobs.maxKeptEvents { events.remove(at: 1) }
        }
    }

    /// The most events kept per job, and the most finished jobs remembered.
    static let maxKeptEvents = 1000
    static let maxFinishedJobs = 100

    /// Forgets the longest-finished jobs beyond ``maxFinishedJobs``.
    private static func forgetOldJobs(_ records: inout [String: Record]) {
        let finished = records.values.filter { $0.finished != nil }.sorted { $0.finished! < $1.finished! }
        for record in finished.dropLast(maxFinishedJobs) { records[record.id] = nil }
    }

    struct Submission: Sendable {
        var id: String
        var job: IngestJob
    }

    private let records = Locked<[String: Record]>([:])
    /// Set when the server shuts down: no job starts after it.
    private let stopping = Locked(false)
    private let submissions: AsyncStream<Submission>
    private let submit: AsyncStream<Submission>.Continuation
    /// Builds the document embedder of a job from its resolved recipe (the server's own model, batched).
    private let makeEmbedder: @Sendable (ResolvedEmbedder) async throws -> any Embedder

    public init(makeEmbedder: @escaping @Sendable (ResolvedEmbedder) async throws -> any Embedder) {
        self.makeEmbedder = makeEmbedder
        (submissions, submit) = AsyncStream.makeStream(of: Submission.self)
    }

    /// Starts `job`, named `kind` (ingest, reindex).
    /// - Returns: the job's id and a stream of its events from the first, ending with its last.
    /// - Throws: ``ServeError`` 409 when a job is running on the same index, 503 when the server is stopping.
    public func start(_ job: IngestJob, kind: String) throws -> (id: String, events: AsyncStream<String>) {
        let id = UUID().uuidString.lowercased()
        // A follower that stops reading keeps only the newest events (the last always among them), not all.
        let (events, follower) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1024))
        try records.withLock { records in
            if stopping.withLock({ $0 }) { throw ServeError.shuttingDown }
            if let running = records.values.first(where: { $0.db == job.db && $0.state == .running }) {
                throw ServeError(
                    status: 409, type: "conflict_error",
                    "job \(running.id) (\(running.kind)) is writing \(job.db); follow it at /v1/jobs/\(running.id)")
            }
            records[id] = Record(id: id, kind: kind, db: job.db, followers: [follower])
        }
        submit.yield(Submission(id: id, job: job))
        return (id, events)
    }

    /// A job's state and events, or nil when there is no such job.
    public func status(_ id: String) -> (kind: String, db: String, state: State, events: [String])? {
        records.withLock { $0[id].map { ($0.kind, $0.db, $0.state, $0.events) } }
    }

    /// Asks a running job to stop after the batches in flight.
    /// - Returns: the job's state when asked (only a running one is stopped), or nil when there is no such job.
    public func cancel(_ id: String) -> State? {
        records.withLock { records in
            guard let state = records[id]?.state else { return nil }
            if state == .running { records[id]?.cancelled = true }
            return state
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await submission in submissions {
                    group.addTask { await self.execute(submission) }
                }
            }
        } onGracefulShutdown: {
            self.stopping.withLock { $0 = true }
            self.submit.finish()
            self.records.withLock { records in
                for id in records.keys where records[id]?.state == .running { records[id]?.cancelled = true }
            }
        }
    }

    private func execute(_ submission: Submission) async {
        let id = submission.id
        let lastProgress = Locked(ContinuousClock.now - .seconds(1))
        let events = IngestJob.Events(
            warning: { [self] in emit(id, JobEvent(event: "warning", message: $0)) },
            pipeline: IngestPipeline.Observer(
                diagnostic: { [self] diagnostic in
                    emit(id, JobEvent(
                        event: "diagnostic", message: diagnostic.message, path: diagnostic.path,
                        severity: diagnostic.severity.rawValue))
                },
                progress: { [self] progress in
                    // At most four progress events a second: a fast tree would otherwise flood the stream.
                    let now = ContinuousClock.now
                    let due = lastProgress.withLock { last in
                        guard now - last >= .milliseconds(250) else { return false }
                        last = now
                        return true
                    }
                    if due { emit(id, JobEvent(progress: progress)) }
                },
                shouldStop: { [self] in records.withLock { $0[id]?.cancelled ?? true } }))
        var final: JobEvent
        var state: State
        do {
            let report = try await submission.job.run(events: events, makeEmbedder: makeEmbedder)
            final = JobEvent(report: report)
            state = report.interrupted ? .cancelled : .succeeded
        } catch {
            final = JobEvent(event: "failed", message: "\(error)")
            state = .failed
        }
        emit(id, final, state: state)
    }

    /// Records an event and sends it to the job's followers; with `state`, the job's last.
    private func emit(_ id: String, _ event: JobEvent, state: State? = nil) {
        let line = JSONLines.encode(event)
        let followers = records.withLock { records -> [AsyncStream<String>.Continuation] in
            records[id]?.keep(line, isProgress: event.event == "progress")
            if let state {
                records[id]?.state = state
                records[id]?.finished = ContinuousClock.now
                Self.forgetOldJobs(&records)
            }
            return records[id]?.followers ?? []
        }
        for follower in followers {
            follower.yield(line)
            if state != nil { follower.finish() }
        }
    }
}

/// One line of a job's stream.
struct JobEvent: Encodable {
    var event: String
    var message: String?
    var path: String?
    var severity: String?
    var files_found: Int?
    var files_done: Int?
    var chunks_embedded: Int?
    var chunks_per_second: Double?
    var eta_seconds: Double?
    var report: ReportFields?

    init(event: String, message: String? = nil, path: String? = nil, severity: String? = nil) {
        self.event = event
        self.message = message
        self.path = path
        self.severity = severity
    }

    init(progress: IngestProgress) {
        event = "progress"
        files_found = progress.filesFound
        files_done = progress.filesDone
        chunks_embedded = progress.chunksEmbedded
        chunks_per_second = progress.elapsedSeconds > 0
            ? (Double(progress.chunksEmbedded) / progress.elapsedSeconds * 10).rounded() / 10 : nil
        eta_seconds = progress.estimatedSecondsLeft.map { $0.rounded() }
    }

    init(report: IngestReport) {
        event = report.interrupted ? "cancelled" : "done"
        self.report = ReportFields(report)
    }

    struct ReportFields: Encodable {
        var added, updated, unchanged, removed, failed, skipped, chunks, chunks_embedded, cache_hits: Int
        var seconds: Double

        init(_ r: IngestReport) {
            (added, updated, unchanged, removed, failed, skipped) = (r.added, r.updated, r.unchanged, r.removed, r.failed, r.skipped)
            (chunks, chunks_embedded, cache_hits) = (r.chunks, r.chunksEmbedded, r.cacheHits)
            seconds = (r.seconds * 1000).rounded() / 1000
        }
    }
}
