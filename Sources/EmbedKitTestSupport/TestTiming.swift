import Foundation

/// Time bounds for tests that check that something ends "soon" rather than hangs.
///
/// Under a sanitizer (`scripts/sanitizers.sh` sets `EMBED_SANITIZER`) everything runs several times slower, and
/// the suite's blocking end-to-end tests can hold every thread of the test process's pool for a long time; the
/// bounds there stretch so that they still tell "ends" from "hangs" without failing on a slow machine.
public enum TestTiming {
    /// The sanitizer the suite runs under, if any.
    public static let sanitizer = ProcessInfo.processInfo.environment["EMBED_SANITIZER"]

    /// How much slower the suite runs: 2.5 under AddressSanitizer, 4 under ThreadSanitizer (measured: tests
    /// that take 60 s at worst on a loaded machine took up to 173 s under ThreadSanitizer).
    static let stretch: Double = sanitizer == nil ? 1 : sanitizer == "thread" ? 4 : 2.5

    /// `seconds`, stretched under a sanitizer.
    public static func bound(_ seconds: Double) -> Double { seconds * stretch }

    public static func bound(_ duration: Duration) -> Duration { duration * stretch }

    /// How many rounds of a repeated stress test fit in the time `count` rounds take without a sanitizer.
    public static func rounds(_ count: Int) -> Int { max(1, Int((Double(count) / stretch).rounded())) }
}
