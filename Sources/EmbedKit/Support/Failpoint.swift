import Foundation

/// Named points where a test can stop the process, to kill it exactly there with SIGKILL.
///
/// `EMBED_FAILPOINT=<name>` (or `<name>:<n>`, the n-th time it is reached) makes the process create the file
/// named by `EMBED_FAILPOINT_READY` and sleep for a minute when it reaches that point; without the variable,
/// reaching a point costs one comparison. Used by the kill-anywhere tests of the vector file.
enum Failpoint {
    private static let wanted: (name: String, count: Int)? = {
        guard let value = ProcessInfo.processInfo.environment["EMBED_FAILPOINT"], !value.isEmpty else { return nil }
        let parts = value.split(separator: ":", maxSplits: 1)
        return (String(parts[0]), parts.count > 1 ? Int(parts[1]) ?? 1 : 1)
    }()
    private static let reached = Locked(0)

    static func reach(_ name: String) {
        guard let wanted, wanted.name == name else { return }
        let count = reached.withLock { count -> Int in
            count += 1
            return count
        }
        guard count == wanted.count else { return }
        if let ready = ProcessInfo.processInfo.environment["EMBED_FAILPOINT_READY"] {
            _ = FileManager.default.createFile(atPath: ready, contents: Data(name.utf8))
        }
        Thread.sleep(forTimeInterval: 60)
    }
}
