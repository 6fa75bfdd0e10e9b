import LiaisonCore
import Logging

/// One line per submission, and its count in the metrics, whichever way it came (the API, or a staff page):
/// what was accepted, refused or answered again, and what it emitted.
struct SubmissionLog: Sendable {
    let metrics: ExchangeMetrics
    let logger: Logger

    /// - Parameter staffMember: who sent it from the staff pages, if anyone did.
    func record(_ answer: LiaisonCore.SubmissionDesk.Answer, from sender: String, staffMember: String? = nil) {
        var metadata: Logger.Metadata = [
            "id": .string(answer.messageID ?? "-"), "type": .string(answer.type ?? "-"),
            "nino": .string(answer.maskedNINO ?? "-"), "sender": .string(sender), "status": .string(String(answer.status)),
        ]
        if let staffMember { metadata["staff"] = .string(staffMember) }
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
            logger.info("emitted", metadata: ["id": "\(message.id)", "type": "\(message.type.rawValue)", "to": "\(message.to)"])
        }
    }
}
