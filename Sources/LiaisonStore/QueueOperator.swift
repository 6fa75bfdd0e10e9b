import Foundation
import LiaisonCore

/// One inbox's line in `liaison queue status`.
public struct InboxStatus: Sendable, Codable {
    public var inbox: String
    public var queued = 0
    public var inFlight = 0
    public var deferred = 0
    public var held = 0
    public var expired = 0
    public var deliveredLast24h = 0
    /// Seconds since the oldest undelivered copy was accepted.
    public var oldestUndeliveredAgeSeconds: Double?
    /// When the next attempt is due (RFC 3339): the earliest deferred copy's time, or the end of a `Retry-After`
    /// pause when that is later (or when only queued copies wait).
    public var nextAttempt: String?
    /// When the inbox last took a delivery (RFC 3339), and how long ago in seconds.
    public var lastDelivery: String?
    public var lastDeliveryAgeSeconds: Double?
    /// The last failed attempt's error, while no delivery has succeeded since: its time and age say how current
    /// it is.
    public var lastError: String?
    public var lastErrorAt: String?
    public var lastErrorAgeSeconds: Double?
    /// Until when the inbox is paused by a `Retry-After` it answered (RFC 3339), if that is still ahead.
    public var pausedUntil: String?
    /// Since when the inbox is disabled because it answered 410 (RFC 3339): nothing is sent to it until an
    /// operator releases it.
    public var disabledSince: String?
    /// Since when an operator holds the whole inbox (`queue hold --inbox`, RFC 3339): nothing is sent to it
    /// until an operator releases it.
    public var heldSince: String?
    /// Since when the inbox's circuit breaker is open (RFC 3339): after a run of failed attempts its copies
    /// wait and one probe copy at a time is tried, until one is delivered.
    public var circuitOpenSince: String?

    init(inbox: String) {
        self.inbox = inbox
    }
}

/// A copy's line in `liaison queue list`.
public struct CopySummary: Sendable, Codable {
    public var id: String
    public var messageID: String
    public var type: String
    public var inbox: String
    public var state: String
    public var attempts: Int
    public var acceptedAt: String
    public var nextAttempt: String?
    public var lastError: String?
}

/// A change of state in `liaison queue show`.
public struct CopyEvent: Sendable, Codable {
    public var at: String
    public var state: String
    public var reason: String?
    public var httpStatus: Int?
    public var error: String?
}

/// `liaison queue show`: a copy with every change of state and attempt.
public struct CopyDetail: Sendable, Codable {
    public var copy: CopySummary
    public var maskedNINO: String?
    /// The staff member who sent the message from the staff pages, if one did (never delivered).
    public var sentBy: String?
    public var events: [CopyEvent]
}

/// A timer that could not fire, in `liaison queue timers`.
public struct BlockedTimer: Sendable, Codable {
    public var nino: String
    public var kind: String
    public var fireDate: String
    public var reason: String
}

/// Filters for `liaison queue list`.
public struct CopyFilter: Sendable {
    public var states: [CopyState] = []
    /// An address (`jcp-leeds/spoc`) or a party id.
    public var inbox: String?
    public var type: String?
    /// Only copies accepted at least this many seconds ago.
    public var olderThan: Double?
    /// One claimant's copies (`NINO.personKey`).
    public var personKey: String?
    public var limit = 100

    public init() {}
}

/// One inbox's line in `liaison queue shape`: its undelivered copies (queued, in flight, deferred, held) by
/// age since acceptance, in Postfix `qshape`'s doubling buckets.
public struct QueueShape: Sendable, Codable {
    public var inbox: String
    public var total: Int
    /// One count per bucket of `bucketNames`.
    public var counts: [Int]

    /// Each bucket's upper bound in minutes; the last bucket is everything older.
    public static let bucketMinutes = [5, 10, 20, 40, 80, 160, 320, 640, 1280]
    public static let bucketNames = bucketMinutes.map { "\($0)m" } + ["older"]

    /// The bucket of a copy accepted `age` seconds ago.
    public static func bucket(ofAge age: Double) -> Int {
        bucketMinutes.firstIndex { age <= Double($0 * 60) } ?? bucketMinutes.count
    }
}

/// What operators see and do, reading the store directly (also while the daemon runs, and through any
/// instance's store when several share one database).
public struct QueueOperator: Sendable {
    let database: any SQLDatabase
    /// The registry, for unblocking timers in claimants' records.
    let cases: any CaseStore

