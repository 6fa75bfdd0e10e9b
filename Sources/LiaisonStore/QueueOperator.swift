import Foundation
import GRDB
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
    /// When the next deferred copy is due (RFC 3339).
    public var nextAttempt: String?
    /// The last failed attempt's error, kept after later successes: its time and age say how current it is.
    public var lastError: String?
    public var lastErrorAt: String?
    public var lastErrorAgeSeconds: Double?
    /// Until when the inbox is paused by a `Retry-After` it answered (RFC 3339), if that is still ahead.
    public var pausedUntil: String?
    /// Since when the inbox is disabled because it answered 410 (RFC 3339): nothing is sent to it until an
    /// operator releases it.
    public var disabledSince: String?

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
    public var limit = 100

    public init() {}
}

/// What operators see and do, reading the store directly (also while the daemon runs).
public struct QueueOperator: Sendable {
    public let pool: DatabasePool
    private var queue: DeliveryQueue { DeliveryQueue(pool: pool) }

    public init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Opens the store file for operator use: no migration, no writes unless an action is asked for.
    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.missing(path: path)
        }
        WALBuffer.install()
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let pool = try DatabasePool(path: path, configuration: configuration)
        // An operator's hold, release, retry or expire is as durable as an accepted message: DatabasePool
        // sets synchronous=NORMAL with WAL, which would let a power cut lose a committed action.
        try pool.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        self.pool = pool
    }

    /// Per-inbox counts and ages; costs the same however many copies are queued.
    /// - Parameter inboxes: addresses to list even when they have no copies (configured inboxes).
    public func status(now: Double, inboxes: [String] = []) throws -> [InboxStatus] {
        try pool.read { db in
            var byInbox: [String: InboxStatus] = [:]
            for inbox in inboxes { byInbox[inbox] = InboxStatus(inbox: inbox) }
            for row in try Row.fetchAll(db, sql: "SELECT address, state, n FROM queue_count") {
                let address: String = row["address"]
                var status = byInbox[address] ?? InboxStatus(inbox: address)
                let count: Int = row["n"]
                switch CopyState(rawValue: row["state"]) {
                case .queued: status.queued = count
                case .inFlight: status.inFlight = count
                case .deferred: status.deferred = count
                case .held: status.held = count
                case .expired: status.expired = count
                case .delivered, nil: break
                }
                byInbox[address] = status
            }
            let currentHour = Int(now / 3600)
            func time(_ seconds: Double?) -> String? { seconds.map { Timestamp.format(Date(timeIntervalSince1970: $0)) } }
            for (address, var status) in byInbox {
                // The current hour and the 23 before it, from the key: a lookup per inbox, however long kept.
                status.deliveredLast24h = try Int.fetchOne(
                    db, sql: "SELECT SUM(n) FROM delivered_hour WHERE address = ? AND hour > ?", arguments: [address, currentHour - 24]) ?? 0
                var oldest: Double?
                for state in ["queued", "in-flight", "deferred", "held"] {
                    if let created = try Double.fetchOne(
                        db, sql: "SELECT created_at FROM copy WHERE state = ? AND address = ? ORDER BY seq LIMIT 1",
                        arguments: [state, address])
                    {
                        oldest = min(oldest ?? created, created)
                    }
                }
                status.oldestUndeliveredAgeSeconds = oldest.map { max(0, now - $0) }
                if let next = try Double.fetchOne(
                    db, sql: "SELECT MIN(next_attempt_at) FROM copy WHERE state = 'deferred' AND address = ?", arguments: [address])
                {
                    status.nextAttempt = Timestamp.format(Date(timeIntervalSince1970: next))
                }
                if let row = try Row.fetchOne(
                    db, sql: "SELECT last_error, last_error_at, paused_until, disabled_at FROM inbox_status WHERE address = ?",
                    arguments: [address])
                {
                    status.lastError = row["last_error"]
                    status.lastErrorAt = time(row["last_error_at"])
                    status.lastErrorAgeSeconds = (row["last_error_at"] as Double?).map { max(0, now - $0) }
                    status.pausedUntil = time((row["paused_until"] as Double?).flatMap { $0 > now ? $0 : nil })
                    status.disabledSince = time(row["disabled_at"])
                }
                byInbox[address] = status
            }
            return byInbox.values.sorted { $0.inbox < $1.inbox }
        }
    }

    /// How many timers are blocked: a small table, so this costs little at any size of registry.
    public func blockedTimerCount() throws -> Int {
        try pool.read { db in
            guard try db.tableExists("blocked_timer") else { return 0 }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blocked_timer") ?? 0
        }
    }

    /// Every blocked timer, earliest first, with the claimant's NINO masked.
    public func blockedTimers() throws -> [BlockedTimer] {
        try pool.read { db in
            guard try db.tableExists("blocked_timer") else { return [] }
            return try Row.fetchAll(
                db, sql: "SELECT person_key, kind, fire_date, reason FROM blocked_timer ORDER BY fire_date, person_key, timer_id"
            ).map { row in
                BlockedTimer(
                    nino: NINO.maskPersonKey(row["person_key"]), kind: row["kind"], fireDate: row["fire_date"],
                    reason: row["reason"])
            }
        }
    }

    /// Lets every blocked timer try again: the daemon fires those due within a second, and blocks again any
    /// that still cannot fire. For after the cause is fixed (new bank-holiday data, and a restart to load it).
    /// - Returns: how many timers were unblocked.
    public func unblockTimers() throws -> Int {
        try pool.write { db in
            guard try db.tableExists("blocked_timer") else {
                throw StoreError.incompatible("it predates blocked-timer tracking: start the daemon once to upgrade it")
            }
            let transaction = SQLiteTransaction(db: db, newCopies: NewCopyCounts())
            var unblocked = 0
            for key in try String.fetchAll(db, sql: "SELECT DISTINCT person_key FROM blocked_timer") {
                if let stored = try transaction.person(key: key) {
                    var person = stored
                    let count = person.unblockTimers()
                    if count > 0 {
                        unblocked += count
                        try transaction.save(person, replacing: stored)
                        continue
                    }
                }
                // A line with no blocked timer behind it (which should not happen) goes, rather than warn forever.
                try db.execute(sql: "DELETE FROM blocked_timer WHERE person_key = ?", arguments: [key])
            }
            return unblocked
        }
    }

    /// Copies matching the filter, oldest first.
    public func list(_ filter: CopyFilter, now: Double) throws -> [CopySummary] {
        try pool.read { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if !filter.states.isEmpty {
                conditions.append("c.state IN (\(filter.states.map { _ in "?" }.joined(separator: ",")))")
                arguments += filter.states.map(\.rawValue)
            }
            if let inbox = filter.inbox {
                if inbox.contains("/") {
                    conditions.append("c.address = ?")
                } else {
                    conditions.append("c.party = ?")
                }
                arguments.append(inbox)
            }
            if let type = filter.type {
                conditions.append("m.type = ?")
                arguments.append(type)
            }
            if let age = filter.olderThan {
                conditions.append("c.created_at <= ?")
                arguments.append(now - age)
            }
            let condition = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(filter.limit)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT \(CopyID.sql) AS id, m.id AS message_id, m.type, c.address, c.state, c.attempts, c.created_at,
                        c.next_attempt_at, c.last_error
                    FROM copy c JOIN message m ON m.seq = c.message_seq \(condition) ORDER BY c.seq LIMIT ?
                    """, arguments: StatementArguments(arguments)
            ).map(Self.summary)
        }
    }

    private static func summary(_ row: Row) -> CopySummary {
        CopySummary(
            id: row["id"], messageID: row["message_id"], type: row["type"], inbox: row["address"], state: row["state"],
            attempts: row["attempts"], acceptedAt: Timestamp.format(Date(timeIntervalSince1970: row["created_at"])),
            nextAttempt: (row["next_attempt_at"] as Double?).map { Timestamp.format(Date(timeIntervalSince1970: $0)) },
            lastError: row["last_error"])
    }

    /// Every copy of a copy id or message id, with each change of state.
    public func show(_ id: String) throws -> [CopyDetail] {
        try pool.read { db in
            let match = CopyID.condition(id)
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT c.seq, \(CopyID.sql) AS id, m.id AS message_id, m.type, c.address, c.state, c.attempts, c.created_at,
                        c.next_attempt_at, c.last_error, c.person_key
                    FROM copy c JOIN message m ON m.seq = c.message_seq
                    WHERE \(match.sql) ORDER BY c.seq
                    """, arguments: StatementArguments(match.arguments))
            return try rows.map { row in
                let accepted = CopyEvent(
                    at: Timestamp.format(Date(timeIntervalSince1970: row["created_at"])), state: CopyState.queued.rawValue,
                    reason: "accepted", httpStatus: nil, error: nil)
                let events = try Row.fetchAll(
                    db, sql: "SELECT at, state, reason, http_status, error FROM copy_event WHERE copy_seq = ? ORDER BY seq",
                    arguments: [row["seq"] as Int64]
                ).map { event in
                    CopyEvent(
                        at: Timestamp.format(Date(timeIntervalSince1970: event["at"])), state: event["state"],
                        reason: event["reason"], httpStatus: event["http_status"], error: event["error"])
                }
                let personKey: String? = row["person_key"]
                return CopyDetail(
                    copy: Self.summary(row), maskedNINO: personKey.map(NINO.maskPersonKey), events: [accepted] + events)
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
        /// The ids that match copies, none in a state the action applies to, each with the states found.
        public var notApplicable: [String: [String]] = [:]
        /// Inboxes disabled by a 410 that copies were sent back to one by one: the deliverer holds them again
        /// until the inbox itself is released (`--inbox`).
        public var disabledInboxes: [String] = []
        /// With `--inbox`: copies in flight, which no action moves; they finish their attempt (and one that
        /// fails is deferred, not held or expired).
        public var inFlight = 0
    }

    /// Copies moved per transaction: the daemon's writer and deliverer share the store's write lock, so a
    /// whole inbox of a million copies is moved in short turns, never in one long one.
    static let actionBatch = 1_000

    /// Applies `action` to copies (by copy or message id) or to a whole inbox (an address, or every inbox of
    /// a party). A copy sent back to the queue (release, retry) gets a whole lifetime again from now;
    /// releasing or retrying a whole inbox also enables it again after a 410 and ends a `Retry-After` pause,
    /// first, so that the deliverer does not hold again what is being released.
    public func apply(_ action: Action, ids: [String], inbox: String?, now: Double) throws -> ActionResult {
        let sources = action.sources.map(\.rawValue)
        let requeued = action.target == .queued
        // Stores older than schema v5 (opened by this command without a daemon that upgraded them) have
        // neither lifetimes nor disabled inboxes.
        let current = try pool.read { db in try db.columns(in: "copy").contains { $0.name == "lifetime_from" } }
        var seqs: [Int64] = []
        var notFound: [String] = []
        var notApplicable: [String: [String]] = [:]
        var addresses: [String] = []
        if let inbox {
            addresses = try pool.read { db in
                inbox.contains("/")
                    ? [inbox]
                    : try String.fetchAll(
                        db, sql: "SELECT DISTINCT address FROM queue_count WHERE substr(address, 1, instr(address, '/') - 1) = ?",
                        arguments: [inbox])
            }
            if requeued, current {
                let placeholders = addresses.map { _ in "?" }.joined(separator: ",")
                try pool.write { db in
                    try db.execute(
                        sql: "UPDATE inbox_status SET disabled_at = NULL, paused_until = NULL WHERE address IN (\(placeholders))",
                        arguments: StatementArguments(addresses))
                }
            }
            try pool.read { db in
                var any = false
                for address in addresses {
                    if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM copy WHERE address = ?)", arguments: [address]) == true {
                        any = true
                    }
                    for state in sources {
                        seqs += try Int64.fetchAll(
                            db, sql: "SELECT seq FROM copy WHERE state = ? AND address = ? ORDER BY seq", arguments: [state, address])
                    }
                }
                if !any { notFound.append("--inbox \(inbox)") }
            }
        }
        var named: Set<String> = []
        try pool.read { db in
            for id in ids {
                let match = CopyID.condition(id)
                let found = try Row.fetchAll(
                    db,
                    sql: "SELECT c.seq, c.state, c.address FROM copy c JOIN message m ON m.seq = c.message_seq WHERE \(match.sql)",
                    arguments: StatementArguments(match.arguments))
                let applicable = found.filter { sources.contains($0["state"]) }
                if found.isEmpty {
                    notFound.append(id)
                } else if applicable.isEmpty {
                    notApplicable[id] = Set(found.map { $0["state"] as String }).sorted()
                }
                seqs += applicable.map { $0["seq"] }
                named.formUnion(applicable.map { $0["address"] as String })
            }
        }
        var moved = 0
        let ordered = Array(Set(seqs)).sorted()
        for start in stride(from: 0, to: ordered.count, by: Self.actionBatch) {
            moved += try pool.write { db in
                var count = 0
                for seq in ordered[start..<min(start + Self.actionBatch, ordered.count)] {
                    // Only from the action's states, checked again as it moves: the daemon may have claimed the
                    // copy since it was read, and a copy in flight is never the operator's to move.
                    let transition = CopyTransition(seq: seq, to: action.target, at: now, nextAttemptAt: nil, reason: "operator \(action.rawValue)")
                    guard try queue.move(db, transition, onlyFrom: action.sources) else { continue }
                    count += 1
                    if requeued, current {
                        try db.execute(sql: "UPDATE copy SET lifetime_from = ? WHERE seq = ?", arguments: [now, seq])
                    }
                }
                return count
            }
        }
        var result = ActionResult(moved: moved, notFound: notFound, notApplicable: notApplicable)
        if !addresses.isEmpty {
            result.inFlight = try pool.read { db in
                try addresses.reduce(0) { total, address in
                    total + (try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM copy WHERE state = 'in-flight' AND address = ?", arguments: [address]) ?? 0)
                }
            }
        }
        if requeued, current, !named.isEmpty {
            result.disabledInboxes = try pool.read { db in
                try String.fetchAll(
                    db, sql: "SELECT address FROM inbox_status WHERE disabled_at IS NOT NULL ORDER BY address"
                ).filter { named.contains($0) && !addresses.contains($0) }
            }
        }
        return result
    }

}
