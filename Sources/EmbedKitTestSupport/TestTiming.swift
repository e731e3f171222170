import Foundation

/// Time bounds for tests that check that something ends "soon" rather than hangs.
///
/// Under a sanitizer (`scripts/sanitizers.sh` sets `EMBED_SANITIZER`) everything runs several times slower, and
/// the suite's blocking end-to-end tests can hold every thread of the test process's pool for a long time; the
/// bounds there stretch so that they still tell "ends" from "hangs" without failing on a slow machine.
public enum TestTiming {
    /// The sanitizer the suite runs under, if any.
    public static let sanitizer = ProcessInfo.processInfo.environment["EMBED_SANITIZER"]

    /// `seconds`, stretched 2.5 times under a sanitizer.
    public static func bound(_ seconds: Double) -> Double {
        sanitizer == nil ? seconds : seconds * 2.5
    }

    public static func bound(_ duration: Duration) -> Duration {
        sanitizer == nil ? duration : duration * 2.5
    }
}
