import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import LiaisonCore
import LiaisonRuntime
import LiaisonStore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The HTTPS API of PROTOCOL.md: submit, look up, pull and acknowledge, health, readiness and metrics.
struct ExchangeServer: Sendable {
    let config: DaemonConfig
    let committer: GroupCommitter
    let queue: DeliveryQueue
    let queueOperator: QueueOperator
    let authenticator: Authenticator
    let rateLimiter: RateLimiter
    let metrics: ExchangeMetrics
    let state: DaemonState
    let logger: Logger

    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!
    static let retryAfterHeader = HTTPField.Name("Retry-After")!
    static let challengeHeader = HTTPField.Name("WWW-Authenticate")!

    func router() -> Hummingbird.Router<ExchangeContext> {
        let router = Hummingbird.Router(context: ExchangeContext.self)
        // First, so that it wraps every route and the answer to a path that matches none.
        router.add(middleware: ProblemAnswers(server: self))
        // Probes too must come from a configured party (PROTOCOL.md: no unauthenticated request reaches a
        // handler), but they are not rate limited and answer while the daemon drains.
        let probes = router.group().add(middleware: Gatekeeper(server: self, admitsProbes: true))
        probes.get("/healthz") { _, _ in Self.json(.ok, .object(["status": .string("ok")])) }
        probes.get("/readyz") { _, _ in
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
        let api = router.group().add(middleware: Gatekeeper(server: self, admitsProbes: false))
        api.post("/v1/messages") { request, context in try await submit(request, context: context) }
        api.get("/v1/messages/{id}") { _, context in try await lookUp(context.parameters.require("id"), context: context) }
        api.get("/v1/inbox/{role}") { request, context in
            try await pull(request, role: context.parameters.require("role"), context: context)
        }
        api.post("/v1/inbox/{role}/ack") { request, context in
            try await acknowledge(request, role: context.parameters.require("role"), context: context)
        }
        // Like the probes, not rate limited and answered while draining, when an operator most wants it; but
        // only to the parties allowed to see every inbox's queue.
        probes.get("/metrics") { _, context in
            guard config.metricsReaders.contains(context.party!) else {
                return problem(Refusal(.notPermitted, "\(context.party!) may not read the metrics: see metricsReaders in the configuration"))
            }
            let counts = try await Self.offStore {
                try queueOperator.pool.read { db in
                    try Row.fetchAll(db, sql: "SELECT address, state, n FROM queue_count ORDER BY address, state")
                        .map { (inbox: $0["address"] as String, state: $0["state"] as String, count: $0["n"] as Int) }
                }
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render(queue: counts))))
        }
        return router
    }

    // MARK: Handlers

    private func submit(_ request: Request, context: ExchangeContext) async throws -> Response {
        var request = request
        let sender = context.party!
        if let length = request.headers[.contentLength].flatMap(Int.init), length > config.maxBodyBytes {
            return await tooLarge(Refusal(.tooLarge, "the body is \(length) bytes; the limit is \(config.maxBodyBytes)"), from: sender)
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: config.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            return await tooLarge(bodyOverLimit, from: sender)
        }
        let answer: LiaisonCore.Router.Answer
        do {
            answer = try await committer.submit(Array(buffer: body), from: sender)
        } catch {
            logger.error("message not stored: store unavailable", metadata: ["sender": "\(sender)", "error": "\(error)"])
            return problem(Refusal(.unavailable, "the message could not be stored durably; nothing was kept"), retryAfter: 5)
        }
        var metadata: Logger.Metadata = [
            "id": .string(answer.messageID ?? "-"), "type": .string(answer.type ?? "-"),
            "nino": .string(answer.maskedNINO ?? "-"), "sender": .string(sender), "status": .string(String(answer.status)),
        ]
        if answer.replayed {
            metrics.replayed()
            logger.info("resubmission answered as before", metadata: metadata)
        } else if let refusal = answer.refusal {
            metrics.refused(code: refusal.code.rawValue)
            metadata["code"] = "\(refusal.code.rawValue)"
            if refusal.code == .unavailable {
                // The rules could not judge it until operators act (a working-day count past the bank-holiday
                // data): said loudly, with why (dates and field names only), while the sender sends again.
                metadata["detail"] = .string(refusal.detail)
                logger.error("refused until operators act", metadata: metadata)
            } else {
                logger.info("refused", metadata: metadata)
            }
        } else {
            metrics.accepted(type: answer.type ?? "?")
            metadata["outcome"] = .string(answer.response["decision"]?["outcome"]?.stringValue ?? "-")
            metadata["routedTo"] = .string(answer.routedTo.joined(separator: ","))
            logger.info("accepted", metadata: metadata)
        }
        for message in answer.emitted {
            logger.info(
                "emitted", metadata: ["id": "\(message.id)", "type": "\(message.type.rawValue)", "to": "\(message.to)"])
        }
        var response = Self.json(
            HTTPResponse.Status(code: answer.status), text: answer.responseText,
            contentType: answer.status == 202 ? "application/json" : "application/problem+json")
        if answer.replayed { response.headers[Self.replayedHeader] = "true" }
        // Only operators can mend what the rules answer 503 for: the sender is asked back in an hour.
        if answer.status == 503 { response.headers[Self.retryAfterHeader] = "3600" }
        return response
    }

    /// A body over the limit is refused unread: it is counted, logged and kept in the audit log like any
    /// other refusal, with no id, type or NINO, since none was read.
    private func tooLarge(_ refusal: Refusal, from sender: String) async -> Response {
        do {
            let record = RefusalRecord(
                messageID: nil, sender: sender, type: nil, code: refusal.code, detail: refusal.detail, maskedNINO: nil,
                receivedAt: Date())
            try await Self.offStore { try committer.recordRefusal(record) }
        } catch {
            logger.error("refusal not kept in the audit log: store unavailable", metadata: ["error": "\(error)"])
        }
        return refusedUnread(refusal, party: sender)
    }

    /// A body that `collectBody` stopped reading at the limit.
    var bodyOverLimit: Refusal { Refusal(.tooLarge, "the body is over the limit of \(config.maxBodyBytes) bytes") }

    /// `GET /v1/messages/{id}`: for the sender or a recipient only; anyone else is told it does not exist.
    /// The sender sees every route; a recipient only its own. Delivery errors (curl's text names the
    /// inbox's host) are shown only to the party whose inbox it is.
    private func lookUp(_ given: String, context: ExchangeContext) async throws -> Response {
        let party = context.party!
        guard UUIDText.isValid(given) else {
            // Not repeated: the text could be anything, a NINO included.
            return problem(Refusal(.notFound, "no message with that id: message ids are UUIDs"))
        }
        let id = UUIDText.normalised(given)
        struct Found: Sendable {
            let id: String, type: String, sender: String, receivedAt: Double, decision: String?
        }
        let (message, details) = try await Self.offStore {
            let message = try queueOperator.pool.read { db in
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT id, type, sender, received_at, json_extract(answer, '$.decision') AS decision
                        FROM message WHERE id = ?
                        """, arguments: [id]
                ).map { row in
                    Found(id: row["id"], type: row["type"], sender: row["sender"], receivedAt: row["received_at"], decision: row["decision"])
                }
            }
            return (message, message == nil ? [] : try queueOperator.show(id))
        }
        func isOwn(_ detail: CopyDetail) -> Bool { Address(detail.copy.inbox)?.party == party }
        guard let message, message.sender == party || details.contains(where: isOwn) else {
            return problem(Refusal(.notFound, "no message \(id) that this party sent or received"))
        }
        let visible = message.sender == party ? details : details.filter(isOwn)
        let routes: [JSONValue] = visible.map { detail in
            let own = isOwn(detail)
            return .object([
                "copyId": .string(detail.copy.id), "address": .string(detail.copy.inbox), "state": .string(detail.copy.state),
                "attempts": .int(detail.copy.attempts),
                "events": .array(detail.events.map { event in
                    var fields: [String: JSONValue] = ["at": .string(event.at), "state": .string(event.state)]
                    if let reason = event.reason { fields["reason"] = .string(reason) }
                    if let status = event.httpStatus { fields["httpStatus"] = .int(status) }
                    if let error = event.error { fields["error"] = .string(own ? error : "delivery failed") }
                    return .object(fields)
                }),
            ])
        }
        let states = Set(visible.map(\.copy.state))
        let overall = states.isEmpty ? "accepted" : (states == ["delivered"] ? "delivered" : states.sorted().joined(separator: ","))
        var object: [String: JSONValue] = [
            "id": .string(message.id), "type": .string(message.type), "from": .string(message.sender),
            "acceptedAt": .string(Timestamp.format(Date(timeIntervalSince1970: message.receivedAt))),
            "state": .string(overall), "routes": .array(routes),
        ]
        if let decision = message.decision.flatMap({ try? JSONValue.parse($0) }) { object["decision"] = decision }
        return Self.json(.ok, .object(object))
    }

    private func pullAddress(role: String, party: String) -> Result<String, Refusal> {
        guard let inboxRole = InboxRole(rawValue: role) else {
            return .failure(Refusal(.notFound, "no such inbox role"))
        }
        let address = Address(party, inboxRole)
        switch config.inbox(address) {
        case .pull: return .success(address.description)
        case .push: return .failure(Refusal(.notPermitted, "\(address) is delivered by push, not pulled"))
        case nil: return .failure(Refusal(.notFound, "\(party) has no \(role) inbox"))
        }
    }

    /// `GET /v1/inbox/{role}?limit=N`: leases the oldest copies for a party with no push endpoint.
    private func pull(_ request: Request, role: String, context: ExchangeContext) async throws -> Response {
        let address: String
        switch pullAddress(role: role, party: context.party!) {
        case .success(let found): address = found
        case .failure(let refusal): return problem(refusal)
        }
        // At most 1,000 at a time; a larger limit is taken as 1,000, a limit that is not a positive whole number
        // is refused rather than guessed at.
        var limit = 100
        if let given = request.uri.queryParameters.get("limit") {
            guard let number = Int(given), number >= 1 else {
                return problem(Refusal.invalid("limit", "must be a whole number from 1 to 1000"))
            }
            limit = min(number, 1000)
        }
        let now = Date().timeIntervalSince1970
        let chosen = limit
        let (copies, unreadable) = try await Self.offStore {
            try queue.lease(
                address: address, limit: chosen, now: now, lease: config.delivery.pullLeaseSeconds,
                lifetime: config.delivery.lifetimeSeconds)
        }
        for seq in unreadable {
            logger.error(
                "copy expired: not readable with its message; kept for an operator", metadata: ["copy-seq": "\(seq)", "inbox": "\(address)"])
        }
        let messages: [JSONValue] = copies.map { copy in
            .object(["id": .string(copy.id), "message": (try? JSONValue.parse(copy.deliveryBody())) ?? .null])
        }
        // One line per copy handed out, as for a push attempt.
        for copy in copies {
            logger.info(
                "pulled",
                metadata: [
                    "message": "\(copy.messageID)", "type": "\(copy.type)", "inbox": "\(address)", "attempt": "\(copy.attempts + 1)",
                    "nino": "\(copy.personKey.map(NINO.maskPersonKey) ?? "-")",
                ])
        }
        // When the lease ends: copies not acknowledged by then go back to the queue.
        let leasedUntil = Timestamp.format(Date(timeIntervalSince1970: now + config.delivery.pullLeaseSeconds))
        return Self.json(.ok, .object(["messages": .array(messages), "leasedUntil": .string(leasedUntil)]))
    }

    /// `POST /v1/inbox/{role}/ack` with `{"ids": [...]}`.
    private func acknowledge(_ request: Request, role: String, context: ExchangeContext) async throws -> Response {
        var request = request
        let address: String
        switch pullAddress(role: role, party: context.party!) {
        case .success(let found): address = found
        case .failure(let refusal): return problem(refusal)
        }
        // A body over the limit throws NIOTooManyBytesError, which ProblemAnswers answers 413 too-large.
        let body = try await request.collectBody(upTo: config.maxBodyBytes)
        guard let document = try? JSONValue.parse(String(buffer: body)) else {
            return problem(Refusal(.malformedJSON, "the body is not JSON"))
        }
        guard let ids = document["ids"]?.arrayValue?.compactMap(\.stringValue), ids.count == document["ids"]?.arrayValue?.count
        else {
            return problem(Refusal.invalid("ids", "must be a list of copy ids"))
        }
        // Each must be a copy id of this inbox as pulled (`<message id>/<party>/<role>`), or the message id
        // alone (`messages[].message.id`: an inbox has one copy of a message); one that is neither is named
        // by its place, not repeated, since it may be any text. Those that are can be repeated safely.
        let copyIDs = ids.map { UUIDText.isValid($0) ? "\($0)/\(address)" : $0 }
        let malformed = copyIDs.indices.filter { index in
            let parts = copyIDs[index].split(separator: "/", maxSplits: 1)
            return parts.count != 2 || !UUIDText.isValid(String(parts[0])) || parts[1] != address
        }
        if !malformed.isEmpty {
            return problem(Refusal(
                .invalidMessage, "\(malformed.count) of the ids are not copy ids of this inbox",
                errors: malformed.map { FieldProblem(field: "ids[\($0)]", problem: "is not a copy id of this inbox as pulled, nor a message id") }))
        }
        let done = try await Self.offStore { try queue.acknowledge(address: address, ids: copyIDs, now: Date().timeIntervalSince1970) }
        for id in done { logger.info("delivered", metadata: ["copy": "\(id)", "inbox": "\(address)", "by": "acknowledgement"]) }
        // Said, not only logged: a copy whose lease ran out before its acknowledgement is offered again, and
        // the puller should expect it. Each id is answered as it was given.
        let acknowledged = Set(done)
        let answered = ids.indices.map { (id: ids[$0], done: acknowledged.contains(copyIDs[$0])) }
        let ignored = answered.filter { !$0.done }.map(\.id)
        if !ignored.isEmpty {
            logger.info(
                "acknowledgement of copies not leased to this inbox ignored", metadata: ["inbox": "\(address)", "count": "\(ignored.count)"])
        }
        return Self.json(
            .ok,
            .object([
                "acknowledged": .array(answered.filter(\.done).map { .string($0.id) }),
                "notAcknowledged": .array(ignored.map(JSONValue.string)),
            ]))
    }

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
    func unauthenticated() -> Response {
        refusedUnread(Refusal(.unauthenticated, "send a bearer token or a client certificate of a configured party"), party: nil)
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

/// Answers every error that a handler throws, and a path that matches no route, as
/// `application/problem+json` with a stable code (PROTOCOL.md "Errors"): a body over the limit is 413
/// `too-large`, an unknown path 404 `not-found`, and anything else (the store failing) 503 `unavailable` with
/// `Retry-After`, logged without the request's body.
struct ProblemAnswers: RouterMiddleware {
    typealias Context = ExchangeContext
    let server: ExchangeServer

    func handle(_ request: Request, context: ExchangeContext, next: (Request, ExchangeContext) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch is NIOTooManyBytesError {
            return server.problem(server.bodyOverLimit)
        } catch is CancellationError {
            // The daemon is stopping and cancelled the work (past its shutdown bound): not a store failure.
            return server.problem(Refusal(.unavailable, "Liaison is shutting down; send again shortly"), retryAfter: 5)
        } catch let error as any HTTPResponseError where error.status == .notFound || error.status == .methodNotAllowed {
            // No route: still nothing for a caller without credentials but 401, so the routes cannot be mapped
            // anonymously. The path is not repeated: it is the caller's text, and could hold a NINO.
            guard await server.party(of: request, context: context) != nil else { return server.unauthenticated() }
            return server.problem(Refusal(.notFound, "no \(request.method) route for this path"))
        } catch {
            server.logger.error(
                "request failed: store unavailable",
                metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            return server.problem(Refusal(.unavailable, "the store could not be read or written; try again shortly"), retryAfter: 5)
        }
    }
}

/// Lets a request through only when its party is authenticated, the daemon is not draining, and the party
/// is within its rate limit; a probe (`admitsProbes`) only when its party is authenticated.
struct Gatekeeper: RouterMiddleware {
    typealias Context = ExchangeContext
    let server: ExchangeServer
    let admitsProbes: Bool

    func handle(_ request: Request, context: ExchangeContext, next: (Request, ExchangeContext) async throws -> Response)
        async throws -> Response
    {
        // Credentials first, also while draining, so that no answer tells a caller without them which paths exist.
        guard let party = await server.party(of: request, context: context) else { return server.unauthenticated() }
        guard admitsProbes || server.state.isAccepting else {
            return server.refusedUnread(
                Refusal(.unavailable, "Liaison is shutting down; send again shortly"), party: party, retryAfter: 5)
        }
        if !admitsProbes, let wait = server.rateLimiter.take(party, now: Date().timeIntervalSince1970) {
            return server.refusedUnread(
                Refusal(.rateLimited, "\(party) is over its request rate"), party: party, retryAfter: max(1, Int(wait.rounded(.up))))
        }
        var context = context
        context.party = party
        return try await next(request, context)
    }
}

/// Whether the daemon takes requests, and whether its store took its last write.
final class DaemonState: Sendable {
    /// How long a successful write shows the store writable, for readiness.
    static let writeFreshness: TimeInterval = 5

    private struct Store {
        var healthy = true
        /// When the store last took a write; nil after a failed one.
        var lastWrite: Date?
    }

    private let draining = Atomic<Bool>(false)
    private let store = Mutex(Store())

    var isAccepting: Bool { !draining.load(ordering: .relaxed) }
    var isStoreHealthy: Bool { store.withLock(\.healthy) }

    func drain() { draining.store(true, ordering: .relaxed) }

    /// Whether the store took a write in the last few seconds, which shows it writable.
    func hasFreshWrite(at now: Date) -> Bool {
        store.withLock { state in state.lastWrite.map { now.timeIntervalSince($0) < Self.writeFreshness } ?? false }
    }

    /// Records whether a write (a commit, or readiness's own) was stored, and when.
    func storeHealth(_ healthy: Bool, at when: Date = Date()) {
        store.withLock { $0 = Store(healthy: healthy, lastWrite: healthy ? when : nil) }
    }

    /// Why the daemon is not ready (PROTOCOL.md: the store writable, not draining), or nil when it is.
    ///
    /// A write in the last few seconds shows the store writable. Otherwise — an idle daemon, or one whose
    /// last commit failed — `probe` makes a small durable write, so that readiness notices a full disk
    /// before a submission does, and comes back when the disk does.
    func notReady(at now: Date, probe: () -> Bool) -> String? {
        guard isAccepting else { return "Liaison is shutting down" }
        if !hasFreshWrite(at: now) { storeHealth(probe(), at: now) }
        return isStoreHealthy ? nil : "the store cannot be written durably"
    }
}
