import Foundation
import HTTPTypes
import Hummingbird
import LiaisonCore
import LiaisonStore
import Logging
import NIOCore

/// `POST /v1/messages` and `GET /v1/messages/{id}`.
extension ExchangeServer {
    func submit(_ request: Request, context: ExchangeContext) async throws -> Response {
        var request = request
        let sender = try context.authenticatedParty()
        guard MediaType.isJSON(request.headers[.contentType]) else {
            return refusedUnread(unsupportedMediaType, party: sender)
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > config.maxBodyBytes {
            return await tooLarge(Refusal(.tooLarge, "the body is \(length) bytes; the limit is \(config.maxBodyBytes)"), from: sender)
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: config.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            return await tooLarge(bodyOverLimit, from: sender)
        }
        let answer: LiaisonCore.SubmissionDesk.Answer
        let received = ContinuousClock.now
        do {
            answer = try await committer.submit(Array(buffer: body), from: sender)
            if answer.status == 202 { metrics.acknowledged(seconds: (ContinuousClock.now - received).seconds) }
        } catch {
            logger.error("message not stored: store unavailable", metadata: ["sender": "\(sender)", "error": "\(error)"])
            return problem(Refusal(.unavailable, "the message could not be stored durably; nothing was kept"), retryAfter: 5)
        }
        SubmissionLog(metrics: metrics, logger: logger).record(answer, from: sender)
        var response = Self.json(
            HTTPResponse.Status(code: answer.status), text: answer.responseText,
            contentType: answer.status == 202 ? "application/json" : "application/problem+json")
        if answer.replayed, let replayed = Self.replayedHeader { response.headers[replayed] = "true" }
        // Only operators can mend what the rules answer 503 for: the sender is asked back in an hour.
        if answer.status == 503 { response.headers[Self.retryAfterHeader] = "3600" }
        return response
    }

    /// 415 to a body that is not `application/json`.
    var unsupportedMediaType: Refusal {
        Refusal(.unsupportedMediaType, "send the body as Content-Type: application/json (charset utf-8, if any)")
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
    func lookUp(_ given: String, context: ExchangeContext) async throws -> Response {
        let party = try context.authenticatedParty()
        guard UUIDText.isValid(given) else {
            // Not repeated: the text could be anything, a NINO included.
            return problem(Refusal(.notFound, "no message with that id: message ids are UUIDs"))
        }
        let id = UUIDText.normalised(given)
        let (message, details, answeredBy) = try await Self.offStore {
            let message = try queueOperator.message(id: id)
            let answers = try message?.personKey.map { try queueOperator.answers(to: id, personKey: $0, visibleTo: party) } ?? []
            return (message, message == nil ? [] : try queueOperator.show(id), answers)
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
                "events": .array(
                    detail.events.map { event in
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
        // The thread it belongs to: the message it answers, and the answers to it this party may see.
        if let inReplyTo = message.inReplyTo { object["inReplyTo"] = .string(inReplyTo) }
        object["answeredBy"] = .array(answeredBy.map(JSONValue.string))
        return Self.json(.ok, .object(object))
    }
}