    init(database: any SQLDatabase, cases: any CaseStore) {
        self.database = database
        self.cases = cases
    }

    /// A stored message as its sender and recipients may look it up (`GET /v1/messages/{id}`).
    public struct MessageSummary: Sendable {
        public let id: String
        public let type: String
        public let sender: String
        public let receivedAt: Double
        /// The stored answer's decision, as JSON text; nil for generated messages.
        public let decision: String?
        /// The message this one answers (`body.inReplyTo`), if it answers one.
        public let inReplyTo: String?
        /// The key of the claimant it is about, if any.
        public let personKey: String?
    }

    /// The message with `id` (in lower case), or nil when none was stored.
    public func message(id: String) throws -> MessageSummary? {
        try database.read { session in
            try session.row(
                """
                SELECT m.id, m.type, m.sender, m.received_at, \(session.dialect.decision) AS decision, m.person_key,
                    \(session.dialect.jsonText("m.envelope", "body", "inReplyTo")) AS in_reply_to
                FROM message m WHERE m.id = ?
                """,
                [.text(id)]
            ).map { row in
                MessageSummary(
                    id: try row.text("id"), type: try row.text("type"), sender: try row.text("sender"), receivedAt: try row.real("received_at"),
                    decision: row["decision"].text, inReplyTo: row["in_reply_to"].text.map(UUIDText.normalised),
                    personKey: row["person_key"].text)
            }
        }
    }

    /// The messages that answer `id` (their `body.inReplyTo` names it) and that `party` sent or received a copy
    /// of, oldest first. Answers are about the same claimant, so only that claimant's messages are read.
    public func answers(to id: String, personKey: String, visibleTo party: String) throws -> [String] {
        try database.read { session in
            let replyTo = session.dialect.jsonText("m.envelope", "body", "inReplyTo")
            return try session.rows(
                """
                SELECT m.id, \(replyTo) AS in_reply_to FROM message m
                WHERE m.person_key = ? AND m.id <> ?
                    AND (m.sender = ? OR EXISTS (SELECT 1 FROM copy c WHERE c.message_seq = m.seq AND c.party = ?))
                ORDER BY m.seq
                """, [.text(personKey), .text(id), .text(party), .text(party)]
            ).compactMap { row in
                // Compared in one form: a sender may give the id in upper case.
                row["in_reply_to"].text.map(UUIDText.normalised) == id ? try row.text("id") : nil
            }
        }
    }

    /// How many copies each inbox has in each state, from the counters (as cheap at a million as at ten).
    public func queueCounts() throws -> [(inbox: String, state: String, count: Int)] {
        try database.read { session in
            try session.rows(
                "SELECT address, state, CAST(SUM(n) AS BIGINT) AS n FROM queue_count GROUP BY address, state ORDER BY address, state", []
            ).map { (inbox: try $0.text("address"), state: try $0.text("state"), count: try $0.integer("n")) }
        }
    }

