import Foundation

/// Takes a submitted message from the authenticated party to a stored answer: parse, idempotency,
/// validation, the case rules, and the store, in CATALOGUE.md's order. The daemon and `liaison replay`
/// both call it; only the clock and the store's location differ.
public struct SubmissionDesk: Sendable {
    /// The party id Liaison signs its own messages with.
    public static let routerPartyID = "liaison"

    public let rules: CaseRules
    private let reader: EnvelopeReader

    public init(context: RuleContext) {
        self.rules = CaseRules(context: context)
        self.reader = EnvelopeReader(rules: context.rules, directory: context.directory)
    }

    /// The answer to one submission.
    public struct Answer: Sendable {
        public let status: Int
        /// The JSON the API answers: the acceptance, or an RFC 9457 problem.
        public let response: JSONValue
        /// The canonical text of `response`, as stored and as answered.
        public let responseText: String
        /// What Liaison generated in the step: timers that fell due, clerical tasks.
        public let emitted: [GeneratedMessage]
        /// The same id and content were accepted before; nothing new was stored.
        public let replayed: Bool
        /// For logs: the id, type and masked NINO when readable.
        public let messageID: String?
        public let type: String?
        public let maskedNINO: String?
        public let refusal: Refusal?

        /// The inbox addresses an acceptance was routed to, as its answer lists them.
        public var routedTo: [String] { response["routedTo"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    }

    /// A submission read and validated ahead of its store transaction: the work that needs no store, so
    /// that request handlers can do it in parallel and the single writer only decides and stores.
    public struct Prepared: Sendable {
        let sender: String
        /// The parsed body, or why it is not JSON.
        let document: Result<JSONValue, JSONValue.ParseError>
        /// The canonical content compared on resubmission.
        let content: String
        /// The envelope, or the validation refusal (applied only if the id is not already accepted).
        let envelope: Result<Envelope, Refusal>?
        /// The NINO masked for logs, when the body has one: made here, not by the single writer.
        let maskedNINO: String?
        /// The staff member who sent it from the staff pages, if one did.
        public var staffMember: String?

        /// The claimant the message is about, when it is valid: its messages are judged one at a time.
        public var personKey: String? { (try? envelope?.get())?.nino.personKey }

        /// The id the submission carries, as its earlier message would be stored under.
        public var messageID: String? {
            if case .success(let document) = self.document { document["id"]?.stringValue } else { nil }
        }

        /// Whether the body is a valid message (its id may still turn out to be a resubmission).
        public var isValid: Bool {
            if case .success = envelope { true } else { false }
        }
    }

    /// Parses and validates a request body from `sender`, received at `receivedAt`.
    public func prepare(_ body: [UInt8], from sender: String, at receivedAt: Date) -> Prepared {
        do {
            return prepare(try JSONValue.parse(body), from: sender, at: receivedAt)
        } catch let error as JSONValue.ParseError {
            return Prepared(sender: sender, document: .failure(error), content: "", envelope: nil, maskedNINO: nil)
        } catch {
            return Prepared(
                sender: sender, document: .failure(JSONValue.ParseError(offset: 0, reason: "\(error)")), content: "",
                envelope: nil, maskedNINO: nil)
        }
    }

    /// Validates an already-parsed document from `sender`, received at `receivedAt`.
    public func prepare(_ document: JSONValue, from sender: String, at receivedAt: Date) -> Prepared {
        let document = EnvelopeReader.withNormalisedID(document)
        let envelope: Result<Envelope, Refusal>
        do {
            envelope = .success(try reader.read(document, sender: sender, receivedAt: receivedAt))
        } catch let refusal as Refusal {
            envelope = .failure(refusal)
        } catch {
            envelope = .failure(Refusal(.invalidMessage, "\(error)"))
        }
        // A valid envelope already holds the document with `from` filled in, and the NINO read; only otherwise
        // are they taken from the document.
        let valid = try? envelope.get()
        let withSender = valid?.json ?? EnvelopeReader.withSender(document, sender: sender)
        let maskedNINO = valid?.nino.masked ?? masked(document)
        return Prepared(
            sender: sender, document: .success(document), content: withSender.canonicalText, envelope: envelope,
            maskedNINO: maskedNINO)
    }

    /// Submits `body` from `sender`, received at `now`, inside the store transaction `store`.
    /// - Throws: only store errors; every refusal is an `Answer`.
    public func submit(_ body: [UInt8], from sender: String, at now: Date, in store: any CaseStoreTransaction) throws
        -> Answer
    {
        try submit(prepare(body, from: sender, at: now), at: now, in: store)
    }

    /// Submits an already-parsed document.
    public func submit(_ document: JSONValue, from sender: String, at now: Date, in store: any CaseStoreTransaction)
        throws -> Answer
    {
        try submit(prepare(document, from: sender, at: now), at: now, in: store)
    }

    /// Submits a prepared submission, received at `now`, inside the store transaction `store`: idempotency,
    /// then validation's verdict, then the case rules, in CATALOGUE.md's order.
    /// - Throws: only store errors; every refusal is an `Answer`.
    public func submit(_ prepared: Prepared, at now: Date, in store: any CaseStoreTransaction) throws -> Answer {
        let sender = prepared.sender
        let document: JSONValue
        switch prepared.document {
        case .failure(let error):
            return try refuse(
                Refusal(.malformedJSON, "the body is not JSON: \(error)"), document: nil, maskedNINO: nil, sender: sender, at: now,
                in: store)
        case .success(let parsed):
            document = parsed
        }
        if let id = document["id"]?.stringValue, let found = try store.earlierMessage(id: id) {
            // Only the party that sent it may have its answer again; to anyone else, and for an id Liaison gave
            // a message of its own, the id is simply taken.
            // Compared as stored first; only content that differs is read again in today's form, in case an
            // earlier build stored it (same message, an upper-case id or a default left out).
            guard case .accepted(let earlier, let earlierSender) = found, earlierSender == sender,
                earlier.content == prepared.content || EnvelopeReader.normalisedContent(earlier.content) == prepared.content
            else {
                return try refuse(
                    Refusal(.idConflict, "id \(id) was already used for a message with different content"), document: document,
                    maskedNINO: prepared.maskedNINO, sender: sender, at: now, in: store)
            }
            return Answer(
                status: earlier.status, response: earlier.response, responseText: earlier.responseText, emitted: [],
                replayed: true, messageID: id,
                type: document["type"]?.stringValue, maskedNINO: prepared.maskedNINO, refusal: nil)
        }

        let envelope: Envelope
        switch prepared.envelope ?? .failure(Refusal(.invalidMessage, "not validated")) {
        case .failure(let refusal):
            return try refuse(refusal, document: document, maskedNINO: prepared.maskedNINO, sender: sender, at: now, in: store)
        case .success(let valid):
            envelope = valid
        }
        let content = prepared.content

        let stored = try store.person(key: envelope.nino.personKey)
        var person = stored
        var emitted: [GeneratedMessage] = []
        if var due = person {
            emitted += rules.fireDueTimers(&due, at: now)
            person = due
        }

        switch rules.decide(envelope, person: person, at: now) {
        case .refused(let refusal, var generated):
            // An SCR message sent again (a client retrying after a lost answer, say) is refused again, but the
            // nominated officer already has its clerical task. One sent again with another type, or about a
            // claimant of another jobcentre, makes a task of its own.
            generated = try generated.filter { message in
                guard message.type == .clericalTask else { return true }
                return try !store.hasClericalTask(like: message)
            }
            if let person, !emitted.isEmpty { try store.save(person, replacing: stored) }
            for message in emitted { try store.recordGenerated(message, personKey: envelope.nino.personKey, cause: "timer") }
            for message in generated { try store.recordGenerated(message, personKey: nil, cause: envelope.id) }
            var answer = try refuse(refusal, document: document, maskedNINO: prepared.maskedNINO, sender: sender, at: now, in: store)
            answer = Answer(
                status: answer.status, response: answer.response, responseText: answer.responseText,
                emitted: emitted + generated, replayed: false,
                messageID: envelope.id, type: envelope.type.rawValue, maskedNINO: prepared.maskedNINO, refusal: refusal)
            return answer

        case .accepted(var ruling):
            let response: JSONValue = .object([
                "id": .string(envelope.id),
                "status": .string("accepted"),
                "routedTo": .array(ruling.routes.map { .string($0.description) }),
                "decision": ruling.decision.json,
            ])
            let fired = rules.fireDueTimers(&ruling.person, at: now)
            try store.save(ruling.person, replacing: stored)
            let storedAnswer = StoredAnswer(content: content, status: 202, response: response)
            try store.recordAccepted(
                AcceptedMessage(
                    envelope: envelope, receivedAt: now, routes: ruling.routes, answer: storedAnswer,
                    staffMember: prepared.staffMember))
            for message in emitted + fired {
                try store.recordGenerated(message, personKey: ruling.person.key, cause: "timer")
            }
            return Answer(
                status: 202, response: response, responseText: storedAnswer.responseText, emitted: emitted + fired,
                replayed: false, messageID: envelope.id,
                type: envelope.type.rawValue, maskedNINO: prepared.maskedNINO, refusal: nil)
        }
    }

    /// Fires every timer due at or before `now`, across all claimants.
    /// - Returns: the messages emitted.
    public func fireDueTimers(at now: Date, in store: any CaseStoreTransaction) throws -> [GeneratedMessage] {
        try store.personKeysWithTimers(dueBy: now).flatMap { try fireDueTimers(of: $0, at: now, in: store) }
    }

    /// Fires the timers of the claimant with `key` due at or before `now`.
    /// - Returns: the messages emitted.
    public func fireDueTimers(of key: String, at now: Date, in store: any CaseStoreTransaction) throws -> [GeneratedMessage] {
        guard let stored = try store.person(key: key) else { return [] }
        var person = stored
        let fired = rules.fireDueTimers(&person, at: now)
        try store.save(person, replacing: stored)
        for message in fired { try store.recordGenerated(message, personKey: key, cause: "timer") }
        return fired
    }

    private func refuse(
        _ refusal: Refusal, document: JSONValue?, maskedNINO: String?, sender: String, at now: Date,
        in store: any CaseStoreTransaction
    ) throws -> Answer {
        // Only an id that is a UUID and a type of the catalogue are kept and logged: anything else in those
        // fields is the sender's text, which could be a NINO or part of a body.
        let id = document?["id"]?.stringValue.flatMap { UUIDText.isValid($0) ? $0 : nil }
        let type = document?["type"]?.stringValue.flatMap { MessageType(rawValue: $0)?.rawValue }
        try store.recordRefusal(
            RefusalRecord(
                messageID: id, sender: sender, type: type, code: refusal.code, detail: refusal.detail,
                maskedNINO: maskedNINO, receivedAt: now))
        let problem = refusal.problemDocument
        return Answer(
            status: refusal.code.status, response: problem, responseText: problem.canonicalText, emitted: [],
            replayed: false,
            messageID: id, type: type, maskedNINO: maskedNINO, refusal: refusal)
    }

    private func masked(_ document: JSONValue) -> String? {
        document["nino"]?.stringValue.map { NINO($0)?.masked ?? NINO.mask(String($0.prefix(16))) }
    }
}
