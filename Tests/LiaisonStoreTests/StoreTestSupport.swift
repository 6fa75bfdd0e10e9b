import Foundation
import LiaisonCore
import LiaisonRuntime

@testable import LiaisonStore

let configFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("config")

/// The shipped rules and bank holidays, for a jobcentre, a prime provider and a CWP provider.
let testRouter: SubmissionDesk = {
    let rules = try! RuleFiles.loadRules(at: configFolder.appendingPathComponent("rules.yaml"))
    let calendars = try! RuleFiles.loadCalendars(at: configFolder.appendingPathComponent("uk-bank-holidays.json"))
    let directory = try! PartyDirectory([
        Party(id: "jcp-leeds", kind: .jobcentre, calendar: .englandAndWales), Party(id: "prime-a", kind: .prime),
        Party(id: "cwp-a", kind: .cwp),
    ])
    return SubmissionDesk(context: RuleContext(directory: directory, rules: rules, calendars: calendars))
}()

/// The same router with bank-holiday data that ends with `lastYear`: a working day later than that cannot
/// be counted, so a timer that needs one cannot fire.
func router(withHolidaysThrough lastYear: Int) throws -> SubmissionDesk {
    let events = #"[{"date": "2024-12-25"}, {"date": "\#(lastYear)-12-25"}]"#
    let json = #"{"england-and-wales": {"events": \#(events)}, "scotland": {"events": \#(events)}, "northern-ireland": {"events": \#(events)}}"#
    let context = testRouter.rules.context
    return SubmissionDesk(
        context: RuleContext(
            directory: context.directory, rules: context.rules, calendars: try CalendarSet(govUKJSON: Array(json.utf8))))
}

/// A Work Programme referral to prime-a (its copy goes to prime-a/contact).
func referral(id: String, nino: String = "AB123456C") -> JSONValue {
    .object([
        "id": .string(id), "type": .string("wp.referral"), "to": .string("prime-a"), "nino": .string(nino),
        "sentAt": .string("2024-12-02T09:00:00Z"),
        "body": .object(["referralDate": .string("2024-12-02"), "benefit": .string("JSA"), "mandatory": .bool(true)]),
    ])
}

/// The instant the store tests work at.
let testAt = Timestamp.parse("2024-12-02T09:00:00Z")!

extension TestStore {
    var now: Double { testAt.timeIntervalSince1970 }

    /// Submits a message from `sender` in a transaction of its own.
    @discardableResult
    func submit(_ message: JSONValue, from sender: String = "jcp-leeds", at instant: Date = testAt, router: SubmissionDesk = testRouter) throws
        -> SubmissionDesk.Answer
    {
        try cases.transaction { try router.submit(message, from: sender, at: instant, in: $0) }
    }

    /// Adds `count` queued copies like copy `seq` — the same message and inbox, later in the queue — as if
    /// routed again; `anonymous` ones are about no claimant.
    func queueCopies(like seq: Int64, count: Int = 1, anonymous: Bool = false) throws {
        try store.database.write { session in
            for _ in 0..<count {
                try session.execute(
                    """
                    INSERT INTO copy (message_seq, address, party, person_key, state, created_at, updated_at)
                    SELECT message_seq, address, party, \(anonymous ? "NULL" : "person_key"), 'queued', created_at, updated_at
                    FROM copy WHERE seq = ?
                    """, [.integer(seq)])
            }
            // SQLite's writer counts the copies it stores itself (PostgreSQL's triggers count every insert).
            if session.dialect == .sqlite {
                try session.execute(
                    """
                    INSERT INTO queue_count (address, state, n) SELECT address, 'queued', ? FROM copy WHERE seq = ?
                    ON CONFLICT (address, state) DO UPDATE SET n = queue_count.n + excluded.n
                    """, [.integer(Int64(count)), .integer(seq)])
            }
        }
    }

    /// Records `transitions`, holds `hold`, and claims up to `limit` copies of `address`, in one settle, as the
    /// deliverer does.
    func claim(
        _ address: String, limit: Int, busy: Set<String> = [], _ transitions: [CopyTransition] = [], hold: Set<String> = [],
        at time: Double? = nil, queue: DeliveryQueue? = nil
    ) throws -> [QueuedCopy] {
        try (queue ?? self.queue).settle(
            transitions, inboxErrors: [:], pausedUntil: [:], hold: hold, claims: [.init(address: address, limit: limit, busy: busy)],
            now: time ?? now
        ).claimed[address] ?? []
    }

    /// The copies' states, in acceptance order.
    func states() throws -> [String] { try texts("SELECT state FROM copy ORDER BY seq") }

    /// `queue_count`'s queued copies per inbox (its shards summed).
    func queuedCounts() throws -> [String: Int] {
        Dictionary(
            uniqueKeysWithValues: try rows(
                "SELECT address, CAST(SUM(n) AS BIGINT) AS n FROM queue_count WHERE state = 'queued' GROUP BY address"
            ).compactMap { row in (row["n"].integer ?? 0) > 0 ? (try row.text("address"), row["n"].integer ?? 0) : nil })
    }

    /// The queued copies per inbox, counted row by row.
    func copiesQueued() throws -> [String: Int] {
        Dictionary(
            uniqueKeysWithValues: try rows("SELECT address, COUNT(*) AS n FROM copy WHERE state = 'queued' GROUP BY address")
                .map { (try $0.text("address"), try $0.integer("n")) })
    }
}
