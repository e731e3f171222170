internal import Foundation

/// A value guarded by a lock: the state that threads and tasks share outside actors.
///
/// It is built on a pthread mutex (Foundation's `NSLock`), not on `Synchronization.Mutex`. On Linux, `Mutex`
/// hands a contended lock to its waiter inside the kernel (a priority-inheritance futex), where ThreadSanitizer
/// cannot see the hand-over, so every contended critical section was reported as a data race and the suite
/// could not run clean under `--sanitize=thread`. ThreadSanitizer intercepts pthread mutexes.
package final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    package init(_ value: sending Value) {
        self.value = value
    }

    /// Runs `body` with the value while holding the lock.
    package func withLock<Result, Failure: Error>(
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
