import Foundation
import HTTPTypes
import Hummingbird
import LiaisonCore
import LiaisonRuntime
import LiaisonStore
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// The HTTPS API of PROTOCOL.md: submit, look up, pull and acknowledge, health, readiness and metrics. The
/// handlers are in `ExchangeServer+Messages` and `ExchangeServer+Inbox`.
struct ExchangeServer: Sendable {
    /// The configuration, credentials and rules in force, replaced by a reload (SIGHUP).
    let live: LiveSettings
    let committer: GroupCommitter
    let queue: DeliveryQueue
    let queueOperator: QueueOperator
    let rateLimiter: RateLimiter
    let metrics: ExchangeMetrics
    /// The certificates Liaison presents, for their expiry in the metrics (read again by a reload).
    let certificates: Guarded<[CertificateExpiry.Certificate]>
    let state: DaemonState
    /// The staff pages under `/ui/`, when served.
    let staffPages: StaffPages?
    let logger: Logger

    var config: DaemonConfig { live.snapshot.config }
    var authenticator: Authenticator { live.snapshot.authenticator }
    /// The OpenAPI document, made from the rules in force.
    var openAPI: String { live.snapshot.openAPI }

    /// PROTOCOL.md's header on a resend answered as before: a literal token, so always a name; were it not,
    /// the answer would go without it rather than the daemon trap.
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")
    static let retryAfterHeader = HTTPField.Name.retryAfter
    static let challengeHeader = HTTPField.Name.wwwAuthenticate

    /// Every endpoint, with who may reach it.
    var endpoints: Endpoints {
        var endpoints = Endpoints()
        endpoints.add(.get, "/healthz", .probe) { _, _ in Self.json(.ok, .object(["status": .string("ok")])) }
        endpoints.add(.get, "/readyz", .probe) { _, _ in try await readiness() }
        endpoints.add(.get, "/metrics", .probe) { _, context in try await metricsPage(context: context) }
        endpoints.add(.get, "/v1/openapi.json", .probe) { _, _ in Self.json(.ok, text: live.snapshot.openAPI, contentType: "application/json") }
        endpoints.add(.post, "/v1/messages", .api) { request, context in try await submit(request, context: context) }
        endpoints.add(.get, "/v1/messages/{id}", .api) { _, context in
            try await lookUp(context.parameters.require("id"), context: context)
        }
        endpoints.add(.get, "/v1/inbox/{role}", .api) { request, context in
            try await pull(request, role: context.parameters.require("role"), context: context)
        }
        endpoints.add(.post, "/v1/inbox/{role}/ack", .api) { request, context in
            try await acknowledge(request, role: context.parameters.require("role"), context: context)
        }
        return endpoints
    }

    func router() -> Hummingbird.Router<ExchangeContext> {
        let endpoints = self.endpoints
        let router = Hummingbird.Router(context: ExchangeContext.self)
        // Outermost, so that every answer is timed, by its route and status.
        router.add(middleware: RequestTiming(metrics: metrics))
        // First, so that it wraps every route and the answer to a path or method that matches none.
        router.add(middleware: ProblemAnswers(server: self, endpoints: endpoints))
        // Probes too must come from a configured party (PROTOCOL.md: no unauthenticated request reaches a
        // handler), but they are not rate limited and answer while the daemon drains.
        let probes = router.group().add(middleware: Gatekeeper(server: self, admitsProbes: true))
        let api = router.group().add(middleware: Gatekeeper(server: self, admitsProbes: false))
        for endpoint in endpoints.endpoints {
            let group = endpoint.access == .probe ? probes : api
            group.on(RouterPath(endpoint.path), method: endpoint.method, use: endpoint.handler)
        }
        staffPages?.register(on: router)
        return router
    }

    // MARK: Probes

    /// `GET /readyz`: not ready while draining or while the store takes no writes.
    private func readiness() async throws -> Response {
        // Draining: not ready, and no write to find that out.
        guard state.isAccepting else { return problem(Refusal(.unavailable, "Liaison is shutting down"), retryAfter: 5) }
        // A store write in the last few seconds shows it writable; only otherwise does readiness write one of
        // its own, off the handlers' threads. Never one here, on a handler's thread: had the last write just
        // gone stale meanwhile, its result stands.
        let now = Date()
        let probed: Bool? = state.hasFreshWrite(at: now) ? nil : try await Self.offStore { committer.probeStore() }
        if let reason = state.notReady(at: now, probe: { probed ?? state.isStoreHealthy }) {
            return problem(Refusal(.unavailable, reason), retryAfter: 5)
        }
        return Self.json(.ok, .object(["status": .string("ready")]))
    }

