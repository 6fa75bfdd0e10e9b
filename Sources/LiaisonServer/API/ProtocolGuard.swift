import HTTPTypes
import LiaisonCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Guards each HTTP/1 connection below the router, where hummingbird would answer a bare 400 or nothing:
///
/// - a request the parser cannot read before its head (an unknown method, headers over the limit,
///   `Content-Length` with `Transfer-Encoding`) is answered in problem+json (400 `malformed-request`, 431
///   `headers-too-large`, 501 `method-not-implemented`) once the requests before it are answered, and the
///   connection closed;
/// - a body the parser cannot read (bad chunking), or one cut short by the client, reaches the route as
///   `RequestBodyInterrupted`, which answers 400 and is logged at info, never as a store failure;
/// - `CONNECT` (after which the parser reads nothing more) is answered 405 and the connection closed, as is
///   every connection after an `Upgrade` request, so that no connection is left stuck;
/// - a request whose head and body have not arrived `requestTimeout` after its first byte is answered 408 and
///   the connection closed, however steadily the bytes trickle in.
///
/// It sits after the HTTP decoder, so it sees requests and responses as parts; `RequestBytesWatcher`, in front
/// of the decoder, tells it when a request's first bytes arrive (`RequestBytesArrived`).
final class ProtocolGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let requestTimeout: TimeAmount
    private let logger: Logger
    /// Requests whose head has arrived and whose answer has not ended.
    private var unanswered = 0
    /// Between a request's head and its end.
    private var readingBody = false
    /// Between an answer's head and its end.
    private var answering = false
    /// When the request whose bytes are arriving must be whole.
    private var deadline: Scheduled<Void>?
    /// The connection closes once every request is answered.
    private var closing = false
    /// A problem to answer once the requests before it are answered; then the connection closes.
    private var pendingProblem: (Refusal, [HTTPField])?
    /// The parser has failed: it reads nothing more, and what it says after is an echo of that.
    private var parserFailed = false
    /// This handler has answered the last request itself and is closing: a route's late answer is dropped.
    private var finished = false
    /// Its own answer goes out as bytes in front of the encoder (to a CONNECT).
    private var writesRaw = false

    init(requestTimeout: TimeAmount, logger: Logger) {
        self.requestTimeout = requestTimeout
        self.logger = logger
    }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            armDeadline(context: context)
            if head.method == .connect {
                // The parser stops at a CONNECT: nothing after it would ever be read.
                parserFailed = true
                writesRaw = true
                refuse(
                    Refusal(.methodNotAllowed, "CONNECT is not supported: Liaison is not a proxy"), headers: Self.allowAny,
                    context: context, reason: "CONNECT")
                return
            }
            unanswered += 1
            readingBody = true
            // After a request with `Upgrade`, the parser reads nothing more: answer it, then close.
            if head.headerFields[.upgrade] != nil { closing = true }
        case .body:
            break
        case .end:
            readingBody = false
            disarmDeadline()
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is RequestBytesArrived {
            armDeadline(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if readingBody {
            // The route reading this body hears why it broke off, and answers 400; the connection closes after.
            readingBody = false
            disarmDeadline()
            closing = true
            context.fireErrorCaught(RequestBodyInterrupted(cause: error))
            return
        }
        if parserFailed { return }
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        parserFailed = true
        disarmDeadline()
        let refusal: Refusal
        switch parserError {
        case .headerOverflow:
            refusal = Refusal(.headersTooLarge, "the request's headers are over the limit (1,000 fields, 80 KiB)")
        case .invalidMethod, .invalidConstant:
            refusal = Refusal(.methodNotImplemented, "the request's method is not one Liaison knows")
        case .invalidContentLength, .unexpectedContentLength:
            refusal = Refusal(
                .malformedRequest, "the request's length is not clear: one Content-Length, or Transfer-Encoding alone")
        default:
            refusal = Refusal(.malformedRequest, "the request is not well-formed HTTP/1.1 (\(parserError))")
        }
        refuse(refusal, headers: [], context: context, reason: "\(parserError)")
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarmDeadline()
        if readingBody {
            // Gone mid-body with no error from below: the route must not take what arrived as the whole body.
            readingBody = false
            context.fireErrorCaught(RequestBodyInterrupted(cause: ChannelError.eof))
        }
        context.fireChannelInactive()
    }

    // MARK: Answers

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !finished else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head):
            answering = true
            if closing, head.headerFields[.connection] == nil {
                head.headerFields[.connection] = "close"
                context.write(wrapOutboundOut(.head(head)), promise: promise)
                return
            }
        case .body:
            break
        case .end:
            answering = false
            unanswered = max(0, unanswered - 1)
            if unanswered == 0, closing || pendingProblem != nil {
                let written = promise ?? context.eventLoop.makePromise()
                context.write(data, promise: written)
                written.futureResult.assumeIsolated().whenComplete { _ in self.afterAnswers(context: context) }
                return
            }
        }
        context.write(data, promise: promise)
    }

    /// Once every request before it is answered: the pending problem, or the close.
    private func afterAnswers(context: ChannelHandlerContext) {
        if let (refusal, headers) = pendingProblem {
            pendingProblem = nil
            writeProblem(refusal, headers: headers, context: context)
        } else {
            context.close(promise: nil)
        }
    }

    /// Answers `refusal` once the requests before it are answered, then closes; logged at info with `reason`
    /// (never the caller's text).
    private func refuse(_ refusal: Refusal, headers: [HTTPField], context: ChannelHandlerContext, reason: String) {
        logger.info(
            "refused below the router",
            metadata: [
                "code": .string(refusal.code.rawValue), "status": "\(refusal.code.status)", "cause": .string(reason),
                "peer": .string(context.remoteAddress?.ipAddress ?? "-"),
            ])
        closing = true
        if unanswered == 0, !answering {
            writeProblem(refusal, headers: headers, context: context)
        } else {
            pendingProblem = (refusal, headers)
        }
    }

    private func writeProblem(_ refusal: Refusal, headers: [HTTPField], context: ChannelHandlerContext) {
        let body = ByteBuffer(string: refusal.problemDocument.canonicalText)
        var fields = HTTPFields(headers)
        fields[.contentType] = "application/problem+json"
        fields[.contentLength] = String(body.readableBytes)
        fields[.connection] = "close"
        let head = HTTPResponse(status: HTTPResponse.Status(code: refusal.code.status), headerFields: fields)
        finished = true
        if writesRaw {
            writeRaw(head, body: body, context: context)
            return
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Writes a response as bytes in front of the HTTP encoder: the encoder gives no answer to a CONNECT a
    /// body (it takes every answer to one for the start of a tunnel), and the refusal must carry its problem.
    private func writeRaw(_ head: HTTPResponse, body: ByteBuffer, context: ChannelHandlerContext) {
        guard let front = try? context.pipeline.syncOperations.context(handlerType: RequestBytesWatcher.self) else {
            context.close(promise: nil)
            return
        }
        var text = "HTTP/1.1 \(head.status.code) \(head.status.reasonPhrase)\r\n"
        for field in head.headerFields { text += "\(field.name): \(field.value)\r\n" }
        var bytes = ByteBuffer(string: text + "\r\n")
        bytes.writeImmutableBuffer(body)
        front.writeAndFlush(NIOAny(bytes)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    // MARK: The request deadline

    private func armDeadline(context: ChannelHandlerContext) {
        guard deadline == nil, !parserFailed else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: requestTimeout) {
            self.deadline = nil
            self.timedOut(context: context)
        }
    }

    private func disarmDeadline() {
        deadline?.cancel()
        deadline = nil
    }

    /// The request's head and body did not arrive in time: the route reading it hears why, the client is
    /// answered 408 when nothing else is being answered, and the connection closes.
    private func timedOut(context: ChannelHandlerContext) {
        if readingBody {
            readingBody = false
            context.fireErrorCaught(RequestBodyInterrupted(cause: RequestTimedOut()))
        }
        parserFailed = true
        let refusal = Refusal(
            .requestTimeout, "the request did not arrive whole within \(requestTimeout.nanoseconds / 1_000_000_000) s")
        logger.info(
            "request too slow: connection closed",
            metadata: ["peer": .string(context.remoteAddress?.ipAddress ?? "-"), "code": .string(refusal.code.rawValue)])
        if answering || unanswered > 1 {
            context.close(promise: nil)
        } else {
            unanswered = 0
            closing = true
            writeProblem(refusal, headers: [], context: context)
        }
    }

    /// `Allow` for a method no path takes.
    private static let allowAny = [HTTPField(name: .allow, value: "GET, POST")]
}

/// Tells `ProtocolGuard` that a request's bytes are arriving, before the decoder has a whole head to give
/// it, so that a head sent a byte at a time is timed from its first byte.
final class RequestBytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireUserInboundEventTriggered(RequestBytesArrived())
        context.fireChannelRead(data)
    }
}

/// Request bytes arrived (`RequestBytesWatcher`).
struct RequestBytesArrived {}

/// A request whose body broke off: malformed framing, the client gone, or too slow. The route reading it
/// answers 400 (408 when too slow), logged at info: the client's doing, not the store's.
struct RequestBodyInterrupted: Error {
    let cause: any Error

    var tooSlow: Bool { cause is RequestTimedOut }
    /// The parser could not read the body, rather than the client going away mid-way.
    var malformed: Bool { cause is HTTPParserError }
}

/// A request that did not arrive whole within `limits.requestTimeout`.
struct RequestTimedOut: Error {}
