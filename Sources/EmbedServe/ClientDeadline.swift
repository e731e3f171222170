import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Gives every request a deadline for arriving whole: from its head to its last body byte, at most `timeout`.
///
/// Hummingbird's idle timeout counts from the last HTTP part, so a client that trickles a body a byte at a
/// time (slowloris) would hold its connection, and a request handler waiting for the body, forever. When the
/// deadline passes, the client gets 408 with OpenAI's error body and the connection is closed. A head that
/// trickles in never becomes a part at all, so the idle timeout (the same length) closes that connection.
final class ClientDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// Whether the response to the request being read has begun: then a 408 would corrupt it, so only close.
    private var responding = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            responding = false
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: timeout) {
                let (handler, context) = loopBound.value
                handler.expire(context: context)
            }
        case .body:
            break
        case .end:
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) { responding = true }
        context.write(data, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    private func expire(context: ChannelHandlerContext) {
        deadline = nil
        guard context.channel.isActive else { return }
        if !responding {
            let seconds = timeout.nanoseconds / 1_000_000_000
            let body = ByteBuffer(
                string: #"{"error":{"message":"the request did not arrive whole within \#(seconds) s","type":"invalid_request_error"}}"#)
            var head = HTTPResponse(status: .requestTimeout)
            head.headerFields[.contentType] = "application/json"
            head.headerFields[.contentLength] = String(body.readableBytes)
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(body)), promise: nil)
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            context.flush()
        }
        context.close(promise: nil)
    }
}
