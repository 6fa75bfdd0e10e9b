import Foundation
import LiaisonCore

/// What operators do: hold, release, retry and expire copies or whole inboxes, let blocked timers fire again,
/// and (for the deliverer) expire what waited past its lifetime behind an open circuit.
extension QueueOperator {
    /// Lets every blocked timer try again: the daemon fires those due within a second, and blocks again any
    /// that still cannot fire. For after the cause is fixed (new bank-holiday data, and a restart to load it).
    /// - Returns: how many timers were unblocked.
    public func unblockTimers() throws -> Int {
        let keys = try database.read { session -> [String] in
            guard try layout.read(session).blockedTimers else {
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

    /// Applies `action` to copies (by copy or message id) or to a whole inbox (an address, or every inbox of
    /// a party). A copy sent back to the queue (release, retry) gets a whole lifetime again from now.
    /// Holding a whole inbox holds the inbox itself first, as a 410 does: the deliverer sends it nothing, and
    /// holds what comes for it later and what fails in flight, until it is released. Releasing or retrying
    /// a whole inbox first ends that hold, a 410's and a `Retry-After` pause, so that the deliverer does not
    /// hold again what is being released.
    public func apply(_ action: Action, ids: [String], inbox: String?, now: Double) throws -> ActionResult {
        let sources = action.sources.map(\.rawValue)
        let requeued = action.target == .queued
        // Stores not yet upgraded by a daemon of this version: older than SQLite's v5, neither lifetimes nor
        // disabled inboxes; older than v8, no held inboxes.
        let layout = try database.read { session in try self.layout.read(session) }
        let (current, holds) = (layout.lifetimes, layout.inboxHolds)
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
                    total
                        + (try session.value(
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
