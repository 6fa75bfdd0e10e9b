import Foundation
import Hummingbird
import HummingbirdCore
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
    /// Reads the configuration again, as it was read at start (the same file and command-line overrides),
    /// for a reload on SIGHUP; nil leaves SIGHUP ignored.
    let reload: (@Sendable () throws -> DaemonConfig)?

    public init(config: DaemonConfig, logger: Logger, reload: (@Sendable () throws -> DaemonConfig)? = nil) {
        self.config = config
        self.logger = logger
        self.reload = reload
    }

    /// Runs until SIGTERM or SIGINT; then stops accepting (503), lets requests and deliveries in flight
    /// finish within the drain bound, and returns.
    public func run() async throws {
        let live = LiveSettings(try LiveSettings.Snapshot(config: config))
        Self.warnOfHolidayData(live.snapshot, logger: logger)

        try StoreFiles.createPrivateFolder(config.dataDirectory)
        let local = LocalCertificates(folder: URL(fileURLWithPath: config.dataDirectory).appendingPathComponent("tls"))
        let clientNames = config.parties.compactMap(\.certificateName)
        let created = try local.ensure(clientNames: clientNames)
        for file in created { logger.notice("created \(file.path)") }

        let store = try Store.open(config.store, instance: config.instance, waitForDatabase: config.storeWaitSeconds, logger: logger)
        defer { store.close() }
        logger.notice("store open", metadata: ["engine": "\(store.engineName)", "store": "\(store.location)", "instance": "\(config.instance)"])
        if let warning = StoreFiles.exposureWarning(Self.privatePaths(config: config, local: local)) { logger.warning("\(warning)") }
        store.startMaintenance()
        let queue = store.queue
        let now = Date().timeIntervalSince1970
        let endpoints = Self.pushEndpoints(config)
        let pushAddresses = Guarded(Set(endpoints.map(\.address)))
        let pullAddresses = config.pullAddresses.map(\.description)
        let recovered = try queue.recoverInFlight(at: now, isPullInbox: Set(pullAddresses).contains)
        if recovered > 0 { logger.notice("requeued copies left in flight by the last run", metadata: ["copies": "\(recovered)"]) }

        let metrics = ExchangeMetrics()
        let engine = DeliveryEngine(
            queue: queue, endpoints: endpoints, pullAddresses: pullAddresses,
            policy: RetryPolicy(schedule: config.delivery.retrySchedule, jitter: config.delivery.jitter, lifetime: config.delivery.lifetimeSeconds),
            drainSeconds: config.delivery.drainSeconds, logger: logger, metrics: metrics.factory, breaker: Self.breakerPolicy(config),
            expireLapsed: { [operators = store.operators] inbox, lifetime, now in
                try operators.expireLapsed(inbox: inbox, lifetime: lifetime, now: now)
            })
        // Certificates that run out within 30 days are said at start and every day after, until renewed (a
        // restart, or a reload, reads the new files); the metrics show how long each has left.
        let certificates = Guarded(CertificateExpiry.certificates(of: config, local: local))
        let state = DaemonState()
        let staffEvents = StaffEvents()
        let committer = GroupCommitter(
            store: store.cases, router: { live.snapshot.router }, logger: logger, onHealth: { state.storeHealth($0) },
            onCommit: { addresses in
                // Copies for pull inboxes wait to be pulled: the deliverer has nothing to do for them; staff pages
                // open on those inboxes hear of them.
                if !addresses.isDisjoint(with: pushAddresses.value) { engine.wake() }
                staffEvents.publish(addresses)
            })
        let staffAccounts = store.staffAccounts
        let invitations = try inviteConfiguredStaff(staffAccounts)
        let staffPages = try StaffPages(
            live: live, accounts: staffAccounts, inbox: store.staffInbox, committer: committer, events: staffEvents, metrics: metrics,
            logger: logger)
        let server = ExchangeServer(
            live: live, committer: committer, queue: queue, queueOperator: store.operators,
            rateLimiter: RateLimiter(rate: config.ratePerSecond, burst: config.rateBurst), metrics: metrics, certificates: certificates,
            state: state,
            staffPages: staffPages, logger: logger)
        let timers = TimerService(
            store: store.cases, operators: store.operators, router: { live.snapshot.router }, metrics: metrics, logger: logger,
            onEmit: { inboxes in
                engine.wake()
                staffEvents.publish(inboxes)
            },
            clock: { committer.firingInstant() })

        let tls = try tlsConfiguration(local: local)
        let expiryWatch = Task { [logger] in
            while !Task.isCancelled {
                for warning in CertificateExpiry.warnings(certificates.value, now: Date()) { logger.warning("\(warning)") }
                try? await Task.sleep(for: .seconds(86_400))
            }
        }
        defer { expiryWatch.cancel() }

        // SIGHUP reloads liaison.yaml, the rules and the bank holidays, checked first: a configuration with any
        // problem is refused, every problem logged, and the one in force stays. Connections and deliveries in
        // flight are not touched.
        signal(SIGHUP, SIG_IGN)
        let hangUp = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "liaison-reload"))
        if let reload {
            hangUp.setEventHandler(
                handler: DispatchWorkItem { [logger] in
                    Self.reload(
                        reload, live: live, engine: engine, pushAddresses: pushAddresses, certificates: certificates, local: local, logger: logger)
                })
        }
        hangUp.resume()
        defer { hangUp.cancel() }
        let firstStart = created.contains(local.caCertificate)
        let logger = self.logger
        let config = self.config
        let app = Application(
            router: server.router(),
            server: Self.httpsServer(tls: tls, requestTimeout: config.requestTimeoutSeconds, logger: logger),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "liaison"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? config.port
                // Tests and scripts read this line to find the port when it was 0.
                var text = "liaison listening on https://\(config.host):\(port)\n"
                if firstStart || ProcessInfo.processInfo.environment["LIAISON_HELP"] != nil {
                    text += Daemon.firstMessageHelp(config: config, local: local, port: port) + "\n"
                }
                text += Daemon.staffHelp(invitations, config: config, port: port)
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
                .init(
                    service: ShutdownStep(name: "drain") {
                        state.drain()
                        // Open staff pages' live updates end, so that they do not hold up the drain.
                        staffEvents.finishAll()
                    }),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // Backstops: shutdown is bounded by the idle timeout and the drain bound; past this it is cancelled,
        // and a cancellation that does not finish ends the process rather than leave it hanging.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(Int(config.delivery.drainSeconds.rounded(.up)) + 75)
        groupConfiguration.maximumCancellationDuration = .seconds(15)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch let error as IOError where ["bind", "listen"].contains(where: error.description.contains) {
            throw ListenFailure(host: config.host, port: config.port, errno: error.errnoCode)
        }
        logger.notice("stopped")
    }

    /// Creates the staff accounts the configuration lists (`staff.accounts`) that the store does not have yet,
    /// each with a set-up link, and ends sessions that have run out since the last run.
    /// - Returns: the accounts created, with their links' tokens, to print once the port is known.
    private func inviteConfiguredStaff(_ accounts: StaffAccounts) throws -> [(member: StaffMember, token: String)] {
        let now = Date()
        try accounts.endStaleSessions(
            idleBefore: now.addingTimeInterval(-config.staff.idleTimeoutSeconds),
            startedBefore: now.addingTimeInterval(-config.staff.sessionLifetimeSeconds))
        var created: [(member: StaffMember, token: String)] = []
        for account in config.staff.accounts where try accounts.member(email: account.email) == nil {
            let token = StaffAccounts.newSecret()
            let member = try accounts.add(
                email: account.email, name: account.name, party: account.party, roles: account.roles, setupToken: token,
                expires: now.addingTimeInterval(config.staff.setupLinkSeconds), now: now)
            logger.notice("staff account created from the configuration", metadata: ["staff": "\(member.email)", "party": "\(member.party)"])
            created.append((member, token))
        }
        return created
    }

    /// What to print of the staff accounts just created: each one's set-up link.
    static func staffHelp(_ invitations: [(member: StaffMember, token: String)], config: DaemonConfig, port: Int) -> String {
        guard !invitations.isEmpty else { return "" }
        let base = config.staff.baseURL(port: port)
        var text = "\nStaff pages: \(base)/ui/ (your browser will ask you to trust the local CA, \(config.dataDirectory)/tls/ca.pem).\n"
        text += "Each new account sets its password once with its link (it expires in \(Int(config.staff.setupLinkSeconds / 3600)) hours):\n"
        for (member, token) in invitations {
            let roles = member.roles.map(\.rawValue).joined(separator: ", ")
            text += "  \(member.email) (\(member.party): \(roles))\n    \(base)/ui/setup/\(token)\n"
        }
        return text
    }

    /// The folders and files that must be private to the daemon's user: the data folder, the store and its
    /// side files, and the local CA's folder and keys.
    public static func privatePaths(config: DaemonConfig, local: LocalCertificates) -> [String] {
        let keys =
            (try? FileManager.default.contentsOfDirectory(atPath: local.folder.path))?
            .filter { $0.hasSuffix("key.pem") }.sorted().map { local.folder.appendingPathComponent($0).path } ?? []
        var store: [String] = []
        if case .file(let path) = config.store { store = StoreFiles.paths(ofStore: path) }
        return [config.dataDirectory] + store + [local.folder.path] + keys
    }

    /// Reads the configuration, rules and bank holidays again and puts them in force, or refuses them.
    static func reload(
        _ read: () throws -> DaemonConfig, live: LiveSettings, engine: DeliveryEngine, pushAddresses: Guarded<Set<String>>,
        certificates: Guarded<[CertificateExpiry.Certificate]>, local: LocalCertificates, logger: Logger
    ) {
        logger.notice("SIGHUP: reloading the configuration")
        let snapshot: LiveSettings.Snapshot
        do {
            snapshot = try LiveSettings.Snapshot(config: try read())
        } catch let problems as ConfigProblems {
            for problem in problems.problems { logger.error("reload refused", metadata: ["key": "\(problem.key)", "problem": "\(problem.problem)"]) }
            logger.error("reload refused: the configuration in force stays", metadata: ["problems": "\(problems.problems.count)"])
            return
        } catch {
            logger.error("reload refused: the configuration in force stays", metadata: ["error": "\(error)"])
            return
        }
        let old = live.snapshot.config
        let config = snapshot.config
        for key in LiveSettings.restartOnly(old, config) {
            logger.warning("reload: \(key) changed; it takes effect at the next restart")
        }
        let endpoints = pushEndpoints(config)
        live.replace(with: snapshot)
        pushAddresses.value = Set(endpoints.map(\.address))
        engine.reconfigure(
            endpoints: endpoints, pullAddresses: config.pullAddresses.map(\.description),
            policy: RetryPolicy(schedule: config.delivery.retrySchedule, jitter: config.delivery.jitter, lifetime: config.delivery.lifetimeSeconds),
            breaker: breakerPolicy(config))
        certificates.value = CertificateExpiry.certificates(of: config, local: local)
        warnOfHolidayData(snapshot, logger: logger)
        for warning in CertificateExpiry.warnings(certificates.value, now: Date()) { logger.warning("\(warning)") }
        logger.notice(
            "configuration reloaded",
            metadata: ["parties": "\(config.parties.count)", "push-inboxes": "\(endpoints.count)", "rules": "\(config.rulesPath)"])
    }

    static func breakerPolicy(_ config: DaemonConfig) -> CircuitBreaker.Policy {
        CircuitBreaker.Policy(
            failures: config.delivery.circuitFailures, probeDelay: config.delivery.circuitProbeSeconds,
            maximumProbeDelay: max(config.delivery.circuitProbeSeconds, config.delivery.circuitProbeMaximumSeconds))
    }

    /// The bank-holiday data's end, once it is within half a year.
    static func warnOfHolidayData(_ snapshot: LiveSettings.Snapshot, logger: Logger) {
        if let warning = RuleFiles.holidayDataWarning(snapshot.router.rules.context.calendars, today: UKTime.localDate(at: Date())) {
            logger.warning("\(warning)")
        }
    }

    static func pushEndpoints(_ config: DaemonConfig) -> [InboxEndpoint] {
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

    /// HTTP/1.1 over TLS, guarded below the router (`ProtocolGuard`): malformed requests answered in
    /// problem+json, slow ones cut off at the request timeout. A connection idle for a minute is closed too,
    /// so that a stalled client cannot hold up a SIGTERM for ever.
    static func httpsServer(tls: TLSConfiguration, requestTimeout: Double, logger: Logger) -> HTTPServerBuilder {
        let timeout = TimeAmount.milliseconds(Int64(requestTimeout * 1000))
        return HTTPServerBuilder { responder in
            try TLSChannel(
                WatchedChannel(
                    base: HTTP1Channel(
                        responder: responder,
                        configuration: .init(
                            additionalChannelHandlers: [ProtocolGuard(requestTimeout: timeout, logger: logger)],
                            idleTimeout: .seconds(60)))),
                tlsConfiguration: tls)
        }
    }

    /// TLS 1.3, or TLS 1.2 with ECDHE key exchange and an AEAD cipher (AES-GCM, ChaCha20-Poly1305) only: no
    /// CBC suite, no SHA-1 MAC, no static RSA key exchange. (TLS 1.3's suites are all AEAD.)
    static let cipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// TLS 1.2 or later with modern suites only; a client certificate is verified against the client CA when
    /// one is presented (parties may use bearer tokens instead).
    private func tlsConfiguration(local: LocalCertificates) throws -> TLSConfiguration {
        let certificatePath = config.serverCertificate ?? local.serverCertificate.path
        let keyPath = config.serverKey ?? local.serverKey.path
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        tls.cipherSuites = Self.cipherSuites
        tls.certificateVerification = .optionalVerification
        tls.trustRoots = .file(config.clientCA ?? local.caCertificate.path)
        tls.shutdownTimeout = .milliseconds(500)
        return tls
    }

    static func firstMessageHelp(config: DaemonConfig, local: LocalCertificates, port: Int) -> String {
        let jobcentre = config.parties.first { $0.party.kind == .jobcentre && $0.certificateName != nil }
        let prime = config.parties.first { $0.party.kind == .prime && $0.certificateName != nil }
        guard let jobcentreName = jobcentre?.certificateName, let primeName = prime?.certificateName, let jobcentre, let prime
        else { return "" }
        let (jobcentreCertificate, jobcentreKey) = local.client(jobcentreName)
        let (primeCertificate, primeKey) = local.client(primeName)
        let today = UKTime.localDate(at: Date())
        let body =
            #"{"id":"\#(UUID().uuidString.lowercased())","type":"wp.referral","to":"\#(prime.party.id)","nino":"AB123456C","sentAt":"\#(Timestamp.format(Date()))","body":{"referralDate":"\#(today)","benefit":"JSA","mandatory":true}}"#
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

/// The daemon could not listen where it was told: said with the address and the setting that names it.
public struct ListenFailure: Error, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let errno: Int32

    public var description: String {
        let reason: String
        let key: String
        switch errno {
        case EADDRINUSE: (reason, key) = ("the address is already in use (another liaison, or another server?)", "listen.port")
        case EACCES: (reason, key) = ("permission denied (ports below 1024 need privileges)", "listen.port")
        case EADDRNOTAVAIL: (reason, key) = ("no interface of this machine has that address", "listen.host")
        default: (reason, key) = (String(cString: strerror(errno)), "listen.host and listen.port")
        }
        return "cannot listen on \(host):\(port): \(reason); see \(key) in liaison.yaml (or --port)"
    }
}
