import Foundation

/// A message Liaison itself sends: a timer's reminder or escalation, or a clerical task. Signed
/// `from: "liaison"`, one per address.
public struct GeneratedMessage: Sendable, Equatable {
    public let id: String
    public let type: MessageType
    public let to: Address
    /// The case's NINO; never on a clerical task.
    public let nino: NINO?
    public let sentAt: Date
    /// Always holds `regarding` and `date`.
    public let body: [String: JSONValue]

    public init(id: String, type: MessageType, to: Address, nino: NINO?, sentAt: Date, body: [String: JSONValue]) {
        self.id = id
        self.type = type
        self.to = to
        self.nino = nino
        self.sentAt = sentAt
        self.body = body
    }

    /// The message as JSON: `{id, type, from, to, nino?, sentAt, body}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "type": .string(type.rawValue), "from": .string(SubmissionDesk.routerPartyID),
            "to": .string(to.description), "sentAt": .string(Timestamp.format(sentAt)), "body": .object(body),
        ]
        if let nino { object["nino"] = .string(nino.value) }
        return .object(object)
    }
}
