import ArgumentParser
import Foundation

/// Writes to standard error, which carries everything that is not a result.
enum Terminal {
    static let stderrIsTTY = isatty(STDERR_FILENO) == 1

    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Prints `error: message` and returns the exit code to throw.
    static func fail(_ message: String, status: Int32 = ExitStatus.fatal) -> ExitCode {
        error("error: \(message)")
        return ExitCode(status)
    }
}

/// Standard output, buffered: results are written in large blocks, not one system call per line.
final class OutputBuffer {
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    func line(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}
