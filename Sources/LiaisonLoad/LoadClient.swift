import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A lean HTTPS load generator for the benchmark: keeps `connections` keep-alive TLS connections to one
/// server and sends pre-encoded HTTP/1.1 requests, one in flight per connection, recording each response's
/// status and latency. It costs far less per request than a general client, so that on a small machine the
/// figures measure the daemon rather than the load generator.
public final class LoadClient: Sendable {
    /// One response: its HTTP status (0 when the connection failed) and seconds from write to last byte.
    public struct Outcome: Sendable {
        public var status: Int
        public var latency: Double
    }

    private let host: String
    private let port: Int
    private let sslContext: NIOSSLContext
    private let group: MultiThreadedEventLoopGroup

    /// - Parameters:
    ///   - caBundle: the PEM file of the CA that signed the server's certificate.
    ///   - threads: event loop threads; one is enough for tens of thousands of requests per second.
    public init(host: String = "127.0.0.1", port: Int, caBundle: String, threads: Int = 1) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caBundle)
        tls.minimumTLSVersion = .tlsv12
        self.host = host
        self.port = port
        sslContext = try NIOSSLContext(configuration: tls)
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    deinit { try? group.syncShutdownGracefully() }

    /// The bytes of one HTTP/1.1 POST with a JSON body.
    public func post(path: String, headers: [String], body: [UInt8]) -> [UInt8] {
        var head = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        for header in headers { head += header + "\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }

    /// Sends every request over `connections` connections, each taking the next unsent request as soon as its
    /// previous response is complete. Outcomes are in request order.
    public func run(_ requests: [[UInt8]], connections: Int) async throws -> [Outcome] {
        let shared = Shared(requests: requests)
        let count = min(connections, requests.count)
        var closed: [EventLoopFuture<Void>] = []
        for _ in 0..<count {
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { [sslContext] channel in
                    channel.eventLoop.makeCompletedFuture {
                        let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: nil)
                        try channel.pipeline.syncOperations.addHandler(tls)
                        try channel.pipeline.syncOperations.addHandler(Connection(shared: shared))
                    }
                }
                .connect(host: host, port: port).get()
            closed.append(channel.closeFuture)
        }
        for future in closed { try await future.get() }
        return shared.outcomes.withLock { $0 }
    }

    /// What the connections share: the next request to send and the outcomes so far.
    final class Shared: Sendable {
        let requests: [[UInt8]]
        let next = Atomic<Int>(0)
        let outcomes: Mutex<[Outcome]>

        init(requests: [[UInt8]]) {
            self.requests = requests
            outcomes = Mutex(Array(repeating: Outcome(status: 0, latency: 0), count: requests.count))
        }

        /// The index of the next request to send, or nil when all are taken.
        func take() -> Int? {
            let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
            return index < requests.count ? index : nil
        }
    }

    /// One connection: writes a request, parses its response (status line, headers, Content-Length body),
    /// then writes the next; closes when there is nothing left to send.
    final class Connection: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let shared: Shared
        private var buffer = ByteBuffer()
        private var current: Int?
        private var startedNanoseconds: UInt64 = 0

        init(shared: Shared) { self.shared = shared }

        func channelActive(context: ChannelHandlerContext) {
            sendNext(context: context)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            while let status = takeResponse(context: context) {
                if let index = current {
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - startedNanoseconds) / 1e9
                    shared.outcomes.withLock { $0[index] = Outcome(status: status, latency: seconds) }
                    current = nil
                }
                sendNext(context: context)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }

        private func sendNext(context: ChannelHandlerContext) {
            guard let index = shared.take() else {
                context.close(promise: nil)
                return
            }
            current = index
            startedNanoseconds = DispatchTime.now().uptimeNanoseconds
            var out = context.channel.allocator.buffer(capacity: shared.requests[index].count)
            out.writeBytes(shared.requests[index])
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }

        /// Removes one complete response from the buffer and returns its status, or nil if incomplete. Reads
        /// the bytes in place: with a general parser this was nearly half the load generator's time.
        private func takeResponse(context: ChannelHandlerContext) -> Int? {
            let parsed = buffer.withUnsafeReadableBytes { bytes -> (status: Int, length: Int)?? in
                Self.head(of: bytes)
            }
            guard let parsed else { return nil }
            guard let (status, length) = parsed else {
                // Not HTTP: give up on this connection; its request keeps status 0.
                buffer.clear()
                context.close(promise: nil)
                return nil
            }
            guard buffer.readableBytes >= length else { return nil }
            buffer.moveReaderIndex(forwardBy: length)
            buffer.discardReadBytes()
            return status
        }

        /// The status and whole length (head and body) of the response at the start of `bytes`: nil when its
        /// head is not complete yet, `.some(nil)` when it is not HTTP.
        static func head(of bytes: UnsafeRawBufferPointer) -> (status: Int, length: Int)?? {
            let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
            var end = -1
            var index = 3
            while index < bytes.count {
                if bytes[index] == lf, bytes[index - 1] == cr, bytes[index - 2] == lf, bytes[index - 3] == cr {
                    end = index + 1
                    break
                }
                index += 1
            }
            guard end > 0 else { return nil }
            // "HTTP/1.1 202 Accepted"
            func digit(_ at: Int) -> Int? {
                let byte = bytes[at]
                return (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
            }
            guard end >= 12, bytes[0] == UInt8(ascii: "H"), let a = digit(9), let b = digit(10), let c = digit(11) else {
                return .some(nil)
            }
            // The Content-Length header, matched without regard to case.
            let name = Array("content-length:".utf8)
            var length = 0
            var lineStart = 0
            while lineStart < end {
                var lineEnd = lineStart
                while lineEnd < end, bytes[lineEnd] != lf { lineEnd += 1 }
                if lineEnd - lineStart > name.count,
                    (0..<name.count).allSatisfy({ bytes[lineStart + $0] | 0x20 == name[$0] | 0x20 })
                {
                    length = 0
                    for at in (lineStart + name.count)..<lineEnd {
                        if let value = digit(at) { length = length * 10 + value }
                    }
                }
                lineStart = lineEnd + 1
            }
            return .some((a * 100 + b * 10 + c, end + length))
        }
    }
}