    /// Per-inbox counts and ages; costs the same however many copies are queued.
    /// - Parameter inboxes: addresses to list even when they have no copies (configured inboxes).
    public func status(now: Double, inboxes: [String] = []) throws -> [InboxStatus] {
        try database.read { session in
            // Stores older than schema v8 (not yet opened by a daemon that upgraded them) hold no inbox.
            let heldAt = try Self.hasInboxHolds(session) ? "held_at" : "NULL"
            // Stores older than v10 (SQLite) or v3 (PostgreSQL) keep no time of the last delivery.
            let deliveryTimes = try session.hasColumn("last_at", in: "delivered_hour")
            let circuitOpen = try session.hasColumn("circuit_open_since", in: "inbox_status") ? "circuit_open_since" : "NULL"
            var byInbox: [String: InboxStatus] = [:]
            for inbox in inboxes { byInbox[inbox] = InboxStatus(inbox: inbox) }
            for row in try session.rows("SELECT address, state, CAST(SUM(n) AS BIGINT) AS n FROM queue_count GROUP BY address, state", []) {
                let address = try row.text("address")
                var status = byInbox[address] ?? InboxStatus(inbox: address)
                let count = try row.integer("n")
                switch CopyState(rawValue: try row.text("state")) {
                case .queued: status.queued = count
                case .inFlight: status.inFlight = count
                case .deferred: status.deferred = count
                case .held: status.held = count
                case .expired: status.expired = count
                case .delivered, nil: break
                }
                byInbox[address] = status
            }
            let currentHour = Int64(now / 3600)
            func time(_ seconds: Double?) -> String? { seconds.map { Timestamp.format(Date(timeIntervalSince1970: $0)) } }
            for (address, var status) in byInbox {
                // Counted by whole hours: the current one and the 24 before it, so nothing delivered in the last
                // 24 hours is left out (up to an hour more may be in). A lookup per inbox, however long kept.
                status.deliveredLast24h = try session.value(
                    "SELECT CAST(SUM(n) AS BIGINT) FROM delivered_hour WHERE address = ? AND hour >= ?",
                    [.text(address), .integer(currentHour - 24)])?.integer ?? 0
                // The latest hour with deliveries holds the last one's time (an index lookup per inbox).
                let lastDelivered = deliveryTimes
                    ? try session.value(
                        "SELECT MAX(last_at) FROM delivered_hour WHERE address = ? AND hour = (SELECT MAX(hour) FROM delivered_hour WHERE address = ?)",
                        [.text(address), .text(address)])?.real
                    : nil
                status.lastDelivery = time(lastDelivered)
                status.lastDeliveryAgeSeconds = lastDelivered.map { max(0, now - $0) }
                var oldest: Double?
                for state in ["queued", "in-flight", "deferred", "held"] {
                    if let created = try session.value(
                        "SELECT created_at FROM copy WHERE state = ? AND address = ? ORDER BY seq LIMIT 1", [.text(state), .text(address)])?.real
                    {
                        oldest = min(oldest ?? created, created)
                    }
                }
                status.oldestUndeliveredAgeSeconds = oldest.map { max(0, now - $0) }
                var nextAttempt = try session.value(
                    "SELECT MIN(next_attempt_at) FROM copy WHERE state = 'deferred' AND address = ?", [.text(address)])?.real
                if let row = try session.row(
                    """
                    SELECT last_error, last_error_at, paused_until, disabled_at, \(heldAt) AS held_at, \(circuitOpen) AS circuit_open_since
                    FROM inbox_status WHERE address = ?
                    """,
                    [.text(address)])
                {
                    // An error is news only until a later delivery succeeds.
                    if let errorAt = row["last_error_at"].real, errorAt >= lastDelivered ?? -.infinity {
                        status.lastError = row["last_error"].text
                        status.lastErrorAt = time(errorAt)
                        status.lastErrorAgeSeconds = max(0, now - errorAt)
                    }
                    let pausedUntil = row["paused_until"].real.flatMap { $0 > now ? $0 : nil }
                    status.pausedUntil = time(pausedUntil)
                    status.disabledSince = time(row["disabled_at"].real)
                    status.heldSince = time(row["held_at"].real)
                    status.circuitOpenSince = time(row["circuit_open_since"].real)
                    // Nothing is tried before the pause ends, whatever the deferred copies' own times.
                    if let pausedUntil, status.deferred > 0 || status.queued > 0 {
                        nextAttempt = max(pausedUntil, nextAttempt ?? 0)
                    }
                }
                status.nextAttempt = time(nextAttempt)
                byInbox[address] = status
            }
            return byInbox.values.sorted { $0.inbox < $1.inbox }
        }
    }

    /// How many timers are blocked: a small table, so this costs little at any size of registry.
    public func blockedTimerCount() throws -> Int {
        try database.read { session in
            guard try session.dialect == .postgres || session.hasTable("blocked_timer") else { return 0 }
            return try session.value("SELECT count(*) FROM blocked_timer")?.integer ?? 0
        }
    }

    /// Every blocked timer, earliest first, with the claimant's NINO masked.
    public func blockedTimers() throws -> [BlockedTimer] {
        try database.read { session in
            guard try session.dialect == .postgres || session.hasTable("blocked_timer") else { return [] }
            return try session.rows(
                "SELECT person_key, kind, fire_date, reason FROM blocked_timer ORDER BY fire_date, person_key, timer_id", []
            ).map { row in
                BlockedTimer(
                    nino: NINO.maskPersonKey(try row.text("person_key")), kind: try row.text("kind"), fireDate: try row.text("fire_date"),
                    reason: try row.text("reason"))
            }
        }
    }

