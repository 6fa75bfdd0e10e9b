import Foundation
import Hummingbird
import HummingbirdTLS
import LiaisonCore
import LiaisonDelivery
import LiaisonRuntime
import LiaisonStore
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// `liaison serve`: the exchange as one process: HTTPS ingest with group commit, timers on the real clock,
/// and delivery through libcurl, composed as services so SIGTERM drains them in order.
public struct Daemon {
    let config: DaemonConfig
    let logger: Logger

    public init(config: DaemonConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT; then stops accepting (503), lets requests and deliveries in flight
    /// finish within the drain bound, and returns.
    public func run() async throws {
        let rules = try RuleFiles.loadRules(at: URL(fileURLWithPath: config.rulesPath))
        let calendars = try RuleFiles.loadCalendars(at: URL(fileURLWithPath: config.holidaysPath))
        if let warning = RuleFiles.holidayDataWarning(calendars, today: UKTime.localDate(at: Date())) { logger.warning("\(warning)") }
        let context = RuleContext(directory: try config.directory(), rules: rules, calendars: calendars)
        let router = LiaisonCore.Router(context: context)

        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let local = LocalCertificates(folder: URL(fileURLWithPath: config.dataDirectory).appendingPathComponent("tls"))
        let clientNames = config.parties.compactMap(\.certificateName)
        let created = try local.ensure(clientNames: clientNames)
        for file in created { logger.notice("created \(file.path)") }

        let store = try SQLiteCaseStore(path: config.storePath)
        let checkpointer = try Checkpointer(path: config.storePath)
        checkpointer.start()
        defer { checkpointer.stop() }
        let queue = DeliveryQueue(store: store)
        let now = Date().timeIntervalSince1970
        let endpoints = pushEndpoints()
        let pushAddresses = Set(endpoints.map(\.address))
        let pullAddresses = config.pullAddresses.map(\.description)
        let recovered = try queue.recoverInFlight(at: now, isPullInbox: Set(pullAddresses).contains)
        if recovered > 0 { logger.notice("requeued copies left in flight by the last run", metadata: ["copies": "\(recovered)"]) }

        let engine = DeliveryEngine(
            queue: queue, endpoints: endpoints, pullAddresses: pullAddresses,
            policy: RetryPolicy(schedule: config.delivery.retrySchedule, jitter: config.delivery.jitter, lifetime: config.delivery.lifetimeSeconds),
            drainSeconds: config.delivery.drainSeconds, logger: logger)
        let metrics = ExchangeMetrics()
        let state = DaemonState()
        let committer = GroupCommitter(
            store: store, router: router, logger: logger, onHealth: { state.storeHealth($0) }, onCommit: { addresses in
                // Copies for pull inboxes wait to be pulled: the deliverer has nothing to do for them.
                if !addresses.isDisjoint(with: pushAddresses) { engine.wake() }
            })
        let server = ExchangeServer(
            config: config, committer: committer, queue: queue, queueOperator: QueueOperator(pool: store.pool),
            authenticator: Authenticator(parties: config.parties),
            rateLimiter: RateLimiter(rate: config.ratePerSecond, burst: config.rateBurst), metrics: metrics, state: state,
            logger: logger)
        let timers = TimerService(
            store: store, router: router, metrics: metrics, logger: logger, onEmit: { engine.wake() },
            clock: { committer.firingInstant() })

        let tls = try tlsConfiguration(local: local)
        let firstStart = created.contains(local.caCertificate)
        let logger = self.logger
        let config = self.config
        let app = Application(
            router: server.router(),
            // A connection idle for a minute, or whose request body stalled that long, is closed: so a stalled
            // client cannot hold up a SIGTERM for ever.
            server: try .tls(.http1(configuration: .init(idleTimeout: .seconds(60))), tlsConfiguration: tls),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "liaison"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? config.port
                // Tests and scripts read this line to find the port when it was 0.
                var text = "liaison listening on https://\(config.host):\(port)\n"
                if firstStart || ProcessInfo.processInfo.environment["LIAISON_HELP"] != nil {
                    text += Daemon.firstMessageHelp(config: config, local: local, port: port) + "\n"
                }
                FileHandle.standardOutput.write(Data(text.utf8))
            },
            logger: logger)

        // Shut down in reverse: first the daemon stops taking work (503, and not ready); then deliveries in
        // flight get their drain bound, while the server still answers, so a client or a load balancer hears
        // 503 with Retry-After rather than a refused connection; then the server closes, timers stop, and
        // the committer stores what it was given.
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: ShutdownStep(name: "commit") { committer.stop() }),
                .init(service: timers),
                .init(service: app),
                .init(service: engine),
                .init(service: ShutdownStep(name: "drain") { state.drain() }),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // Backstops: shutdown is bounded by the idle timeout and the drain bound; past this it is cancelled,
        // and a cancellation that does not finish ends the process rather than leave it hanging.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(Int(config.delivery.drainSeconds.rounded(.up)) + 75)
        groupConfiguration.maximumCancellationDuration = .seconds(15)
        try await ServiceGroup(configuration: groupConfiguration).run()
        logger.notice("stopped")
    }

    private func pushEndpoints() -> [InboxEndpoint] {
        config.parties.flatMap { party in
            party.inboxes.compactMap { role, mode -> InboxEndpoint? in
                guard case .push(let endpoint) = mode else { return nil }
                return InboxEndpoint(
                    address: Address(party.party.id, role).description, url: endpoint.url, secrets: endpoint.secrets,
                    clientCertificate: endpoint.clientCertificate, clientKey: endpoint.clientKey, caBundle: endpoint.caBundle,
                    concurrency: endpoint.concurrency, timeoutSeconds: endpoint.timeoutSeconds)
            }
        }.sorted { $0.address < $1.address }
    }

    /// TLS 1.2 or later; a client certificate is verified against the client CA when one is presented
    /// (parties may use bearer tokens instead).
    private func tlsConfiguration(local: LocalCertificates) throws -> TLSConfiguration {
        let certificatePath = config.serverCertificate ?? local.serverCertificate.path
        let keyPath = config.serverKey ?? local.serverKey.path
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .optionalVerification
        tls.trustRoots = .file(config.clientCA ?? local.caCertificate.path)
        tls.shutdownTimeout = .milliseconds(500)
        return tls
    }

    static func firstMessageHelp(config: DaemonConfig, local: LocalCertificates, port: Int) -> String {
        let jobcentre = config.parties.first { $0.party.kind == .jobcentre && $0.certificateName != nil }
        let prime = config.parties.first { $0.party.kind == .prime && $0.certificateName != nil }
        guard let jobcentre, let prime else { return "" }
        let (jobcentreCertificate, jobcentreKey) = local.client(jobcentre.certificateName!)
        let (primeCertificate, primeKey) = local.client(prime.certificateName!)
        let today = UKTime.localDate(at: Date())
        let body = #"{"id":"\#(UUID().uuidString.lowercased())","type":"wp.referral","to":"\#(prime.party.id)","nino":"AB123456C","sentAt":"\#(Timestamp.format(Date()))","body":{"referralDate":"\#(today)","benefit":"JSA","mandatory":true}}"#
        return """

            A local CA, a server certificate and client certificates are in \(local.folder.path).
            Send a first message as \(jobcentre.party.id) (a Work Programme referral to \(prime.party.id)):

              curl --cacert \(local.caCertificate.path) \\
                --cert \(jobcentreCertificate.path) --key \(jobcentreKey.path) \\
                -H 'Content-Type: application/json' https://localhost:\(port)/v1/messages \\
                -d '\(body)'

            Then fetch it from \(prime.party.id)'s contact inbox:

              curl --cacert \(local.caCertificate.path) \\
                --cert \(primeCertificate.path) --key \(primeKey.path) \\
                https://localhost:\(port)/v1/inbox/contact

            """
    }
}
