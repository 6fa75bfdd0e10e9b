import COpenSSL
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An OpenSSL client context that verifies servers against a CA bundle, TLS 1.2 or later: shared by every
/// connection a load run or a test opens.
public final class TLSClientContext: @unchecked Sendable {
    let context: OpaquePointer

    /// The client could not be set up.
    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// - Parameters:
    ///   - caBundle: the PEM file of the CA that signed the server's certificate.
    ///   - cipherList: the TLS 1.2 suites to offer (OpenSSL's names), or nil for OpenSSL's default.
    ///   - maximumTLS12: offer nothing newer than TLS 1.2, to see which TLS 1.2 suites the server takes.
    public init(caBundle: String, cipherList: String? = nil, maximumTLS12: Bool = false) throws {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw SetupError(description: "SSL_CTX_new failed") }
        self.context = context
        guard SSL_CTX_load_verify_locations(context, caBundle, nil) == 1 else {
            throw SetupError(description: "cannot load the CA bundle \(caBundle)")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        guard liaison_ssl_ctx_set_min_tls12(context) == 1 else { throw SetupError(description: "cannot require TLS 1.2") }
        if maximumTLS12, liaison_ssl_ctx_set_max_tls12(context) != 1 { throw SetupError(description: "cannot cap at TLS 1.2") }
        if let cipherList, SSL_CTX_set_cipher_list(context, cipherList) != 1 {
            throw SetupError(description: "OpenSSL knows none of the suites \(cipherList)")
        }
        liaison_ssl_ctx_accept_moving_write_buffer(context)
        liaison_ssl_ctx_read_ahead(context)
    }

    deinit { SSL_CTX_free(context) }

    /// Connects over TCP and completes the TLS handshake (blocking).
    /// - Returns: the socket and its TLS session.
    func open(host: String, port: Int) throws -> (socket: Int32, ssl: OpaquePointer) {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw SetupError(description: "socket failed: errno \(errno)") }
        var noDelay: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            Glibc.close(socket)
            throw SetupError(description: "not an IPv4 address: \(host)")
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(socket)
            throw SetupError(description: "cannot connect to \(host):\(port): errno \(errno)")
        }
        guard let ssl = SSL_new(context) else {
            Glibc.close(socket)
            throw SetupError(description: "SSL_new failed")
        }
        SSL_set_fd(ssl, socket)
        guard SSL_connect(ssl) == 1 else {
            let code = ERR_get_error()
            SSL_free(ssl)
            Glibc.close(socket)
            throw SetupError(description: "TLS handshake with \(host):\(port) failed: OpenSSL error \(code)")
        }
        return (socket, ssl)
    }
}

/// One TLS connection that sends whatever bytes it is given, however malformed, and reads what comes back:
/// for tests of what the server does with hostile or broken requests.
public final class RawTLSConnection {
    private let socket: Int32
    private let ssl: OpaquePointer
    private var closed = false
    /// Bytes read and not yet taken by `response`.
    private var received: [UInt8] = []

    /// The TLS version and suite the handshake agreed, as OpenSSL names them.
    public var negotiated: (version: String, cipher: String) {
        (String(cString: SSL_get_version(ssl)), String(cString: SSL_CIPHER_get_name(SSL_get_current_cipher(ssl))))
    }

    public init(host: String = "127.0.0.1", port: Int, context: TLSClientContext) throws {
        // A write to a connection the server closed must fail, not end the test process.
        signal(SIGPIPE, SIG_IGN)
        (socket, ssl) = try context.open(host: host, port: port)
        // Non-blocking from here: a read must never wait on a record that is not application data (a TLS 1.3
        // session ticket, say) while the server holds the connection open.
        _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
    }

    /// Waits until the socket can be read or written, at most `timeout` seconds.
    private func wait(for events: Int32, _ timeout: Double) -> Bool {
        var descriptor = pollfd(fd: socket, events: Int16(events), revents: 0)
        return poll(&descriptor, 1, Int32(max(0, timeout) * 1000)) > 0
    }

    deinit { close() }

    /// Sends `bytes`; false when the connection is gone.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        guard !closed else { return false }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            if written > 0 {
                offset += Int(written)
                continue
            }
            switch SSL_get_error(ssl, written) {
            case SSL_ERROR_WANT_WRITE: guard wait(for: Int32(POLLOUT), 10) else { return false }
            case SSL_ERROR_WANT_READ: guard wait(for: Int32(POLLIN), 10) else { return false }
            default: return false
            }
        }
        return true
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads what arrives within `timeout` seconds, stopping early at end of stream.
    /// - Returns: whether the server closed the connection.
    @discardableResult
    public func read(for timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while !closed {
            let count = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count > 0 {
                received.append(contentsOf: buffer[..<Int(count)])
                continue
            }
            switch SSL_get_error(ssl, count) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                let left = deadline.timeIntervalSinceNow
                guard left > 0, wait(for: Int32(POLLIN), left) else { return false }
            default:
                close()
                return true
            }
        }
        return true
    }

    /// Whether the server has closed the connection, waiting at most `timeout` seconds for it to.
    public func closesWithin(_ timeout: Double) -> Bool { read(for: timeout) || closed }

    /// One response: its status, its headers (names in lower case) and its body.
    public struct Response: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: String
    }

    /// The next whole response (a `Content-Length` body), waiting at most `timeout` seconds for it.
    public func response(within timeout: Double = 5) -> Response? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let response = takeResponse() { return response }
            let left = deadline.timeIntervalSinceNow
            guard left > 0, !closed else { return takeResponse() }
            read(for: min(left, 0.2))
        }
    }

    private func takeResponse() -> Response? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = received.indices.dropLast(3).first(where: { Array(received[$0..<$0 + 4]) == separator }) else { return nil }
        let head = String(decoding: received[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = head.first, statusLine.count >= 12, let status = Int(statusLine.dropFirst(9).prefix(3)) else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = headers["content-length"].flatMap(Int.init) ?? 0
        guard received.count >= end + 4 + length else { return nil }
        let body = String(decoding: received[(end + 4)..<(end + 4 + length)], as: UTF8.self)
        received.removeFirst(end + 4 + length)
        return Response(status: status, headers: headers, body: body)
    }

    public func close() {
        guard !closed else { return }
        closed = true
        SSL_shutdown(ssl)
        SSL_free(ssl)
        Glibc.close(socket)
    }
}
