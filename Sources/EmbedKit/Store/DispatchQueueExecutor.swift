import Dispatch

/// A serial executor that runs an actor's jobs on a private dispatch queue.
///
/// Actors using it keep blocking work (SQLite calls) off Swift's cooperative thread pool, whose few threads
/// must stay free for parsing and embedding. (Linux's Dispatch has no `DispatchSerialQueue` executor.)
final class DispatchQueueExecutor: SerialExecutor {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }
}
