import Foundation

/// A validated message envelope (PROTOCOL.md "Envelope").
public struct Envelope: Sendable {
    /// The sender's UUID: the idempotency key.
    public let id: String
    public let type: MessageType
    /// The sending party, equal to the authenticated one.
    public let from: String
    /// The party it is addressed to, when given.
    public let to: String?
    public let sentAt: Date
    public let nino: NINO
    /// Special Customer Record.
    public let scr: Bool
    public let body: [String: JSONValue]
    /// The body as its type's typed value: what the rules read.
    public let message: MessageBody
    /// The envelope as JSON with `from` filled in: what is stored, delivered and compared on resubmission.
    public let json: JSONValue
}

/// Turns a submitted JSON document into an `Envelope`, or a refusal naming every bad field.
public struct EnvelopeReader: Sendable {
    private static let envelopeKeys: Set<String> = ["id", "type", "from", "to", "sentAt", "nino", "scr", "body"]
    let rules: RuleSet
    /// The configured parties, for the fields that must name one of a kind (a referral's `to`, a transfer's
    /// `newJobcentre`); without it those are checked only for their form.
    let directory: PartyDirectory?
    /// Each submittable type's body schema, built once from the rules rather than for every message.
    private let schemas: [MessageType: BodySchema]

    public init(rules: RuleSet, directory: PartyDirectory? = nil) {
        self.rules = rules
        self.directory = directory
        var schemas: [MessageType: BodySchema] = [:]
        for type in MessageType.allCases { schemas[type] = BodySchema.of(type, rules: rules) }
        self.schemas = schemas
    }

    /// The submission with `from` filled in from the authenticated party, and `scr` with its default (false),
    /// and a `to` of null left out, so that a resend that means the same compares the same (PROTOCOL.md: the
    /// same id with the same content answers as before). When the NINO was read, it is written back as
    /// normalised ("Normalise (strip spaces, upper-case), then validate"), so that what is stored, delivered
    /// and compared carries one form.
    public static func withSender(_ document: JSONValue, sender: String, nino: NINO? = nil) -> JSONValue {
        guard var fields = document.objectValue else { return document }
        if fields["from"] == nil || fields["from"] == .null { fields["from"] = .string(sender) }
        fillDefaults(&fields)
        if let nino { fields["nino"] = .string(nino.value) }
        return .object(fields)
    }

    private static func fillDefaults(_ fields: inout [String: JSONValue]) {
        if fields["scr"] == nil || fields["scr"] == .null { fields["scr"] = .bool(false) }
        if fields["to"] == .null { fields["to"] = nil }
    }

    /// Stored content in today's form: the id in lower case and the defaults filled in. Content stored by
    /// builds before ids and defaults were normalised (an upper-case id, `scr` left out) compares equal to a
    /// resend of the same message only in this form.
    /// - Returns: nil when `text` is not a JSON object.
    public static func normalisedContent(_ text: String) -> String? {
        guard case .object(var fields)? = try? JSONValue.parse(text) else { return nil }
        fillDefaults(&fields)
        return withNormalisedID(.object(fields)).canonicalText
    }

    /// The submission with its `id` in lower case when it is a UUID given in upper or mixed case: the same
    /// UUID, so the same message (PROTOCOL.md: the id is the idempotency key). Everything after reads,
    /// stores, compares and delivers that one form.
    public static func withNormalisedID(_ document: JSONValue) -> JSONValue {
        guard case .object(var fields) = document, let id = fields["id"]?.stringValue else { return document }
        let normalised = UUIDText.normalised(id)
        guard normalised != id else { return document }
        fields["id"] = .string(normalised)
        return .object(fields)
    }

