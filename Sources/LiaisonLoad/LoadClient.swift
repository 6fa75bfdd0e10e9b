import CEpoll
import COpenSSL
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A lean HTTPS load generator for the benchmark, in the manner of `wrk`: keeps `connections` keep-alive TLS
/// connections to one server and sends pre-encoded HTTP/1.1 requests, one in flight per connection, recording
/// each response's status and latency. One thread drives every connection with `epoll` and OpenSSL directly.
///
/// The benchmark's load generator shares the machine's two cores with the daemon, so what it costs is taken
/// from what is measured: through SwiftNIO and its TLS handler it cost about 25 µs per request.
public final class LoadClient: Sendable {
    /// One response: its HTTP status (0 when the connection failed) and seconds from write to last byte.
    public struct Outcome: Sendable {
        public var status: Int
        public var latency: Double
    }

    /// The client could not be set up; the benchmark cannot run.
    public typealias SetupError = TLSClientContext.SetupError

    private let host: String
    private let port: Int
    private let caBundle: String

    /// - Parameters:
    ///   - caBundle: the PEM file of the CA that signed the server's certificate.
    public init(host: String = "127.0.0.1", port: Int, caBundle: String) {
        self.host = host
        self.port = port
        self.caBundle = caBundle
    }

    /// The bytes of one HTTP/1.1 POST with a JSON body.
    public func post(path: String, headers: [String], body: [UInt8]) -> [UInt8] {
        request("POST", path: path, headers: headers + ["Content-Length: \(body.count)"]) + body
    }

    /// The bytes of one HTTP/1.1 GET.
    public func get(path: String, headers: [String]) -> [UInt8] {
        request("GET", path: path, headers: headers)
    }

