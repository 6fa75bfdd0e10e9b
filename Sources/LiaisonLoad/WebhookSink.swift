import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import LiaisonCore
import LiaisonDelivery
import LiaisonServer
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// A real HTTPS inbox for tests and benchmarks: it checks each delivery's Standard Webhooks signature and
/// records what arrived; how it answers can be changed while it runs.
public final class WebhookSink: Sendable {
    /// One delivery as received.
    public struct Received: Sendable {
        public let webhookID: String
        public let body: JSONValue
        public let signatureValid: Bool
        public let at: Date
    }

    /// How the sink answers the next delivery.
    public struct Answer: Sendable {
        public var status: Int
        public var retryAfter: Int?
        /// How long the sink waits before it answers: a slow inbox.
        public var delay: Duration?
        public init(status: Int, retryAfter: Int? = nil, delay: Duration? = nil) {
            self.status = status
            self.retryAfter = retryAfter
            self.delay = delay
        }
    }

    private let signer: WebhookSigner
    private let received = Mutex<[Received]>([])
    /// The answering rule, boxed in a struct: a bare closure in a `Mutex` is re-wrapped in reabstraction
    /// thunks on every `withLock`, so each call got slower than the last (measured: most of the sink's CPU
    /// after 30,000 deliveries).
    private struct Rule: Sendable { let answer: @Sendable (Int) -> Answer }
    private let rule = Mutex(Rule { _ in Answer(status: 200) })
    private let running = Mutex<(ServiceGroup, Task<Void, any Error>)?>(nil)
    private let certificates: LocalCertificates
    private let clientCA: String?
    private let record: Bool

    /// - Parameters:
    ///   - folder: where the sink keeps its CA and server certificate.
    ///   - secrets: the signing secrets it verifies against.
    ///   - clientCA: when given, the sink demands a client certificate signed by it (mutual TLS).
    ///   - record: keep every delivery (off for long benchmarks, which only count).
    public init(folder: URL, secrets: [String], clientCA: String? = nil, record: Bool = true) throws {
        certificates = LocalCertificates(folder: folder)
        try certificates.ensure(clientNames: [])
        signer = WebhookSigner(secrets: secrets)
        self.clientCA = clientCA
        self.record = record
    }

    /// The CA to verify the sink with.
    public var caBundle: String { certificates.caCertificate.path }

    /// Everything received so far.
    public var deliveries: [Received] { received.withLock { $0 } }

    private let counter = Atomic<Int>(0)

    /// How many deliveries arrived (recorded or not).
    public var count: Int { counter.load(ordering: .relaxed) }

    /// Sets how the sink answers; the closure gets the number of the delivery (1-based).
    public func respond(_ answer: @escaping @Sendable (Int) -> Answer) { rule.withLock { $0 = Rule(answer: answer) } }

    /// Starts listening on 127.0.0.1.
    /// - Parameter port: 0 for any free port.
    /// - Returns: the port.
    @discardableResult
    public func start(port: Int = 0) async throws -> Int {
        let router = Router()
        router.post("/hook") { [self] request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let bytes = Array(buffer: body)
            let id = request.headers[HTTPField.Name("webhook-id")!] ?? ""
            let timestamp = Int(request.headers[HTTPField.Name("webhook-timestamp")!] ?? "") ?? 0
            let signature = request.headers[HTTPField.Name("webhook-signature")!] ?? ""
            let valid = signer.verify(header: signature, id: id, timestamp: timestamp, body: bytes)
            let number = counter.wrappingAdd(1, ordering: .relaxed).newValue
            let reply = rule.withLock { $0 }.answer(number)
            if record || !valid {
                let document = (try? JSONValue.parse(String(decoding: bytes, as: UTF8.self))) ?? .null
                received.withLock { $0.append(Received(webhookID: id, body: document, signatureValid: valid, at: Date())) }
            }
            if let delay = reply.delay { try await Task.sleep(for: delay) }
            var headers = HTTPFields()
            if let retryAfter = reply.retryAfter { headers[HTTPField.Name("Retry-After")!] = String(retryAfter) }
            return Response(status: valid ? HTTPResponse.Status(code: reply.status) : .unauthorized, headers: headers)
        }
        let chain = try NIOSSLCertificate.fromPEMFile(certificates.serverCertificate.path).map { NIOSSLCertificateSource.certificate($0) }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: certificates.serverKey.path, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        tls.shutdownTimeout = .milliseconds(100)
        if let clientCA {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .file(clientCA)
        }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "sink")
        logger.logLevel = .error
        let app = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? port) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        running.withLock { $0 = (group, task) }
        for await bound in stream { return bound }
        throw CancellationError()
    }

    /// Stops listening (connections are refused until `start` again).
    public func stop() async {
        guard
            let (group, task) = running.withLock({ state in
                defer { state = nil }
                return state
            })
        else { return }
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
