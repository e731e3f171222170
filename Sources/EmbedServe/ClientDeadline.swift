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
    // Requests whose head was read, and responses begun and ended. A 408 is only written when every earlier
    // request has its whole answer and the late one has none begun: otherwise it would land inside another
    // response (a pipelining client's next request arrives while the previous answer still streams).
    private var requestsRead = 0
    private var responsesBegun = 0
    private var responsesEnded = 0

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestsRead += 1
            deadline?.cancel()
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
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational: responsesBegun += 1
        case .end: responsesEnded += 1
        default: break
        }
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
        guard responsesBegun == responsesEnded, responsesEnded == requestsRead - 1 else {
            context.close(promise: nil)
            return
        }
        let seconds = timeout.nanoseconds / 1_000_000_000
        let body = ByteBuffer(
            string: #"{"error":{"code":null,"message":"the request did not arrive whole within \#(seconds) s","param":null,"type":"invalid_request_error"}}"#)
        var head = HTTPResponse(status: .requestTimeout)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(body.readableBytes)
        head.headerFields[.connection] = "close"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        // Closed once the answer is out, so that it is not dropped with the connection.
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }
}