    private func request(_ method: String, path: String, headers: [String]) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        for header in headers { head += header + "\r\n" }
        return Array((head + "\r\n").utf8)
    }

    /// Sends every request over `connections` connections, each taking the next unsent request as soon as its
    /// previous response is complete. Outcomes are in request order; a request whose connection failed has
    /// status 0.
    public func run(_ requests: [[UInt8]], connections: Int) async throws -> [Outcome] {
        let count = min(connections, requests.count)
        let (host, port, caBundle) = (host, port, caBundle)
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try Run(host: host, port: port, caBundle: caBundle, requests: requests, connections: count).go() })
            }
            thread.name = "liaison-load"
            thread.start()
        }
    }

    /// One run: its connections, the next request to send and the outcomes so far.
    private final class Run {
        private let requests: [[UInt8]]
        private var outcomes: [Outcome]
        private var next = 0
        private let tls: TLSClientContext
        private var connections: [Connection] = []
        private let poll: Int32

        init(host: String, port: Int, caBundle: String, requests: [[UInt8]], connections count: Int) throws {
            self.requests = requests
            outcomes = Array(repeating: Outcome(status: 0, latency: 0), count: requests.count)
            tls = try TLSClientContext(caBundle: caBundle)
            poll = epoll_create1(Int32(EPOLL_CLOEXEC))
            for index in 0..<count {
                let connection = try Connection(host: host, port: port, tls: tls)
                connection.index = UInt32(index)
                watch(connection, writable: false, operation: EPOLL_CTL_ADD)
                connections.append(connection)
            }
        }

        deinit {
            for connection in connections { connection.close() }
            close(poll)
        }

        func go() throws -> [Outcome] {
            var open = connections.count
            for connection in connections where !sendNext(connection) {
                connection.close()
                open -= 1
            }
            var events = [epoll_event](repeating: epoll_event(), count: 64)
            var incoming = [UInt8](repeating: 0, count: 65_536)
            while open > 0 {
                let ready = epoll_wait(poll, &events, Int32(events.count), 1_000)
                if ready < 0, errno != EINTR { throw SetupError(description: "epoll_wait failed: errno \(errno)") }
                for event in events.prefix(Int(max(ready, 0))) {
                    let connection = connections[Int(event.data.u32)]
                    guard !connection.closed else { continue }
                    if !serve(connection, buffer: &incoming) {
                        connection.close()
                        open -= 1
                    }
                }
            }
            return outcomes
        }

        /// Asks to hear when the connection can be read, and also written while a request waits to be sent.
        /// Level-triggered: data left unread is reported again.
        private func watch(_ connection: Connection, writable: Bool, operation: Int32) {
            var event = epoll_event()
            event.events = EPOLLIN.rawValue | (writable ? EPOLLOUT.rawValue : 0)
            event.data.u32 = connection.index
            epoll_ctl(poll, operation, connection.socket, &event)
            connection.watchingWritable = writable
        }

        /// Reads what has arrived, records each complete response and sends the next request. Returns false
        /// when the connection is done: failed, or nothing left to send.
        private func serve(_ connection: Connection, buffer incoming: inout [UInt8]) -> Bool {
            guard connection.write() else { return false }
            if connection.watchingWritable, connection.unsent == nil { watch(connection, writable: false, operation: EPOLL_CTL_MOD) }
            while true {
                let read = incoming.withUnsafeMutableBytes { SSL_read(connection.ssl, $0.baseAddress, Int32($0.count)) }
                if read <= 0 {
                    let error = SSL_get_error(connection.ssl, read)
                    if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return true }
                    return false
                }
                connection.received.append(contentsOf: incoming[0..<Int(read)])
                var answered = false
                while let status = connection.takeResponse() {
                    guard let index = connection.current else { return false }
                    let seconds = Double(Connection.now() - connection.startedNanoseconds) / 1e9
                    outcomes[index] = Outcome(status: status, latency: seconds)
                    connection.current = nil
                    guard sendNext(connection) else { return false }
                    answered = true
                }
                if connection.failed { return false }
                // With one request in flight nothing more comes until the server has read the next; anything
                // still unread is reported again (level-triggered), so no read is spent to find the socket empty.
                if answered, SSL_pending(connection.ssl) == 0 { return true }
            }
        }

        /// Sends the next unsent request on `connection`; false when there is none or the write failed.
        private func sendNext(_ connection: Connection) -> Bool {
            guard next < requests.count else { return false }
            connection.current = next
            connection.unsent = requests[next]
            next += 1
            connection.startedNanoseconds = Connection.now()
            guard connection.write() else { return false }
            if (connection.unsent != nil) != connection.watchingWritable {
                watch(connection, writable: connection.unsent != nil, operation: EPOLL_CTL_MOD)
            }
            return true
        }
    }

    /// One TLS connection and its response parsing.
    private final class Connection {
        let socket: Int32
        let ssl: OpaquePointer
        /// Its place in the run's connections, which epoll reports.
        var index: UInt32 = 0
        var watchingWritable = false
        var received: [UInt8] = []
        var current: Int?
        /// A request SSL_write has not taken yet.
        var unsent: [UInt8]?
        var startedNanoseconds: UInt64 = 0
        var failed = false
        private(set) var closed = false

        static func now() -> UInt64 {
            var time = timespec()
            clock_gettime(CLOCK_MONOTONIC, &time)
            return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
        }

        /// Connects and completes the TLS handshake (blocking), then switches the socket to non-blocking.
        init(host: String, port: Int, tls: TLSClientContext) throws {
            (socket, ssl) = try tls.open(host: host, port: port)
            _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
        }

        /// Hands the unsent request to TLS; false when the connection failed.
        func write() -> Bool {
            guard let bytes = unsent else { return true }
            let written = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            if written > 0 {
                unsent = nil
                return true
            }
            let error = SSL_get_error(ssl, written)
            // The socket's buffer is full: retried when the next event for this connection comes.
            return error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ
        }

        /// Removes one complete response from `received` and returns its status, or nil if incomplete. Marks
        /// the connection failed when what arrived is not HTTP.
        func takeResponse() -> Int? {
            let parsed = received.withUnsafeBytes { Self.head(of: $0) }
            guard let parsed else { return nil }
            guard let (status, length) = parsed else {
                failed = true
                return nil
            }
            guard received.count >= length else { return nil }
            received.removeFirst(length)
            return status
        }

        func close() {
            guard !closed else { return }
            closed = true
            SSL_shutdown(ssl)
            SSL_free(ssl)
            Glibc.close(socket)
        }

        /// The status and whole length (head and body) of the response at the start of `bytes`: nil when its
        /// head is not complete yet, `.some(nil)` when it is not HTTP.
        static func head(of bytes: UnsafeRawBufferPointer) -> (status: Int, length: Int)?? {
            let cr = UInt8(ascii: "\r")
            let lf = UInt8(ascii: "\n")
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