    /// Lets every blocked timer try again: the daemon fires those due within a second, and blocks again any
    /// that still cannot fire. For after the cause is fixed (new bank-holiday data, and a restart to load it).
    /// - Returns: how many timers were unblocked.
    public func unblockTimers() throws -> Int {
        let keys = try database.read { session -> [String] in
            guard try session.dialect == .postgres || session.hasTable("blocked_timer") else {
                throw StoreError.incompatible("it predates blocked-timer tracking: start the daemon once to upgrade it")
            }
            return try session.rows("SELECT DISTINCT person_key FROM blocked_timer", []).map { try $0.text("person_key") }
        }
        var unblocked = 0
        var stale: [String] = []
        try cases.transaction { transaction in
            for key in keys {
                if let stored = try transaction.person(key: key) {
                    var person = stored
                    let count = person.unblockTimers()
                    if count > 0 {
                        unblocked += count
                        try transaction.save(person, replacing: stored)
                        continue
                    }
                }
                stale.append(key)
            }
        }
        // A line with no blocked timer behind it (which should not happen) goes, rather than warn forever.
        if !stale.isEmpty {
            try database.write { session in
                for key in stale { try session.execute("DELETE FROM blocked_timer WHERE person_key = ?", [.text(key)]) }
            }
        }
        return unblocked
    }

    /// Copies matching the filter, oldest first.
    /// Expires an inbox's waiting copies (queued or deferred) whose lifetime is over, without an attempt: those
    /// of an inbox whose circuit breaker is open wait unattempted, and their lifetimes still run. The oldest
    /// `limit` waiting copies are looked at each time (in acceptance order the first to run out), so that a
    /// large backlog costs a bounded read.
    /// - Returns: how many were expired.
    public func expireLapsed(inbox: String, lifetime: Double, now: Double, limit: Int = 1_000) throws -> Int {
        try database.write { session in
            var expired = 0
            for state in [CopyState.queued, .deferred] {
                let rows = try session.rows(
                    "SELECT seq, COALESCE(lifetime_from, created_at) AS since FROM copy WHERE state = ? AND address = ? ORDER BY seq LIMIT ?",
                    [.text(state.rawValue), .text(inbox), .integer(Int64(limit))])
                for row in rows where try row.real("since") + lifetime <= now {
                    let transition = CopyTransition(
                        seq: Int64(try row.integer("seq")), to: .expired, at: now, reason: "lifetime over while the inbox's circuit was open")
                    if try CopyMoves.move(session, transition, onlyFrom: [.queued, .deferred]) { expired += 1 }
                }
            }
            return expired
        }
    }

    /// Each inbox's undelivered copies by age bucket, counted in the database (a bucket per doubling of the
    /// age), inboxes in name order.
    public func shape(now: Double) throws -> [QueueShape] {
        try database.read { session in
            let bounds = QueueShape.bucketMinutes.enumerated().map { index, minutes in
                "WHEN created_at >= \(now - Double(minutes * 60)) THEN \(index)"
            }
            let rows = try session.rows(
                """
                SELECT address, bucket, count(*) AS n FROM (
                    SELECT address, CASE \(bounds.joined(separator: " ")) ELSE \(QueueShape.bucketMinutes.count) END AS bucket
                    FROM copy WHERE state IN ('queued', 'in-flight', 'deferred', 'held')
                ) AS aged GROUP BY address, bucket ORDER BY address
                """, [])
            var shapes: [QueueShape] = []
            for row in rows {
                let address = try row.text("address")
                if shapes.last?.inbox != address {
                    shapes.append(QueueShape(inbox: address, total: 0, counts: Array(repeating: 0, count: QueueShape.bucketNames.count)))
                }
                let count = try row.integer("n")
                shapes[shapes.count - 1].counts[try row.integer("bucket")] += count
                shapes[shapes.count - 1].total += count
            }
            return shapes
        }
    }

