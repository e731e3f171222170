import CEmbedFuzzer
import EmbedFuzzChecks
import Foundation

/// The libFuzzer driver: one binary for every target, `--target=NAME` picks it (libFuzzer leaves flags that
/// start with `--` to the program). Run it through scripts/fuzz.sh; to replay an input:
/// `.build-fuzz/debug/embed-fuzz --target=html FILE`.
///
/// It has a main of its own that calls `LLVMFuzzerRunDriver`, rather than letting libFuzzer supply `main`:
/// SwiftPM links every executable's entry point under a name of its own.
@main
enum EmbedFuzz {
    /// The target and its checks, set before libFuzzer runs the first input and never changed after.
    nonisolated(unsafe) static var session: (target: FuzzTarget, checks: FuzzChecks)?

    static func main() {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        guard let argument = CommandLine.arguments.first(where: { $0.hasPrefix("--target=") }),
            let target = FuzzTarget(rawValue: String(argument.dropFirst("--target=".count)))
        else {
            usage("give --target=NAME, one of: \(names); then libFuzzer's flags and corpus folders")
        }
        do {
            session = (target, try FuzzChecks(targets: [target]))
        } catch {
            usage("\(error)")
        }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
    }

    /// Checks one input; a broken property aborts, which makes libFuzzer save the input as a crash.
    static func run(_ bytes: [UInt8]) -> CInt {
        guard let session else { fail("embed-fuzz: no --target") }
        do {
            try session.checks.check(session.target, bytes)
        } catch {
            fail("embed-fuzz: \(session.target.rawValue): \(error)")
        }
        return 0
    }

    static func usage(_ message: String) -> Never {
        FileHandle.standardError.write(Data(("embed-fuzz: " + message + "\n").utf8))
        exit(2)
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        abort()
    }
}

/// The callback libFuzzer runs on each input. `-sanitize=fuzzer` also links libFuzzer's own `main`, which names
/// this symbol, though the program starts at ours.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    EmbedFuzz.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
}