    /// `GET /metrics`: like the probes, not rate limited and answered while draining, when an operator most
    /// wants it; but only to the parties allowed to see every inbox's queue.
    private func metricsPage(context: ExchangeContext) async throws -> Response {
        let party = try context.authenticatedParty()
        guard config.metricsReaders.contains(party) else {
            return problem(Refusal(.notPermitted, "\(party) may not read the metrics: see metricsReaders in the configuration"))
        }
        let inboxes = config.inboxAddresses.map(\.description)
        var scraped = try await Self.offStore {
            ExchangeMetrics.State(
                inboxes: try queueOperator.status(now: Date().timeIntervalSince1970, inboxes: inboxes),
                blockedTimers: try queueOperator.blockedTimerCount())
        }
        scraped.certificates = certificates.value
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.render(scraped))))
    }

    // MARK: Store work

    /// Where handlers run their own store work (pulls, acknowledgements, lookups, readiness's write, the audit
    /// of a body over the limit): a write there waits for the store's lock behind a shared commit, and a
    /// read can be long, so neither may hold one of the few threads that run every request's handler. Threads
    /// of its own, a fixed number, that may block as long as the store makes them.
    private static let storeWork: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    /// Runs `work` on `storeWork` and returns what it returned.
    static func offStore<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await storeWork.runIfActive(work)
    }

    // MARK: Responses

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue, contentType: String = "application/json") -> Response {
        json(status, text: value.canonicalText, contentType: contentType)
    }

    /// A response whose JSON text is already made.
    static func json(_ status: HTTPResponse.Status, text: String, contentType: String) -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The party a request authenticates as: its bearer token's, or, with no bearer token, its verified
    /// client certificate's. A bearer token that matches no party is not made up for by a certificate; an
    /// `Authorization` header of another scheme (added by a proxy, say) is passed over.
    func party(of request: Request, context: ExchangeContext) async -> String? {
        if let header = request.headers[.authorization], Authenticator.isBearer(header) {
            return authenticator.party(forAuthorization: header)
        }
        guard let certificate = try? await context.channel.nioSSL_peerCertificate().get() else { return nil }
        return authenticator.party(forCertificate: certificate)
    }

    /// 401 to a request with no credentials of a configured party.
    /// Counted as a refused message only for a submission: a scrape or a probe without credentials is not a
    /// message.
    func unauthenticated(_ request: Request) -> Response {
        let refusal = Refusal(.unauthenticated, "send a bearer token or a client certificate of a configured party")
        guard request.method == .post, request.uri.path == "/v1/messages" else {
            logger.info("refused", metadata: ["sender": "-", "code": .string(refusal.code.rawValue), "status": "\(refusal.code.status)"])
            return problem(refusal)
        }
        return refusedUnread(refusal, party: nil)
    }

    /// A request refused before its body is read: counted and logged. Only a body over the limit is also kept
    /// in the store; those refused at the door (draining, no credentials, over the rate) are not, so that a
    /// flood of them never costs a commit.
    func refusedUnread(_ refusal: Refusal, party: String?, retryAfter: Int? = nil) -> Response {
        metrics.refused(code: refusal.code.rawValue)
        logger.info(
            "refused", metadata: ["sender": .string(party ?? "-"), "code": .string(refusal.code.rawValue), "status": "\(refusal.code.status)"])
        return problem(refusal, retryAfter: retryAfter)
    }

    func problem(_ refusal: Refusal, retryAfter: Int? = nil) -> Response {
        var response = Self.json(
            HTTPResponse.Status(code: refusal.code.status), refusal.problemDocument, contentType: "application/problem+json")
        if let retryAfter { response.headers[Self.retryAfterHeader] = String(retryAfter) }
        // A 401 names the scheme it takes (RFC 9110 §15.5.2); a client certificate is the other way in.
        if refusal.code == .unauthenticated { response.headers[Self.challengeHeader] = #"Bearer realm="liaison""# }
        return response
    }
}