    public func list(_ filter: CopyFilter, now: Double) throws -> [CopySummary] {
        try database.read { session in
            var conditions: [String] = []
            var arguments: [SQLValue] = []
            if !filter.states.isEmpty {
                conditions.append("c.state IN (\(filter.states.map { _ in "?" }.joined(separator: ",")))")
                arguments += filter.states.map { .text($0.rawValue) }
            }
            if let inbox = filter.inbox {
                conditions.append(inbox.contains("/") ? "c.address = ?" : "c.party = ?")
                arguments.append(.text(inbox))
            }
            if let type = filter.type {
                conditions.append("m.type = ?")
                arguments.append(.text(type))
            }
            if let key = filter.personKey {
                conditions.append("c.person_key = ?")
                arguments.append(.text(key))
            }
            if let age = filter.olderThan {
                conditions.append("c.created_at <= ?")
                arguments.append(.real(now - age))
            }
            let condition = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(.integer(Int64(filter.limit)))
            return try session.rows(
                """
                SELECT \(CopyID.sql) AS id, m.id AS message_id, m.type, c.address, c.state, c.attempts, c.created_at,
                    c.next_attempt_at, c.last_error
                FROM copy c JOIN message m ON m.seq = c.message_seq \(condition) ORDER BY c.seq LIMIT ?
                """, arguments
            ).map(Self.summary)
        }
    }

    private static func summary(_ row: SQLRow) throws -> CopySummary {
        CopySummary(
            id: try row.text("id"), messageID: try row.text("message_id"), type: try row.text("type"), inbox: try row.text("address"),
            state: try row.text("state"), attempts: try row.integer("attempts"),
            acceptedAt: Timestamp.format(Date(timeIntervalSince1970: try row.real("created_at"))),
            nextAttempt: row["next_attempt_at"].real.map { Timestamp.format(Date(timeIntervalSince1970: $0)) },
            lastError: row["last_error"].text)
    }

    /// Every copy of a copy id or message id, with each change of state.
    public func show(_ id: String) throws -> [CopyDetail] {
        try database.read { session in
            let match = CopyID.condition(id)
            // A store no daemon of this version has upgraded has no record of who sent a message.
            let sentBy = try session.dialect == .postgres || session.hasColumn("staff_member", in: "message") ? "m.staff_member" : "NULL"
            let rows = try session.rows(
                """
                SELECT c.seq, \(CopyID.sql) AS id, m.id AS message_id, m.type, c.address, c.state, c.attempts, c.created_at,
                    c.next_attempt_at, c.last_error, c.person_key, \(sentBy) AS sent_by
                FROM copy c JOIN message m ON m.seq = c.message_seq
                WHERE \(match.sql) ORDER BY c.seq
                """, match.arguments.map { .text($0) })
            return try rows.map { row in
                let accepted = CopyEvent(
                    at: Timestamp.format(Date(timeIntervalSince1970: try row.real("created_at"))), state: CopyState.queued.rawValue,
                    reason: "accepted", httpStatus: nil, error: nil)
                let events = try session.rows(
                    "SELECT at, state, reason, http_status, error FROM copy_event WHERE copy_seq = ? ORDER BY seq",
                    [.integer(Int64(try row.integer("seq")))]
                ).map { event in
                    CopyEvent(
                        at: Timestamp.format(Date(timeIntervalSince1970: try event.real("at"))), state: try event.text("state"),
                        reason: event["reason"].text, httpStatus: event["http_status"].integer, error: event["error"].text)
                }
                return CopyDetail(
                    copy: try Self.summary(row), maskedNINO: row["person_key"].text.map(NINO.maskPersonKey), sentBy: row["sent_by"].text,
                    events: [accepted] + events)
            }
        }
    }

    /// An operator's action on copies.
    public enum Action: String, Sendable, CaseIterable {
        case hold
        case release
        case retry
        case expire

        var target: CopyState {
            switch self {
            case .hold: .held
            case .release, .retry: .queued
            case .expire: .expired
            }
        }

        /// The states the action applies to; never a copy in flight.
        public var sources: [CopyState] {
            switch self {
            case .hold: [.queued, .deferred]
            case .release: [.held]
            case .retry: [.deferred, .expired, .held]
            case .expire: [.queued, .deferred, .held]
            }
        }
    }

