import Foundation
import GRDB
import LiaisonCore

/// The delivery queue in the SQLite store: what the one daemon's deliverer claims and records, and what pull
/// inboxes lease. Its statements go straight to SQLite (`DirectStatement`): they run for every copy.
struct SQLiteDeliveryQueue: DeliveryBackend {
    let pool: DatabasePool

    private static let copyColumns = """
        c.seq, \(CopyID.sql) AS id, c.address, c.person_key, c.attempts, COALESCE(c.lifetime_from, c.created_at),
        m.id AS message_id, m.type, m.envelope, json_extract(m.answer, '$.decision') AS decision
        """

    /// Reads a row of `copyColumns` by position.
    /// - Throws: `StoreError.corruptRecord` when a column that cannot be empty is.
    private static func copy(_ row: DirectStatement.Row) throws -> QueuedCopy {
        guard let seq = row.integer(0), let id = row.text(1), let address = row.text(2), let attempts = row.integer(4),
            let lifetimeFrom = row.real(5), let messageID = row.text(6), let type = row.text(7), let envelope = row.text(8)
        else { throw StoreError.corruptRecord("copy \(row.integer(0).map(String.init) ?? "?") not readable with its message") }
        return QueuedCopy(
            seq: seq, id: id, address: address, personKey: row.text(3), attempts: Int(attempts), lifetimeFrom: lifetimeFrom,
            messageID: messageID, type: type, envelope: envelope, decision: row.text(9))
    }

    /// After a restart, copies left in flight go back to the queue: they may have been delivered, so the
    /// receiver sees them again (at least once) under the same `webhook-id`. Only the leases (those with a
    /// lease end) of what are still pull inboxes stay, for their pullers to acknowledge; a push attempt, or
    /// a lease of an inbox since made push or removed, is requeued, so that no copy stays in flight that
    /// nothing will finish.
    /// - Parameter isPullInbox: whether an address is a configured pull inbox.
    @discardableResult
    func recoverInFlight(at now: Double, isPullInbox: (String) -> Bool) throws -> Int {
        try pool.write { db in
            let seqs = try Row.fetchAll(db, sql: "SELECT seq, address, next_attempt_at FROM copy WHERE state = 'in-flight'")
                .filter { row in !(isPullInbox(row["address"]) && (row["next_attempt_at"] as Double?) != nil) }.map { $0["seq"] as Int64 }
            for seq in seqs {
                try move(db, CopyTransition(seq: seq, to: .queued, at: now, reason: "recovered after restart"))
            }
            return seqs.count
        }
    }

    /// One daemon has the store to itself: what it left in flight is requeued at its restart.
    func returnLapsedClaims(now: Double) throws -> Int { 0 }