    /// Validates the envelope and the type's body, and reads the body into its typed value.
    /// - Parameters:
    ///   - document: the parsed request body.
    ///   - sender: the authenticated party id.
    ///   - receivedAt: when Liaison received it: every date must fall in the rules' window around it.
    /// - Throws: `Refusal` with `unknown-type`, `invalid-nino`, `invalid-message` (all bad fields at once),
    ///   or `not-permitted` when `from` is not the authenticated party.
    public func read(_ document: JSONValue, sender: String, receivedAt: Date) throws -> Envelope {
        let window = DatesAllowed(rules.dates, receivedAt: receivedAt)
        guard let fields = document.objectValue else {
            throw Refusal.invalid("(message)", "must be a JSON object, not \(document.kindName)")
        }
        var problems = FieldProblem.unknownFields(
            fields.keys.filter { !Self.envelopeKeys.contains($0) }, under: nil, "is not an envelope field")
        func problem(_ field: String, _ text: String) { problems.append(FieldProblem(field: field, problem: text)) }

        let id = fields["id"]?.stringValue
        if fields["id"] == nil || fields["id"] == .null {
            problem("id", "is required")
        } else if !(id.map(UUIDText.isValid) ?? false) {
            problem("id", "must be a UUID")
        }

        guard let typeValue = fields["type"], typeValue != .null else {
            problem("type", "is required")
            throw Refusal(.invalidMessage, "the message has \(problems.count) invalid field(s)", errors: problems)
        }
        // A type only Liaison generates is in the catalogue: it reads like any other, and no party kind may
        // send it (`not-permitted`, after validation).
        guard let typeName = typeValue.stringValue, let type = MessageType(rawValue: typeName) else {
            // The type given is not repeated: the refusal is kept in the audit log, and the text could be anything.
            let detail =
                typeValue.stringValue == nil
                ? "the type is a \(typeValue.kindName), not one of the catalogue's names" : "the type is not in the catalogue"
            throw Refusal(
                .unknownType, detail,
                errors: [
                    FieldProblem(field: "type", problem: "must be one of the catalogue's message types")
                ])
        }

        var from = sender
        if let given = fields["from"], given != .null {
            if let text = given.stringValue { from = text } else { problem("from", "must be a string") }
        }
        var to: String?
        if let given = fields["to"], given != .null {
            if let text = given.stringValue, !text.isEmpty { to = text } else { problem("to", "must be a party id") }
        }
        // CATALOGUE.md: a referral's `to` is required and names a party of the right kind; this is validation,
        // so it comes before the sender's kind, SCR and the case are looked at.
        if let kind = type.referredTo {
            if fields["to"] == nil || fields["to"] == .null {
                problem("to", "is required on a referral")
            } else if let to, let directory, directory[to]?.kind != kind {
                problem("to", "must name a \(kind.rawValue) party")
            }
        }
        var sentAt = Date(timeIntervalSince1970: 0)
        if let given = fields["sentAt"], given != .null {
            if let text = given.stringValue, let parsed = Timestamp.parse(text) {
                sentAt = parsed
                if let implausible = window.sentAtProblem(parsed) { problem("sentAt", implausible) }
            } else {
                problem("sentAt", "must be an RFC 3339 date-time with an offset")
            }
        } else {
            problem("sentAt", "is required")
        }
        var scr = false
        if let given = fields["scr"], given != .null {
            if let flag = given.boolValue { scr = flag } else { problem("scr", "must be true or false") }
        }
        var nino: NINO?
        var ninoInvalid = false
        if let given = fields["nino"], given != .null {
            if let text = given.stringValue {
                nino = NINO(text)
                if nino == nil {
                    ninoInvalid = true
                    problem("nino", "is not a valid National Insurance number")
                }
            } else {
                problem("nino", "must be a string")
            }
        } else {
            problem("nino", "is required")
        }
        var body: [String: JSONValue] = [:]
        if let given = fields["body"], given != .null {
            if let object = given.objectValue {
                body = object
                if let schema = schemas[type] {
                    problems += schema.problems(in: object, window: window)
                }
                problems += crossFieldProblems(type: type, body: object)
                if type == .cwpClaimTransfer, let directory, let named = object["newJobcentre"]?.stringValue,
                    directory[named]?.kind != .jobcentre
                {
                    problem("body.newJobcentre", "must name a jobcentre party")
                }
            } else {
                problem("body", "must be a JSON object, not \(given.kindName)")
            }
        } else {
            problem("body", "is required")
        }

        if ninoInvalid {
            throw Refusal(.invalidNINO, "the NINO fails validation", errors: problems)
        }
        guard problems.isEmpty, let id, let nino else {
            throw Refusal(.invalidMessage, "the message has \(problems.count) invalid field(s)", errors: problems)
        }
        guard from == sender else {
            throw Refusal(.notPermitted, "from must be the authenticated party")
        }
        return Envelope(
            id: id, type: type, from: from, to: to, sentAt: sentAt, nino: nino, scr: scr, body: body,
            message: try MessageBody(type, BodyFields(body)), json: Self.withSender(document, sender: sender, nino: nino))
    }

    /// Checks that span fields, once each field is well-formed on its own.
    private func crossFieldProblems(type: MessageType, body: [String: JSONValue]) -> [FieldProblem] {
        switch type {
        case .cwpAbsence:
            if let from = body["from"]?.stringValue.flatMap(LocalDate.init),
                let to = body["to"]?.stringValue.flatMap(LocalDate.init), to < from
            {
                return [FieldProblem(field: "body.to", problem: "must not be before body.from")]
            }
        default:
            break
        }
        return []
    }
}