    /// What an operator's action did.
    public struct ActionResult: Sendable, Equatable {
        public let moved: Int
        /// The ids, and `--inbox X`, that match no copy at all: a mistyped id is reported, not taken for done.
        public let notFound: [String]
        /// The ids that match copies, none of which the action moved, each with the states they were in as it
        /// tried: none in a state it applies to, or the deliverer took them first.
        public var notApplicable: [String: [String]] = [:]
        /// Inboxes disabled by a 410, or held by an operator, that copies were sent back to one by one: the
        /// deliverer holds them again until the inbox itself is released (`--inbox`).
        public var disabledInboxes: [String] = []
        /// Inboxes paused by a `Retry-After` that copies were sent back to one by one, with when the pause
        /// ends (RFC 3339): nothing is sent to them before then.
        public var pausedInboxes: [String: String] = [:]
        /// Copies in flight, of the inbox or of the ids named, which no action moves; they finish their attempt
        /// (and one that fails is deferred, or held in an inbox an operator holds).
        public var inFlight = 0
        /// With `hold --inbox`: the copies now held in the inbox, in all. The deliverer holds the inbox's
        /// copies too once it sees the hold, so `moved` alone may be fewer.
        public var heldInInbox: Int?
    }

    /// Copies moved per transaction: the daemon's writer and deliverer share the store's write lock, so a
    /// whole inbox of a million copies is moved in short turns, never in one long one.
    static let actionBatch = 1_000

    /// Whether the store keeps operators' holds of whole inboxes (schema v8 of SQLite; always on PostgreSQL).
    private static func hasInboxHolds(_ session: any SQLSession) throws -> Bool {
        try session.dialect == .postgres || session.hasColumn("held_at", in: "inbox_status")
    }

