import Foundation
import LiaisonCore

/// What the staff pages read of the store: a party's inboxes with their waiting and overdue notices, a page of
/// one inbox, a message as its party may see it, a claimant's timeline as that party may see it; and "Done",
/// which acknowledges a copy as a pull's acknowledgement does. Reading never leases a copy, so a system pulling
/// the same inbox is not starved.
public struct StaffInbox: Sendable {
    let database: any SQLDatabase

    init(database: any SQLDatabase) {
        self.database = database
    }

    /// The states of a copy still waiting for its inbox.
    static let waitingStates = "('queued', 'in-flight', 'deferred', 'held')"

    /// How many notices wait in an inbox, and how many of them are past the date their answer was due.
    public struct Counts: Sendable, Equatable {
        public var waiting = 0
        public var overdue = 0

        public init(waiting: Int = 0, overdue: Int = 0) {
            self.waiting = waiting
            self.overdue = overdue
        }
    }

    /// The counts of each inbox, as of `today` (a notice is overdue the day after its due date).
    public func counts(inboxes: [String], today: LocalDate) throws -> [String: Counts] {
        try database.read { session in
            var counts: [String: Counts] = [:]
            for inbox in inboxes {
                let waiting =
                    try session.value(
                        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM queue_count WHERE address = ? AND state IN \(Self.waitingStates)",
                        [.text(inbox)])?.integer ?? 0
                let overdue =
                    try session.value(
                        "SELECT count(*) FROM copy WHERE address = ? AND due_date < ? AND state IN \(Self.waitingStates)",
                        [.text(inbox), .text(today.description)])?.integer ?? 0
                counts[inbox] = Counts(waiting: waiting, overdue: overdue)
            }
            return counts
        }
    }

    /// Which of an inbox's notices to list.
    public struct Filter: Sendable, Equatable {
        public var type: MessageType?
        public var overdueOnly = false
        /// A claimant's person key (the first eight characters of the NINO).
        public var personKey: String?

        public init(type: MessageType? = nil, overdueOnly: Bool = false, personKey: String? = nil) {
            self.type = type
            self.overdueOnly = overdueOnly
            self.personKey = personKey
        }
    }

    /// One notice in an inbox's list.
    public struct Notice: Sendable, Equatable {
        public let messageID: String
        public let type: String
        public let sender: String
        /// The claimant's NINO as sent (staff see it whole); nil for what has none.
        public let nino: String?
        public let receivedAt: Date
        public let dueDate: LocalDate?
        public let state: String
    }

    /// A page of an inbox's waiting notices, newest first, how many match in all, and which page it is: one past
    /// the last is the last.
    public func page(inbox: String, filter: Filter, today: LocalDate, limit: Int, page requested: Int) throws
        -> (rows: [Notice], total: Int, page: Int)
    {
        try database.read { session in
            var conditions = ["c.address = ?", "c.state IN \(Self.waitingStates)"]
            var arguments: [SQLValue] = [.text(inbox)]
            if let type = filter.type {
                conditions.append("m.type = ?")
                arguments.append(.text(type.rawValue))
            }
            if filter.overdueOnly {
                conditions.append("c.due_date < ?")
                arguments.append(.text(today.description))
            }
            if let key = filter.personKey {
                conditions.append("c.person_key = ?")
                arguments.append(.text(key))
            }
            let from = "FROM copy c JOIN message m ON m.seq = c.message_seq WHERE " + conditions.joined(separator: " AND ")
            let total = try session.value("SELECT count(*) \(from)", arguments)?.integer ?? 0
            let limit = max(1, limit)
            let page = min(max(1, requested), max(1, (total + limit - 1) / limit))
            let rows = try session.rows(
                """
                SELECT m.id, m.type, m.sender, \(session.dialect.jsonText("m.envelope", "nino")) AS nino, m.received_at, c.due_date, c.state
                \(from) ORDER BY c.seq DESC LIMIT ? OFFSET ?
                """, arguments + [.integer(Int64(limit)), .integer(Int64((page - 1) * limit))]
            ).map { row in
                Notice(
                    messageID: try row.text("id"), type: try row.text("type"), sender: try row.text("sender"), nino: row["nino"].text,
                    receivedAt: Date(timeIntervalSince1970: try row.real("received_at")),
                    dueDate: row["due_date"].text.flatMap(LocalDate.init), state: try row.text("state"))
            }
            return (rows, total, page)
        }
    }

