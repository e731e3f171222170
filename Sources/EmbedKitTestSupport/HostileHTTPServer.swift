public import Foundation
import EmbedKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A raw HTTP/1.1 server on 127.0.0.1 that misbehaves in one chosen way, for tests of the client's defences.
///
/// Every connection reads one request (headers and a `Content-Length` body), records it, then acts out
/// ``Behaviour`` and closes. Thread per connection, POSIX sockets. Every loop ends when the peer goes away or
/// ``stop()`` is called, so a client that gives up frees the server's thread.
public final class HostileHTTPServer: Sendable {
    public enum Behaviour: Sendable {
        /// Read the request and never answer (the connection stays open until the client leaves).
        case silent
        /// Answer this status with this body (JSON), then close.
        case respond(status: Int, body: String)
        /// Answer this redirect status with this `Location`.
        case redirect(status: Int, location: String)
        /// Answer 200 with a chunked body that never ends, at about 128 MiB/s (a fast network). Unthrottled over
        /// loopback, libcurl can stay inside one call for tens of seconds, where no cancellation reaches it.
        case endlessChunked
        /// Answer 200 declaring a 1000-byte body and send one byte every interval.
        case drip(every: Duration)
        /// Answer 200 declaring this `Content-Length` and send zeros at about 128 MiB/s.
        case declaredLength(Int64)
        /// Answer 200 with `Content-Encoding: gzip` and a body of about `decompressedBytes / 1032` bytes that
        /// inflates to `decompressedBytes` zeros.
        case gzipBomb(decompressedBytes: Int)
    }

    /// One request as received.
    public struct RecordedRequest: Sendable {
        public var method: String
        public var path: String
        /// Header fields with lower-cased names.
        public var headers: [String: String]
    }

    private struct State {
        var requests: [RecordedRequest] = []
        var connections: Set<Int32> = []
        var stopping = false
    }

    public let behaviour: Behaviour
    public let port: Int
    private let listener: Int32
    private let gzipBody: [UInt8]
    private let state = Locked(State())
    private let threads = DispatchGroup()

    /// Binds an ephemeral port on 127.0.0.1 and starts accepting.
    public init(_ behaviour: Behaviour) throws {
        self.behaviour = behaviour
        if case .gzipBomb(let bytes) = behaviour {
            gzipBody = Self.gzipOfZeros(count: bytes)
        } else {
            gzipBody = []
        }
        (listener, port) = try LoopbackListener.open(port: 0, backlog: 64)
        threads.enter()
        Thread { [self] in
            acceptLoop()
            threads.leave()
        }.start()
    }

