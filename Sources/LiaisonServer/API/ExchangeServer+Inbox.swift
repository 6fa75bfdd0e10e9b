import Foundation
import Hummingbird
import LiaisonCore
import LiaisonStore
import NIOCore

/// Pull inboxes: `GET /v1/inbox/{role}` and `POST /v1/inbox/{role}/ack`.
extension ExchangeServer {
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
    func pull(_ request: Request, role: String, context: ExchangeContext) async throws -> Response {
        let address: String
        switch pullAddress(role: role, party: try context.authenticatedParty()) {
        case .success(let found): address = found
        case .failure(let refusal): return problem(refusal)
        }
        // At most 1,000 at a time; a larger limit (however large) is taken as 1,000, a limit that is not a
        // positive whole number is refused rather than guessed at.
        var limit = 100
        if let given = request.uri.queryParameters.get("limit") {
            let digits = given.utf8.drop { $0 == UInt8(ascii: "0") }
            guard !digits.isEmpty, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
                return problem(Refusal.invalid("limit", "must be a whole number of at least 1 (at most 1000 are handed out)"))
            }
            limit = digits.count > 4 ? 1000 : min(Int(String(decoding: digits, as: UTF8.self)) ?? 1000, 1000)
        }
        let now = Date().timeIntervalSince1970
        let chosen = limit
        let lease = try await Self.offStore {
            try queue.lease(
                address: address, limit: chosen, now: now, lease: config.delivery.pullLeaseSeconds,
                lifetime: config.delivery.lifetimeSeconds)
        }
        for seq in lease.unreadable {
            logger.error(
                "copy expired: not readable with its message; kept for an operator", metadata: ["copy-seq": "\(seq)", "inbox": "\(address)"])
        }
        let messages: [JSONValue] = lease.copies.map { copy in
            .object(["id": .string(copy.id), "message": (try? JSONValue.parse(copy.deliveryBody())) ?? .null])
        }
        // One line per copy handed out, as for a push attempt.
        for copy in lease.copies {
            logger.info(
                "pulled",
                metadata: [
                    "message": "\(copy.messageID)", "type": "\(copy.type)", "inbox": "\(address)", "attempt": "\(copy.attempts + 1)",
                    "nino": "\(copy.maskedNINO ?? "-")",
                ])
        }
        // When the lease ends: copies not acknowledged by then go back to the queue. And how many copies wait
        // behind a claimant's earlier copy still leased (per-claimant order), so that a short pull explains itself.
        let leasedUntil = Timestamp.format(Date(timeIntervalSince1970: now + config.delivery.pullLeaseSeconds))
        return Self.json(
            .ok,
            .object([
                "messages": .array(messages), "leasedUntil": .string(leasedUntil),
                "waitingBehindLeased": .int(lease.waitingBehindEarlier),
            ]))
    }

    /// `POST /v1/inbox/{role}/ack` with `{"ids": [...]}`.
    func acknowledge(_ request: Request, role: String, context: ExchangeContext) async throws -> Response {
        var request = request
        let party = try context.authenticatedParty()
        let address: String
        switch pullAddress(role: role, party: party) {
        case .success(let found): address = found
        case .failure(let refusal): return problem(refusal)
        }
        guard MediaType.isJSON(request.headers[.contentType]) else { return refusedUnread(unsupportedMediaType, party: party) }
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
            return problem(
                Refusal(
                    .invalidMessage, "\(malformed.count) of the ids are not copy ids of this inbox",
                    errors: malformed.map { FieldProblem(field: "ids[\($0)]", problem: "is not a copy id of this inbox as pulled, nor a message id") }
                ))
        }
        let done = try await Self.offStore { try queue.acknowledge(address: address, ids: copyIDs, now: Date().timeIntervalSince1970) }
        for id in done { logger.info("delivered", metadata: ["copy": "\(id)", "inbox": "\(address)", "by": "acknowledgement"]) }
        metrics.pulledDelivered(inbox: address, count: done.count)
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
}
