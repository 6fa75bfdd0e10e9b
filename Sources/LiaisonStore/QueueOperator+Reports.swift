import Foundation
import LiaisonCore

/// What operators see: messages and their threads, the queue's counts, status and shape, copies listed and
/// shown, blocked timers. Reads only; what a store not yet upgraded lacks is left out (`StoreLayout`).
extension QueueOperator {
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
            // What a store not yet upgraded by a daemon of this version lacks is left out.
            let layout = try self.layout.read(session)
            let heldAt = layout.inboxHolds ? "held_at" : "NULL"
            let deliveryTimes = layout.deliveryTimes
            let circuitOpen = layout.circuits ? "circuit_open_since" : "NULL"
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
                status.deliveredLast24h =
                    try session.value(
                        "SELECT CAST(SUM(n) AS BIGINT) FROM delivered_hour WHERE address = ? AND hour >= ?",
                        [.text(address), .integer(currentHour - 24)])?.integer ?? 0
                // The latest hour with deliveries holds the last one's time (an index lookup per inbox).
                let lastDelivered =
                    deliveryTimes
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
            guard try layout.read(session).blockedTimers else { return 0 }
            return try session.value("SELECT count(*) FROM blocked_timer")?.integer ?? 0
        }
    }

    /// Every blocked timer, earliest first, with the claimant's NINO masked.
    public func blockedTimers() throws -> [BlockedTimer] {
        try database.read { session in
            guard try layout.read(session).blockedTimers else { return [] }
            return try session.rows(
                "SELECT person_key, kind, fire_date, reason FROM blocked_timer ORDER BY fire_date, person_key, timer_id", []
            ).map { row in
                BlockedTimer(
                    nino: NINO.maskPersonKey(try row.text("person_key")), kind: try row.text("kind"), fireDate: try row.text("fire_date"),
                    reason: try row.text("reason"))
            }
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
            let sentBy = try layout.read(session).staff ? "m.staff_member" : "NULL"
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
}