    /// `http://127.0.0.1:<port>/v1`.
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }

    /// Every request received so far.
    public var requests: [RecordedRequest] { state.withLock { $0.requests } }

    /// Stops accepting, closes every connection and waits (at most 5 s) for the threads.
    public func stop() {
        let connections = state.withLock { state -> Set<Int32> in
            state.stopping = true
            return state.connections
        }
        for fd in connections { shutdown(fd, Int32(SHUT_RDWR)) }
        _ = threads.wait(timeout: .now() + 5)
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func acceptLoop() {
        defer { close(listener) }
        while !isStopping {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let fd = LoopbackListener.accept(listener)
            guard fd >= 0 else { continue }
            let accepted = state.withLock { state -> Bool in
                guard !state.stopping else { return false }
                state.connections.insert(fd)
                return true
            }
            guard accepted else {
                close(fd)
                break
            }
            threads.enter()
            Thread { [self] in
                serve(fd)
                threads.leave()
            }.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            state.withLock { _ = $0.connections.remove(fd) }
            close(fd)
        }
        guard let request = readRequest(fd) else { return }
        state.withLock { $0.requests.append(request) }
        switch behaviour {
        case .silent:
            // Wait for the client to leave (recv returns 0) or the server to stop.
            var byte: UInt8 = 0
            while !isStopping {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, 50)
                if ready > 0 && recv(fd, &byte, 1, 0) <= 0 { return }
            }
        case .respond(let status, let body):
            _ = sendAll(
                fd, Self.head(status, ["Content-Type": "application/json", "Content-Length": "\(body.utf8.count)"])
                    + Array(body.utf8))
        case .redirect(let status, let location):
            let body = #"{"moved":true}"#
            _ = sendAll(
                fd,
                Self.head(
                    status,
                    ["Location": location, "Content-Type": "application/json", "Content-Length": "\(body.utf8.count)"])
                    + Array(body.utf8))
        case .endlessChunked:
            guard sendAll(fd, Self.head(200, ["Content-Type": "application/json", "Transfer-Encoding": "chunked"]))
            else { return }
            let payload = [UInt8](repeating: UInt8(ascii: " "), count: 65536)
            let chunk = Array("10000\r\n".utf8) + payload + Array("\r\n".utf8)
            var time = timespec(tv_sec: 0, tv_nsec: 500_000)
            while sendAll(fd, chunk) { nanosleep(&time, nil) }
        case .drip(let interval):
            guard sendAll(fd, Self.head(200, ["Content-Type": "application/json", "Content-Length": "1000"])) else {
                return
            }
            for _ in 0..<1000 {
                guard sleep(interval), sendAll(fd, [UInt8(ascii: " ")]) else { return }
            }
        case .declaredLength(let length):
            guard sendAll(fd, Self.head(200, ["Content-Type": "application/json", "Content-Length": "\(length)"]))
            else { return }
            let zeros = [UInt8](repeating: UInt8(ascii: "0"), count: 65536)
            var left = length
            var time = timespec(tv_sec: 0, tv_nsec: 500_000)  // about 128 MiB/s, as for endlessChunked
            while left > 0 {
                let piece = Int(min(Int64(zeros.count), left))
                guard sendAll(fd, Array(zeros[..<piece])) else { return }
                left -= Int64(piece)
                nanosleep(&time, nil)
            }
        case .gzipBomb:
            _ = sendAll(
                fd,
                Self.head(
                    200,
                    [
                        "Content-Type": "application/json", "Content-Encoding": "gzip",
                        "Content-Length": "\(gzipBody.count)",
                    ]) + gzipBody)
        }
    }

    /// Reads the request head and its `Content-Length` body; nil when the peer leaves or sends nonsense.
    private func readRequest(_ fd: Int32) -> RecordedRequest? {
        var buffer: [UInt8] = []
        var end: Int?
        while end == nil {
            guard buffer.count < 64 * 1024, receive(fd, into: &buffer) else { return nil }
            end = Self.find([13, 10, 13, 10], in: buffer)
        }
        guard let end, let head = String(bytes: buffer[..<end], encoding: .utf8) else { return nil }
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        if headers["expect"]?.lowercased() == "100-continue" {
            _ = sendAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        let length = min(Int(headers["content-length"] ?? "0") ?? 0, 64 << 20)
        while buffer.count - (end + 4) < length {
            guard receive(fd, into: &buffer) else { return nil }
        }
        return RecordedRequest(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers)
    }

    /// Appends what arrives to `buffer`; false when the peer closed or the server is stopping.
    private func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !isStopping {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 50)
            if ready < 0 && errno != EINTR { return false }
            guard ready > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            buffer.append(contentsOf: chunk[..<count])
            return true
        }
        return false
    }

    /// Sends all of `bytes`, waiting for room in slices; false when the peer is gone or the server stops.
    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            guard !isStopping else { return false }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, 50)
            if ready < 0 && errno != EINTR { return false }
            guard ready > 0 else { continue }
            if poller.revents & Int16(POLLERR | POLLHUP) != 0 { return false }
            let sent = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if sent < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    /// Sleeps in slices; false when the server stops meanwhile.
    private func sleep(_ duration: Duration) -> Bool {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            if isStopping { return false }
            var time = timespec(tv_sec: 0, tv_nsec: 10_000_000)
            nanosleep(&time, nil)
        }
        return !isStopping
    }

    private static func head(_ status: Int, _ headers: [String: String]) -> [UInt8] {
        var text = "HTTP/1.1 \(status) Status\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        text += "Connection: close\r\n\r\n"
        return Array(text.utf8)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    // MARK: - The gzip bomb

    /// A gzip member whose deflate stream is one dynamic-Huffman block: a literal zero, then back-references
    /// of length 258 at distance 1, each coded in 2 bits (symbol 285 and distance code 0 get 1-bit codes, both
    /// `0`), so about 1 KiB of zero bytes inflates to 1 MiB of zeros. The trailer's CRC is not computed (the
    /// client must give up long before it reaches it).
    static func gzipOfZeros(count: Int) -> [UInt8] {
        var bits = BitWriter()
        bits.write(1, 1)  // BFINAL
        bits.write(2, 2)  // BTYPE 10: dynamic Huffman
        bits.write(29, 5)  // HLIT: 286 literal/length codes (up to 285)
        bits.write(0, 5)  // HDIST: 1 distance code
        bits.write(14, 4)  // HCLEN: 18 code-length codes (up to symbol 1 in the order below)
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1]
        let codeLengthLengths = [18: 1, 1: 2, 2: 2]  // canonical codes: 18 -> 0, 1 -> 10, 2 -> 11
        for symbol in order { bits.write(codeLengthLengths[symbol] ?? 0, 3) }
        // Literal/length code lengths: 0 -> 2, 1...255 -> 0, 256 -> 2, 257...284 -> 0, 285 -> 1; distance 0 -> 1.
        bits.code(0b11, 2)
        bits.code(0, 1)
        bits.write(138 - 11, 7)
        bits.code(0, 1)
        bits.write(117 - 11, 7)
        bits.code(0b11, 2)
        bits.code(0, 1)
        bits.write(28 - 11, 7)
        bits.code(0b10, 2)
        bits.code(0b10, 2)
        // Canonical literal/length codes: 285 -> 0, 0 -> 10, 256 -> 11; distance 0 -> 0.
        bits.code(0b10, 2)  // literal 0
        bits.zeros(2 * max(0, (count - 1) / 258))  // (258, distance 1) repeated
        bits.code(0b11, 2)  // end of block
        let inflated = 1 + 258 * max(0, (count - 1) / 258)
        var gzip: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]
        gzip += bits.bytes
        gzip += [0, 0, 0, 0]  // CRC-32, not computed
        let size = UInt32(truncatingIfNeeded: inflated)
        gzip += (0..<4).map { UInt8(truncatingIfNeeded: size >> (8 * $0)) }
        return gzip
    }

    /// Packs bits least significant first, as deflate does.
    struct BitWriter {
        var bytes: [UInt8] = []
        var count = 0

        /// Writes the `width` low bits of `value`, least significant first (header fields, extra bits).
        mutating func write(_ value: Int, _ width: Int) {
            for i in 0..<width {
                if count % 8 == 0 { bytes.append(0) }
                bytes[bytes.count - 1] |= UInt8((value >> i) & 1) << UInt8(count % 8)
                count += 1
            }
        }

        /// Writes a Huffman code, most significant bit first.
        mutating func code(_ code: Int, _ width: Int) {
            for i in stride(from: width - 1, through: 0, by: -1) { write((code >> i) & 1, 1) }
        }

        mutating func zeros(_ n: Int) {
            count += n
            let needed = (count + 7) / 8
            if needed > bytes.count { bytes += [UInt8](repeating: 0, count: needed - bytes.count) }
        }
    }
}
