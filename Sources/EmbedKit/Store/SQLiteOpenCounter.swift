/// Counts the SQLite connections this process opened, by path: each command opens each index once, and the
/// tests (and `EMBED_COUNT_OPENS=1 embed ...`) check it.
public enum SQLiteOpenCounter {
    private static let counts = Locked<[String: Int]>([:])

    static func record(_ path: String) {
        counts.withLock { $0[path, default: 0] += 1 }
    }

    /// How many connections were opened to `path` (as the path was given to SQLite).
    public static func count(of path: String) -> Int {
        counts.withLock { $0[path] ?? 0 }
    }

    /// Every path opened and how many times.
    public static var all: [String: Int] {
        counts.withLock { $0 }
    }
}
