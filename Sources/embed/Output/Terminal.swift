import ArgumentParser
import EmbedKit
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

    /// Prints `error:` and what `failure` says, and returns its exit code (``ExitStatus/of(_:)``) to throw; an
    /// `ExitCode` was reported where it was thrown and passes through.
    static func fail(_ failure: any Error) -> ExitCode {
        if let exit = failure as? ExitCode { return exit }
        let message = switch failure {
        case let usage as UsageError: usage.message
        case let usage as ValidationError: usage.message
        default: "\(failure)"
        }
        return fail(message, status: ExitStatus.of(failure))
    }
}

/// Standard output, buffered: results are written in large blocks, not one system call per line.
/// Safe to share: pipeline callbacks may add lines.
final class OutputBuffer: Sendable {
    private let buffer = Locked<[UInt8]>([])

    func line(_ text: String) {
        let full = buffer.withLock { buffer -> [UInt8]? in
            buffer.append(contentsOf: text.utf8)
            buffer.append(0x0A)
            guard buffer.count >= 1 << 16 else { return nil }
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        if let full { FileHandle.standardOutput.write(Data(full)) }
    }

    func flush() {
        let pending = buffer.withLock { buffer -> [UInt8] in
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer
        }
        if !pending.isEmpty { FileHandle.standardOutput.write(Data(pending)) }
    }

    deinit { flush() }
}