    /// Applies `action` to copies (by copy or message id) or to a whole inbox (an address, or every inbox of
    /// a party). A copy sent back to the queue (release, retry) gets a whole lifetime again from now.
    /// Holding a whole inbox holds the inbox itself first, as a 410 does: the deliverer sends it nothing, and
    /// holds what comes for it later and what fails in flight, until it is released. Releasing or retrying
    /// a whole inbox first ends that hold, a 410's and a `Retry-After` pause, so that the deliverer does not
    /// hold again what is being released.
    public func apply(_ action: Action, ids: [String], inbox: String?, now: Double) throws -> ActionResult {
        let sources = action.sources.map(\.rawValue)
        let requeued = action.target == .queued
        // SQLite stores older than schema v5 (opened by this command without a daemon that upgraded them) have
        // neither lifetimes nor disabled inboxes; older than v8, no held inboxes.
        let (current, holds) = try database.read { session in
            (try session.dialect == .postgres || session.hasColumn("lifetime_from", in: "copy"), try Self.hasInboxHolds(session))
        }
        var seqs: [Int64] = []
        var notFound: [String] = []
        var addresses: [String] = []
        if inbox != nil, action == .hold, !holds {
            // Holding only the copies there are would let the next ones through: not what was asked.
            throw StoreError.incompatible("it predates holding whole inboxes: start the daemon once to upgrade it")
        }
        if let inbox {
            addresses = try database.read { session in
                inbox.contains("/")
                    ? [inbox]
                    : try session.rows("SELECT DISTINCT address FROM queue_count WHERE address LIKE ?", [.text(inbox + "/%")])
                        .map { try $0.text("address") }.sorted()
            }
            let placeholders = addresses.map { _ in "?" }.joined(separator: ",")
            let named = addresses.map { SQLValue.text($0) }
            if !addresses.isEmpty {
                try database.write { session in
                    if requeued, current {
                        try session.execute(
                            "UPDATE inbox_status SET disabled_at = NULL, paused_until = NULL WHERE address IN (\(placeholders))", named)
                    }
                    if requeued, holds {
                        try session.execute("UPDATE inbox_status SET held_at = NULL WHERE address IN (\(placeholders))", named)
                    }
                    // Only an inbox that has had copies: a mistyped one is reported below, not held for ever.
                    if action == .hold, holds {
                        try session.execute(
                            """
                            INSERT INTO inbox_status (address, held_at)
                                SELECT DISTINCT address, ? FROM queue_count WHERE address IN (\(placeholders))
                            ON CONFLICT (address) DO UPDATE SET held_at = COALESCE(inbox_status.held_at, excluded.held_at)
                            """, [.real(now)] + named)
                    }
                }
            }
            try database.read { session in
                var any = false
                for address in addresses {
                    // The counters have a line for every inbox that has ever had a copy.
                    if try session.row("SELECT address FROM queue_count WHERE address = ? LIMIT 1", [.text(address)]) != nil { any = true }
                    for state in sources {
                        seqs += try session.rows("SELECT seq FROM copy WHERE state = ? AND address = ? ORDER BY seq", [.text(state), .text(address)])
                            .map { Int64(try $0.integer("seq")) }
                    }
                }
                if !any { notFound.append("--inbox \(inbox)") }
            }
        }
        var moved: Set<Int64> = []
        let ordered = Array(Set(seqs)).sorted()
        for start in stride(from: 0, to: ordered.count, by: Self.actionBatch) {
            try database.write { session in
                for seq in ordered[start..<min(start + Self.actionBatch, ordered.count)] {
                    // The daemon may have claimed the copy since it was read: it is moved only from the action's
                    // states, checked again as it moves.
                    if try move(session, seq, action, now: now, lifetime: requeued && current) { moved.insert(seq) }
                }
            }
        }
        // Named copies are found and moved in one transaction, so that what is reported is what was done: one
        // the deliverer claimed since is reported with its state then, never counted as moved.
        var notApplicable: [String: [String]] = [:]
        var named: Set<String> = []
        var inFlight: Set<Int64> = []
        if !ids.isEmpty {
            try database.write { session in
                for id in ids {
                    let match = CopyID.condition(id)
                    let found = try session.rows(
                        "SELECT c.seq, c.state, c.address FROM copy c JOIN message m ON m.seq = c.message_seq WHERE \(match.sql)",
                        match.arguments.map { .text($0) }
                    ).map { (seq: Int64(try $0.integer("seq")), state: try $0.text("state"), address: try $0.text("address")) }
                    guard !found.isEmpty else {
                        notFound.append(id)
                        continue
                    }
                    // Moved already, when it is of the inbox named too, or named twice.
                    var movedHere = found.contains { moved.contains($0.seq) }
                    for copy in found where sources.contains(copy.state) {
                        if try move(session, copy.seq, action, now: now, lifetime: requeued && current) {
                            moved.insert(copy.seq)
                            movedHere = true
                        }
                    }
                    if movedHere {
                        named.formUnion(found.filter { moved.contains($0.seq) }.map(\.address))
                    } else {
                        notApplicable[id] = Set(found.map(\.state)).sorted()
                    }
                    inFlight.formUnion(found.filter { $0.state == CopyState.inFlight.rawValue }.map(\.seq))
                }
            }
        }
        var result = ActionResult(moved: moved.count, notFound: notFound, notApplicable: notApplicable)
        try database.read { session in
            for address in addresses {
                inFlight.formUnion(
                    try session.rows("SELECT seq FROM copy WHERE state = 'in-flight' AND address = ?", [.text(address)])
                        .map { Int64(try $0.integer("seq")) })
            }
            result.inFlight = inFlight.count
            if action == .hold, !addresses.isEmpty {
                result.heldInInbox = try addresses.reduce(0) { total, address in
                    total + (try session.value(
                        "SELECT CAST(SUM(n) AS BIGINT) FROM queue_count WHERE address = ? AND state = 'held'", [.text(address)])?.integer ?? 0)
                }
            }
            if requeued, !named.isEmpty {
                for row in try session.rows("SELECT address, paused_until FROM inbox_status WHERE paused_until > ?", [.real(now)]) {
                    let address = try row.text("address")
                    guard named.contains(address), !addresses.contains(address) else { continue }
                    result.pausedInboxes[address] = Timestamp.format(Date(timeIntervalSince1970: try row.real("paused_until")))
                }
            }
            if requeued, current, !named.isEmpty {
                let stopped = holds ? "disabled_at IS NOT NULL OR held_at IS NOT NULL" : "disabled_at IS NOT NULL"
                result.disabledInboxes = try session.rows("SELECT address FROM inbox_status WHERE \(stopped) ORDER BY address", [])
                    .map { try $0.text("address") }.filter { named.contains($0) && !addresses.contains($0) }
            }
        }
        return result
    }

    /// Moves one copy for `action`, only from the states it applies to; a copy sent back to the queue gets a
    /// whole lifetime again from now (`lifetime`).
    /// - Returns: whether it moved.
    private func move(_ session: any SQLSession, _ seq: Int64, _ action: Action, now: Double, lifetime: Bool) throws -> Bool {
        let transition = CopyTransition(seq: seq, to: action.target, at: now, nextAttemptAt: nil, reason: "operator \(action.rawValue)")
        guard try CopyMoves.move(session, transition, onlyFrom: action.sources) else { return false }
        if lifetime { try session.execute("UPDATE copy SET lifetime_from = ? WHERE seq = ?", [.real(now), .integer(seq)]) }
        return true
    }
}