    /// Records delivery results, holds gone inboxes, and claims the next copies, all in one transaction
    /// (one fsync), so that the deliverer's bookkeeping costs little per copy.
    func settle(
        _ transitions: [CopyTransition], inboxErrors: [String: String], pausedUntil: [String: Double],
        hold: Set<String>, claims: [DeliveryQueue.ClaimRequest], circuits: [String: DeliveryQueue.Circuit], now: Double
    ) throws -> DeliveryQueue.Settlement {
        try pool.write { db in
            for transition in transitions { try move(db, transition) }
            for (address, circuit) in circuits {
                let openSince: Double? = if case .opened(let at) = circuit { at } else { nil }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO inbox_status (address, circuit_open_since) VALUES (?, ?)
                        ON CONFLICT (address) DO UPDATE SET circuit_open_since = excluded.circuit_open_since
                        """
                ).execute(arguments: [address, openSince])
            }
            for (address, error) in inboxErrors {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO inbox_status (address, last_error, last_error_at) VALUES (?, ?, ?)
                        ON CONFLICT (address) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at
                        """
                ).execute(arguments: [address, error, now])
            }
            // Of two pauses the longer stands: answers to transfers that were in flight together may ask for
            // different waits.
            for (address, until) in pausedUntil {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO inbox_status (address, paused_until) VALUES (?, ?)
                        ON CONFLICT (address) DO UPDATE SET paused_until = MAX(COALESCE(paused_until, 0), excluded.paused_until)
                        """
                ).execute(arguments: [address, until])
            }
            var settlement = DeliveryQueue.Settlement()
            func held(_ count: Int, _ address: String, _ reason: String) {
                guard count > 0 else { return }
                settlement.held[address] = ((settlement.held[address]?.count ?? 0) + count, reason)
            }
            for address in hold {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO inbox_status (address, disabled_at) VALUES (?, ?)
                        ON CONFLICT (address) DO UPDATE SET disabled_at = excluded.disabled_at
                        """
                ).execute(arguments: [address, now])
                held(try holdSome(db, address: address, now: now, reason: DeliveryQueue.Stop.gone.reason), address, DeliveryQueue.Stop.gone.reason)
            }
            for claim in claims where claim.limit > 0 {
                // A disabled inbox (410) or one an operator holds sends nothing until an operator releases it;
                // what was queued for it since is held too, so that operators see it waiting on them. A paused
                // one (Retry-After) sends nothing until the pause ends or an operator retries or releases the
                // inbox. All are read here, in the store, so that they outlive a restart and operators'
                // commands reach the running deliverer.
                let (stopped, paused) =
                    try DirectStatement(
                        db, "SELECT \(DeliveryQueue.stoppedSQL), COALESCE(paused_until, 0) > ? FROM inbox_status WHERE address = ?"
                    ).first([.real(now), .text(claim.address)]) { (DeliveryQueue.stopReason($0.integer(0)), $0.integer(1) == 1) } ?? (nil, false)
                if let stopped {
                    held(try holdSome(db, address: claim.address, now: now, reason: stopped), claim.address, stopped)
                } else if !paused {
                    settlement.claimed[claim.address] = try claimCopies(db, claim, now: now) { seq in
                        settlement.unreadable.append(DeliveryQueue.UnreadableCopy(seq: seq, address: claim.address))
                    }
                }
            }
            return settlement
        }
    }

    /// Holds copies of a stopped inbox that are waiting to be sent, up to `holdBatch`: queued ones, oldest
    /// first, then deferred ones. Each state is read in its own index's order, so a batch costs the same
    /// however large the backlog.
    /// - Returns: how many were held.
    private func holdSome(_ db: Database, address: String, now: Double, reason: String) throws -> Int {
        var seqs: [Int64] = []
        for state in [CopyState.queued, .deferred] where seqs.count < DeliveryQueue.holdBatch {
            seqs += try Int64.fetchAll(
                db.cachedStatement(sql: "SELECT seq FROM copy WHERE state = ? AND address = ? ORDER BY seq LIMIT ?"),
                arguments: [state.rawValue, address, DeliveryQueue.holdBatch - seqs.count])
        }
        for seq in seqs { try move(db, CopyTransition(seq: seq, to: .held, at: now, reason: reason)) }
        return seqs.count
    }

    private struct Candidate {
        let seq: Int64
        /// None for a message about no claimant.
        let person: String?
        let attempts: Int
    }

    /// Queued copies of an inbox looked at per claim, at most. Past the deferred, held and in-flight copies
    /// of claimants that must wait, a claim reads on to find copies of others, so a claimant whose copies
    /// wait does not hold up anyone behind them; but each claim runs in the deliverer's write transaction,
    /// so how far it reads is bounded, and a page is read straight from the state index.
    static let claimScanLimit = 1_024

    /// Claims up to the room of one inbox. Its statements go straight to SQLite: this runs for every copy.
    private func claimCopies(
        _ db: Database, _ claim: DeliveryQueue.ClaimRequest, now: Double, unreadable: (Int64) -> Void
    ) throws -> [QueuedCopy] {
        // Candidates first, without the message; only those claimed are read in full.
        func candidate(_ row: DirectStatement.Row) throws -> Candidate {
            guard let seq = row.integer(0), let attempts = row.integer(2) else { throw StoreError.corruptRecord("copy without seq or attempts") }
            return Candidate(seq: seq, person: row.text(1), attempts: Int(attempts))
        }
        let pageSize = max(claim.limit * 4, 32)
        let due = try DirectStatement(
            db,
            """
            SELECT seq, person_key, attempts FROM copy
            WHERE state = 'deferred' AND address = ? AND next_attempt_at <= ? ORDER BY seq LIMIT ?
            """
        ).all([.text(claim.address), .real(now), .integer(Int64(claim.limit * 4))], candidate)
        var nextDue = due.startIndex
        var claimed: [QueuedCopy] = []
        var taken = claim.busy
        var after: Int64 = 0
        var scanned = 0
        while claimed.count < claim.limit {
            let requested = min(pageSize, Self.claimScanLimit - scanned)
            let page = try DirectStatement(
                db, "SELECT seq, person_key, attempts FROM copy WHERE state = 'queued' AND address = ? AND seq > ? ORDER BY seq LIMIT ?"
            ).all([.text(claim.address), .integer(after), .integer(Int64(requested))], candidate)
            scanned += page.count
            let exhausted = page.count < requested
            let last = exhausted || scanned >= Self.claimScanLimit
            // Due deferred copies join in acceptance order: those up to this page's end now, all the rest once
            // the queued copies run out. Past the scan's bound they wait for a later claim, since an earlier
            // queued copy of their claimant may lie beyond what was read.
            let horizon = exhausted ? Int64.max : page[page.count - 1].seq
            var candidates = page
            while nextDue < due.endIndex, due[nextDue].seq <= horizon {
                candidates.append(due[nextDue])
                nextDue += 1
            }
            candidates.sort { $0.seq < $1.seq }
            for candidate in candidates {
                guard claimed.count < claim.limit else { break }
                let seq = candidate.seq
                if let person = candidate.person {
                    // Per-NINO order: an earlier queued copy of the claimant came first in this scan, and one in
                    // flight is in `busy` (both end up in `taken`); earlier deferred or held ones are in copy_waiting.
                    guard !taken.contains(person) else { continue }
                    let earlier =
                        try DirectStatement(
                            db, "SELECT EXISTS (SELECT 1 FROM copy_waiting WHERE address = ? AND person_key = ? AND seq < ?)"
                        ).first([.text(claim.address), .text(person), .integer(seq)]) { $0.integer(0) == 1 } ?? false
                    taken.insert(person)
                    guard !earlier else { continue }
                }
                // A copy that cannot be read with its message (a store altered by hand) can never be sent: it is
                // expired, kept with why, as a copy is when its lifetime runs out. Failing the settle instead
                // would stop every inbox's deliveries behind it, and holding it would hold its claimant's
                // later copies for good.
                guard let copy = try readableCopy(db, seq) else {
                    try expireUnreadable(db, seq, now: now)
                    unreadable(seq)
                    if let person = candidate.person { taken.remove(person) }
                    continue
                }
                // The move checks the state again: an operator may have held or expired it meanwhile.
                guard try move(db, CopyTransition(seq: seq, to: .inFlight, at: now, reason: "attempt \(candidate.attempts + 1)"))
                else { continue }
                claimed.append(copy)
            }
            if last { break }
            after = horizon
        }
        return claimed
    }

    /// Copy `seq` with its message, or nil when the two cannot be read together: no message, a column empty
    /// that cannot be, or a stored answer that is not JSON (SQLite's plain SQLITE_ERROR from `json_extract`;
    /// an I/O or corruption error of the store itself is thrown, not taken for a damaged copy).
    private func readableCopy(_ db: Database, _ seq: Int64) throws -> QueuedCopy? {
        do {
            return try DirectStatement(
                db, "SELECT \(Self.copyColumns) FROM copy c JOIN message m ON m.seq = c.message_seq WHERE c.seq = ?"
            ).first([.integer(seq)], Self.copy)
        } catch StoreError.corruptRecord {
            return nil
        } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
            return nil
        }
    }

    /// Expires a copy that can never be sent, kept with why, as a copy is when its lifetime runs out.
    private func expireUnreadable(_ db: Database, _ seq: Int64, now: Double) throws {
        try move(
            db,
            CopyTransition(
                seq: seq, to: .expired, at: now, reason: "not readable with its message: expired", error: DeliveryQueue.unreadableError))
    }

    /// Moves one copy, recording the event; a move the state machine does not allow is skipped, and so is
    /// one from a state not in `sources` when given (an operator's action, which never moves a copy the
    /// deliverer has claimed meanwhile). Runs twice per delivered copy on the deliverer's thread, so its
    /// statements go straight to SQLite.
    @discardableResult
    func move(_ db: Database, _ transition: CopyTransition, onlyFrom sources: [CopyState]? = nil) throws -> Bool {
        guard let sql = CopyMoves.sql(for: transition, onlyFrom: sources) else { return false }
        try DirectStatement(db, sql).execute(CopyMoves.arguments(transition).map(DirectStatement.Value.init))
        guard db.changesCount > 0 else { return false }
        try DirectStatement(db, CopyMoves.eventSQL).execute(CopyMoves.eventArguments(transition).map(DirectStatement.Value.init))
        return true
    }

    // MARK: Pull inboxes

    /// Leases up to `limit` copies of a pull inbox, oldest first, in claimant order; an unacknowledged
    /// lease returns them after `lease` seconds (see `returnLapsedLeases`). A copy that cannot be read with
    /// its message is expired, as when pushed, and listed in `unreadable`; the copies leased may then be fewer
    /// than there are, and the next pull has the rest. When fewer than `limit` are leased, the copies held back
    /// behind a claimant's earlier copy are counted, so that the puller can see why.
    func lease(address: String, limit: Int, now: Double, lease: Double, lifetime: Double) throws -> DeliveryQueue.Lease {
        try pool.write { db in
            _ = try returnLapsedLeases(db, address: address, now: now, lifetime: lifetime)
            // An inbox an operator holds hands out nothing, and holds what waits for it, a batch per pull.
            if let stopped = try DirectStatement(db, "SELECT \(DeliveryQueue.stoppedSQL) FROM inbox_status WHERE address = ?")
                .first([.text(address)], { DeliveryQueue.stopReason($0.integer(0)) }) ?? nil
            {
                _ = try holdSome(db, address: address, now: now, reason: stopped)
                return DeliveryQueue.Lease()
            }
            // Per-NINO order, as for push inboxes: a claimant's copy waits while an earlier one of theirs to
            // this inbox is leased and not yet acknowledged (in flight), deferred or held. Read without the
            // message first, so that a copy whose message is missing is found, not passed over for good.
            let seqs = try DirectStatement(
                db,
                """
                SELECT c.seq FROM copy c
                WHERE c.state = 'queued' AND c.address = ?
                    AND (c.person_key IS NULL OR (
                        NOT EXISTS (SELECT 1 FROM copy_waiting w
                            WHERE w.address = c.address AND w.person_key = c.person_key AND w.seq < c.seq)
                        AND NOT EXISTS (SELECT 1 FROM copy e
                            WHERE e.state = 'in-flight' AND e.address = c.address AND e.person_key = c.person_key)))
                ORDER BY c.seq LIMIT ?
                """
            ).all([.text(address), .integer(Int64(limit))]) { $0.integer(0) }
            var copies: [QueuedCopy] = []
            var unreadable: [Int64] = []
            for case let seq? in seqs {
                if let copy = try readableCopy(db, seq) {
                    copies.append(copy)
                } else {
                    try expireUnreadable(db, seq, now: now)
                    unreadable.append(seq)
                }
            }
            var leased = DeliveryQueue.Lease(unreadable: unreadable)
            for copy in copies {
                try move(
                    db,
                    CopyTransition(
                        seq: copy.seq, to: .inFlight, at: now, attempts: copy.attempts + 1, nextAttemptAt: now + lease,
                        reason: "pulled"))
                leased.copies.append(copy)
            }
            if leased.copies.count < limit {
                leased.waitingBehindEarlier =
                    try DirectStatement(
                        db,
                        """
                        SELECT count(*) FROM (SELECT 1 FROM copy c
                            WHERE c.state = 'queued' AND c.address = ? AND c.person_key IS NOT NULL AND (
                                EXISTS (SELECT 1 FROM copy_waiting w
                                    WHERE w.address = c.address AND w.person_key = c.person_key AND w.seq < c.seq)
                                OR EXISTS (SELECT 1 FROM copy e
                                    WHERE e.state = 'in-flight' AND e.address = c.address AND e.person_key = c.person_key))
                            LIMIT ?)
                        """
                    ).first([.text(address), .integer(Int64(DeliveryQueue.waitingCountLimit))]) { Int($0.integer(0) ?? 0) } ?? 0
            }
            return leased
        }
    }

    /// Returns the copies of pull inboxes whose leases ran out unacknowledged, as the deliverer does every
    /// few seconds, so that a puller that stopped leaves nothing in flight for long.
    /// - Returns: how many copies were returned or expired.
    @discardableResult
    func returnLapsedLeases(addresses: [String], now: Double, lifetime: Double) throws -> Int {
        try pool.write { db in
            try addresses.reduce(0) { count, address in count + (try returnLapsedLeases(db, address: address, now: now, lifetime: lifetime)) }
        }
    }

    /// A lease that ran out unacknowledged is a failed attempt: the copy is offered again, or, once its
    /// `lifetime` is over too, `expired` (kept, for an operator to replay), as a pushed copy is after its
    /// last failed attempt.
    private func returnLapsedLeases(_ db: Database, address: String, now: Double, lifetime: Double) throws -> Int {
        let lapsed = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT seq, COALESCE(lifetime_from, created_at) + ? <= ? AS over FROM copy
                    WHERE state = 'in-flight' AND address = ? AND next_attempt_at <= ?
                    """), arguments: [lifetime, now, address, now])
        for row in lapsed {
            let over: Bool = row["over"]
            try move(
                db,
                over
                    ? CopyTransition(seq: row["seq"], to: .expired, at: now, reason: "pull lease ran out after the copy's lifetime")
                    : CopyTransition(seq: row["seq"], to: .queued, at: now, reason: "pull lease expired"))
        }
        return lapsed.count
    }

    /// Acknowledges pulled copies of an inbox by copy id.
    /// - Returns: the ids acknowledged (others were not leased to this inbox).
    func acknowledge(address: String, ids: [String], now: Double) throws -> [String] {
        try pool.write { db in
            var done: [String] = []
            for id in ids {
                let (messageID, copyAddress) = CopyID.parse(id)
                guard copyAddress == address else { continue }
                // The id as given first, then in lower case (CopyID.storedForms).
                var found: Int64?
                for form in CopyID.storedForms(messageID) where found == nil {
                    found = try Int64.fetchOne(
                        db.cachedStatement(
                            sql: """
                                SELECT c.seq FROM copy c JOIN message m ON m.seq = c.message_seq
                                WHERE m.id = ? AND c.address = ? AND c.state = 'in-flight'
                                """), arguments: [form, address])
                }
                guard let seq = found else { continue }
                if try move(db, CopyTransition(seq: seq, to: .delivered, at: now, reason: "acknowledged")) { done.append(id) }
            }
            return done
        }
    }
}