    /// A message with what its party may see of it.
    public struct Message: Sendable {
        public let id: String
        public let type: String
        public let sender: String
        public let receivedAt: Date
        /// The envelope as stored (generated messages: as sent).
        public let envelope: JSONValue
        public let decision: JSONValue?
        /// Who sent it from the staff pages, if anyone did.
        public let staffMember: String?
        public let personKey: String?
        /// The inboxes of the party it was routed to, with their copies' states.
        public let copies: [(inbox: String, state: String, dueDate: LocalDate?)]
    }

    /// The message with `id`, if `party` sent it or received a copy: anyone else is told there is none.
    public func message(id: String, party: String) throws -> Message? {
        try database.read { session in
            guard
                let row = try session.row(
                    """
                    SELECT m.seq, m.id, m.type, m.sender, m.received_at, m.envelope, \(session.dialect.decision) AS decision,
                        m.staff_member, m.person_key
                    FROM message m WHERE m.id = ?
                    """, [.text(UUIDText.normalised(id))])
            else { return nil }
            let copies = try session.rows(
                "SELECT address, state, due_date FROM copy WHERE message_seq = ? AND party = ? ORDER BY address",
                [.integer(Int64(try row.integer("seq"))), .text(party)]
            ).map { (inbox: try $0.text("address"), state: try $0.text("state"), dueDate: $0["due_date"].text.flatMap(LocalDate.init)) }
            let sender = try row.text("sender")
            guard sender == party || !copies.isEmpty else { return nil }
            return Message(
                id: try row.text("id"), type: try row.text("type"), sender: sender,
                receivedAt: Date(timeIntervalSince1970: try row.real("received_at")),
                envelope: (try? JSONValue.parse(try row.text("envelope"))) ?? .null,
                decision: row["decision"].text.flatMap { try? JSONValue.parse($0) },
                staffMember: sender == party ? row["staff_member"].text : nil, personKey: row["person_key"].text, copies: copies)
        }
    }

    /// One message of a claimant's timeline.
    public struct TimelineEntry: Sendable, Equatable {
        public let messageID: String
        public let type: String
        public let sender: String
        public let receivedAt: Date
        /// The message it answers (`body.inReplyTo`), or that set it off (`body.regarding`).
        public let answers: String?
    }

    /// The messages about a claimant that `party` sent or received a copy of, oldest first.
    public func timeline(personKey: String, party: String) throws -> [TimelineEntry] {
        try database.read { session in
            let replyTo = session.dialect.jsonText("m.envelope", "body", "inReplyTo")
            let regarding = session.dialect.jsonText("m.envelope", "body", "regarding")
            return try session.rows(
                """
                SELECT m.id, m.type, m.sender, m.received_at, COALESCE(\(replyTo), \(regarding)) AS answers
                FROM message m
                WHERE m.person_key = ? AND (m.sender = ? OR EXISTS (SELECT 1 FROM copy c WHERE c.message_seq = m.seq AND c.party = ?))
                ORDER BY m.seq
                """, [.text(personKey), .text(party), .text(party)]
            ).map { row in
                TimelineEntry(
                    messageID: try row.text("id"), type: try row.text("type"), sender: try row.text("sender"),
                    receivedAt: Date(timeIntervalSince1970: try row.real("received_at")),
                    answers: row["answers"].text.map(UUIDText.normalised))
            }
        }
    }

    /// Marks a waiting notice of a pull inbox done, as a pull's acknowledgement does: its copy is delivered, with
    /// who marked it. A copy not yet leased is leased and acknowledged at once; one held (by an operator) is not
    /// touched.
    /// - Returns: whether a waiting copy of the message in that inbox was found and marked.
    public func markDone(inbox: String, messageID: String, by email: String, now: Date) throws -> Bool {
        try database.write { session in
            guard
                let row = try session.row(
                    """
                    SELECT c.seq, c.state, c.attempts FROM copy c JOIN message m ON m.seq = c.message_seq
                    WHERE m.id = ? AND c.address = ? AND c.state IN ('queued', 'in-flight')
                    """, [.text(UUIDText.normalised(messageID)), .text(inbox)])
            else { return false }
            let seq = Int64(try row.integer("seq"))
            let at = now.timeIntervalSince1970
            if try row.text("state") != CopyState.inFlight.rawValue {
                let read = CopyTransition(seq: seq, to: .inFlight, at: at, attempts: try row.integer("attempts") + 1, reason: "read by \(email)")
                // Leased by a pull meanwhile (another instance's): it is the puller's to acknowledge.
                guard try CopyMoves.move(session, read, onlyFrom: [.queued]) else { return false }
            }
            return try CopyMoves.move(session, CopyTransition(seq: seq, to: .delivered, at: at, reason: "marked done by \(email)"))
        }
    }
}
