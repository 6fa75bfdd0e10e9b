import Foundation
import LiaisonCore

/// The delivery queue in PostgreSQL, shared by every instance's deliverer and pull handlers.
///
/// - An inbox's claims take turns across instances: each locks the inbox's `inbox_status` row first, so that
///   its concurrency counts every instance's copies in flight, and per-claimant order sees them all.
/// - The copies chosen are locked with `FOR UPDATE SKIP LOCKED`: one an operator is moving is passed over, not
///   waited for, and nothing later of its claimant is taken in its place.
/// - A copy in flight to a push inbox names the instance sending it and when its claim lapses; if that instance
///   dies, another returns it to the queue once the claim has lapsed (`returnLapsedClaims`).
/// - Pauses (`Retry-After`), a 410's hold and an operator's hold are read from the store at every claim, so
///   that what one instance saw holds for all.
struct PostgresDeliveryQueue: DeliveryBackend {
    let database: PostgresDatabase
    /// This instance's name, kept with the copies it claims.
    let instance: String

    func recoverInFlight(at now: Double, isPullInbox: (String) -> Bool) throws -> Int {
        try database.transaction { session in
            let rows = try session.rows(
                "SELECT seq, address, next_attempt_at, claimed_by FROM copy WHERE state = 'in-flight' AND (claimed_by IS NULL OR claimed_by = ?)",
                [.text(instance)])
            let seqs = try rows.filter { row in
                // A pull's lease (no claimant instance, a lease end) stays for its puller to acknowledge.
                let address = try row.text("address")
                return !(row["claimed_by"] == .null && isPullInbox(address) && row["next_attempt_at"].real != nil)
            }.map { Int64(try $0.integer("seq")) }
            return try Self.move(session, seqs.map { CopyTransition(seq: $0, to: .queued, at: now, reason: "recovered after restart") }).count
        }
    }

    func returnLapsedClaims(now: Double) throws -> Int {
        try database.transaction { session in
            let rows = try session.rows(
                """
                SELECT seq, claimed_by FROM copy
                WHERE state = 'in-flight' AND claimed_by IS NOT NULL AND claimed_by <> ? AND next_attempt_at <= ?
                ORDER BY seq FOR UPDATE SKIP LOCKED
                """, [.text(instance), .real(now)])
            let transitions = try rows.map { row in
                CopyTransition(
                    seq: Int64(try row.integer("seq")), to: .queued, at: now,
                    reason: "claim of \(row["claimed_by"].text ?? "another instance") lapsed: sent again")
            }
            return try Self.move(session, transitions).count
        }
    }

    func settle(
        _ transitions: [CopyTransition], inboxErrors: [String: String], pausedUntil: [String: Double],
        hold: Set<String>, claims: [DeliveryQueue.ClaimRequest], circuits: [String: DeliveryQueue.Circuit], now: Double
    ) throws -> DeliveryQueue.Settlement {
        try database.transaction { session in
            // Only this instance's claims: a copy another instance took over after this one's claim lapsed is not
            // this one's to settle.
            try Self.move(session, transitions, owner: instance)
            for (address, circuit) in circuits.sorted(by: { $0.key < $1.key }) {
                let openSince: SQLValue = if case .opened(let at) = circuit { .real(at) } else { .null }
                try session.execute(
                    """
                    INSERT INTO inbox_status (address, circuit_open_since) VALUES (?, ?)
                    ON CONFLICT (address) DO UPDATE SET circuit_open_since = excluded.circuit_open_since
                    """, [.text(address), openSince])
            }
            if !inboxErrors.isEmpty {
                let errors = inboxErrors.sorted { $0.key < $1.key }
                _ = try session.query(
                    """
                    INSERT INTO inbox_status (address, last_error, last_error_at)
                    SELECT address, error, $3 FROM unnest($1::text[], $2::text[]) AS e(address, error) ORDER BY address
                    ON CONFLICT (address) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at
                    """, [.texts(errors.map(\.key)), .texts(errors.map(\.value)), .value(.real(now))])
            }
            if !pausedUntil.isEmpty {
                // Of two pauses the longer stands.
                let pauses = pausedUntil.sorted { $0.key < $1.key }
                _ = try session.query(
                    """
                    INSERT INTO inbox_status (address, paused_until)
                    SELECT * FROM unnest($1::text[], $2::float8[]) AS p(address, until) ORDER BY address
                    ON CONFLICT (address) DO UPDATE SET
                        paused_until = GREATEST(COALESCE(inbox_status.paused_until, 0), excluded.paused_until)
                    """, [.texts(pauses.map(\.key)), .reals(pauses.map(\.value))])
            }
            var settlement = DeliveryQueue.Settlement()
            func held(_ count: Int, _ address: String, _ reason: String) {
                guard count > 0 else { return }
                settlement.held[address] = ((settlement.held[address]?.count ?? 0) + count, reason)
            }
            for address in hold.sorted() {
                try session.execute(
                    """
                    INSERT INTO inbox_status (address, disabled_at) VALUES (?, ?)
                    ON CONFLICT (address) DO UPDATE SET disabled_at = excluded.disabled_at
                    """, [.text(address), .real(now)])
                let reason = DeliveryQueue.Stop.gone.reason
                held(try Self.holdSome(session, address: address, now: now, reason: reason), address, reason)
            }
            for claim in claims.sorted(by: { $0.address < $1.address }) where claim.limit > 0 {
                let (stopped, paused) = try Self.lockInbox(session, claim.address, now: now)
                if let stopped {
                    held(try Self.holdSome(session, address: claim.address, now: now, reason: stopped), claim.address, stopped)
                } else if !paused {
                    settlement.claimed[claim.address] = try claimCopies(session, claim, now: now) { seq in
                        settlement.unreadable.append(DeliveryQueue.UnreadableCopy(seq: seq, address: claim.address))
                    }
                }
            }
            return settlement
        }
    }

    /// Locks the inbox's status row (making it if it has none), for the rest of the transaction.
    /// - Returns: why it sends nothing until an operator releases it, if it does not; whether a pause holds it.
    private static func lockInbox(_ session: PostgresSession, _ address: String, now: Double) throws -> (stopped: String?, paused: Bool) {
        let select =
            "SELECT \(DeliveryQueue.stoppedSQL) AS stopped, COALESCE(paused_until, 0) > ? AS paused FROM inbox_status WHERE address = ? FOR UPDATE"
        var row = try session.row(select, [.real(now), .text(address)])
        if row == nil {
            try session.execute("INSERT INTO inbox_status (address) VALUES (?) ON CONFLICT (address) DO NOTHING", [.text(address)])
            row = try session.row(select, [.real(now), .text(address)])
        }
        return (DeliveryQueue.stopReason(row?["stopped"].integer.map(Int64.init)), row?["paused"].bool ?? false)
    }

    private struct Candidate {
        let seq: Int64
        let person: String?
        let attempts: Int
    }

    /// Claims up to the room of one inbox (its concurrency less every instance's copies in flight to it), in
    /// acceptance order, no claimant's copy before an earlier one of theirs still in flight, deferred or held.
    private func claimCopies(
        _ session: PostgresSession, _ claim: DeliveryQueue.ClaimRequest, now: Double, unreadable: (Int64) -> Void
    ) throws -> [QueuedCopy] {
        let inFlight =
            try session.value("SELECT count(*) FROM copy WHERE state = 'in-flight' AND address = ?", [.text(claim.address)])?
            .integer ?? 0
        let room = min(claim.limit, claim.capacity - inFlight)
        guard room > 0 else { return [] }
        func candidates(_ rows: [SQLRow]) throws -> [Candidate] {
            try rows.map { Candidate(seq: Int64(try $0.integer("seq")), person: $0["person_key"].text, attempts: try $0.integer("attempts")) }
        }
        let due = try candidates(
            session.rows(
                """
                SELECT seq, person_key, attempts FROM copy
                WHERE state = 'deferred' AND address = ? AND next_attempt_at <= ? ORDER BY seq LIMIT ?
                """, [.text(claim.address), .real(now), .integer(Int64(room * 4))]))
        var nextDue = due.startIndex
        var chosen: [Candidate] = []
        // Claimants that must wait at this inbox: one with a copy in flight (from any instance), or taken in this
        // claim; and the earliest copy each has deferred or held, which their later copies wait behind.
        var taken = claim.busy
        var earliestWaiting: [String: Int64] = [:]
        var looked = Set<String>()
        var after: Int64 = 0
        var scanned = 0
        let pageSize = max(room * 4, 32)
        // Past the copies of claimants who must wait, a claim reads on to find others' (so that one claimant's
        // backlog holds up no one behind it), a page at a time, up to `claimScanLimit` copies.
        while chosen.count < room {
            let requested = min(pageSize, SQLiteDeliveryQueue.claimScanLimit - scanned)
            let page = try candidates(
                session.rows(
                    "SELECT seq, person_key, attempts FROM copy WHERE state = 'queued' AND address = ? AND seq > ? ORDER BY seq LIMIT ?",
                    [.text(claim.address), .integer(after), .integer(Int64(requested))]))
            scanned += page.count
            let exhausted = page.count < requested
            let last = exhausted || scanned >= SQLiteDeliveryQueue.claimScanLimit
            // Due retries join in acceptance order up to the end of what was read of the queue; beyond it an
            // earlier queued copy of their claimant may lie unread, so they wait for a later claim.
            let horizon = exhausted ? Int64.max : (page.last?.seq ?? Int64.max)
            var candidates = page
            while nextDue < due.endIndex, due[nextDue].seq <= horizon {
                candidates.append(due[nextDue])
                nextDue += 1
            }
            candidates.sort { $0.seq < $1.seq }
            let people = Array(Set(candidates.compactMap { $0.person }).subtracting(looked))
            if !people.isEmpty {
                looked.formUnion(people)
                for row in try session.query(
                    """
                    SELECT person_key, bool_or(state = 'in-flight') AS flying, min(seq) FILTER (WHERE state <> 'in-flight') AS waiting
                    FROM copy WHERE address = $1 AND person_key = ANY($2::text[]) AND state IN ('in-flight', 'deferred', 'held')
                    GROUP BY person_key
                    """, [.value(.text(claim.address)), .texts(people)]
                ).rows.map(PostgresSession.row) {
                    let person = try row.text("person_key")
                    if row["flying"].bool == true { taken.insert(person) }
                    if let seq = row["waiting"].integer { earliestWaiting[person] = Int64(seq) }
                }
            }
            for candidate in candidates where chosen.count < room {
                if let person = candidate.person {
                    guard !taken.contains(person) else { continue }
                    taken.insert(person)
                    if let earliest = earliestWaiting[person], earliest < candidate.seq { continue }
                }
                chosen.append(candidate)
            }
            if last { break }
            after = horizon
        }
        guard !chosen.isEmpty else { return [] }
        // An operator moving one of them holds its row: it is passed over, not waited for.
        let locked = Set(
            try session.query(
                "SELECT seq FROM copy WHERE seq = ANY($1::int8[]) AND state IN ('queued', 'deferred') ORDER BY seq FOR UPDATE SKIP LOCKED",
                [.integers(chosen.map(\.seq))]
            ).rows.map { Int64(try PostgresSession.row($0).integer("seq")) })
        let lockedChosen = chosen.filter { locked.contains($0.seq) }
        let copies = try Self.readCopies(session, lockedChosen.map(\.seq))
        var claimed: [QueuedCopy] = []
        var unreadableSeqs: [Int64] = []
        // (Claimed and not yet in flight: the recursion below sees them in flight in the store.)
        for candidate in lockedChosen {
            if let copy = copies[candidate.seq] { claimed.append(copy) } else { unreadableSeqs.append(candidate.seq) }
        }
        if !unreadableSeqs.isEmpty {
            try Self.expireUnreadable(session, unreadableSeqs, now: now)
            unreadableSeqs.forEach(unreadable)
        }
        try markClaimed(session, claimed, now: now, lease: claim.claimLease)
        // An expired copy holds back no one: with room left, the claim looks again, past it (rare: a copy
        // whose message was removed by hand).
        if !unreadableSeqs.isEmpty, claimed.count < room {
            let again = DeliveryQueue.ClaimRequest(
                address: claim.address, limit: claim.limit - claimed.count, busy: claim.busy, capacity: claim.capacity,
                claimLease: claim.claimLease)
            claimed += try claimCopies(session, again, now: now, unreadable: unreadable)
        }
        return claimed
    }

    /// Puts claimed copies in flight, this instance's until `lease` seconds from now.
    private func markClaimed(_ session: PostgresSession, _ claimed: [QueuedCopy], now: Double, lease: Double) throws {
        guard !claimed.isEmpty else { return }
        _ = try session.query(
            """
            WITH claimed AS (
                UPDATE copy SET state = 'in-flight', updated_at = $2, next_attempt_at = $3, claimed_by = $4
                WHERE seq = ANY($1::int8[]) AND state IN ('queued', 'deferred')
                RETURNING seq, attempts
            )
            INSERT INTO copy_event (copy_seq, at, state, reason)
            SELECT seq, $2, 'in-flight', 'attempt ' || (attempts + 1) || ' by ' || $4 FROM claimed ORDER BY seq
            """,
            [.integers(claimed.map(\.seq)), .value(.real(now)), .value(.real(now + lease)), .value(.text(instance))])
    }

    // MARK: Pull inboxes

    func lease(address: String, limit: Int, now: Double, lease: Double, lifetime: Double) throws -> DeliveryQueue.Lease {
        try database.transaction { session in
            // Pulls of one inbox through any instance take turns, as claims do.
            let (stopped, _) = try Self.lockInbox(session, address, now: now)
            _ = try Self.returnLapsedLeases(session, address: address, now: now, lifetime: lifetime)
            if let stopped {
                _ = try Self.holdSome(session, address: address, now: now, reason: stopped)
                return DeliveryQueue.Lease()
            }
            let seqs = try session.rows(
                """
                SELECT c.seq FROM copy c
                WHERE c.state = 'queued' AND c.address = ?
                    AND (c.person_key IS NULL OR NOT EXISTS (SELECT 1 FROM copy w
                        WHERE w.address = c.address AND w.person_key = c.person_key AND w.state IN ('in-flight', 'deferred', 'held')
                            AND (w.state = 'in-flight' OR w.seq < c.seq)))
                ORDER BY c.seq LIMIT ?
                """, [.text(address), .integer(Int64(limit))]
            ).map { Int64(try $0.integer("seq")) }
            let copies = try Self.readCopies(session, seqs)
            var leased = DeliveryQueue.Lease(unreadable: seqs.filter { copies[$0] == nil })
            if !leased.unreadable.isEmpty { try Self.expireUnreadable(session, leased.unreadable, now: now) }
            let readable = seqs.compactMap { copies[$0] }
            let moved = try Self.move(
                session,
                readable.map {
                    CopyTransition(seq: $0.seq, to: .inFlight, at: now, attempts: $0.attempts + 1, nextAttemptAt: now + lease, reason: "pulled")
                })
            leased.copies = readable.filter { moved.contains($0.seq) }
            if leased.copies.count < limit {
                leased.waitingBehindEarlier =
                    try session.value(
                        """
                        SELECT count(*) FROM (SELECT 1 FROM copy c
                            WHERE c.state = 'queued' AND c.address = ? AND c.person_key IS NOT NULL AND EXISTS (SELECT 1 FROM copy w
                                WHERE w.address = c.address AND w.person_key = c.person_key AND w.state IN ('in-flight', 'deferred', 'held')
                                    AND (w.state = 'in-flight' OR w.seq < c.seq))
                            LIMIT ?) waiting
                        """, [.text(address), .integer(Int64(DeliveryQueue.waitingCountLimit))])?.integer ?? 0
            }
            return leased
        }
    }

    func returnLapsedLeases(addresses: [String], now: Double, lifetime: Double) throws -> Int {
        try database.transaction { session in
            try addresses.sorted().reduce(0) { count, address in
                count + (try Self.returnLapsedLeases(session, address: address, now: now, lifetime: lifetime))
            }
        }
    }

    /// A pull's lease that ran out unacknowledged is a failed attempt: offered again, or expired once the copy's
    /// lifetime is over too.
    private static func returnLapsedLeases(_ session: PostgresSession, address: String, now: Double, lifetime: Double) throws -> Int {
        let rows = try session.rows(
            """
            SELECT seq, COALESCE(lifetime_from, created_at) + ? <= ? AS over FROM copy
            WHERE state = 'in-flight' AND address = ? AND next_attempt_at <= ? AND claimed_by IS NULL
            ORDER BY seq FOR UPDATE SKIP LOCKED
            """, [.real(lifetime), .real(now), .text(address), .real(now)])
        let transitions = try rows.map { row -> CopyTransition in
            let seq = Int64(try row.integer("seq"))
            return row["over"].bool == true
                ? CopyTransition(seq: seq, to: .expired, at: now, reason: "pull lease ran out after the copy's lifetime")
                : CopyTransition(seq: seq, to: .queued, at: now, reason: "pull lease expired")
        }
        return try move(session, transitions).count
    }

    func acknowledge(address: String, ids: [String], now: Double) throws -> [String] {
        try database.transaction { session in
            var byForm: [String: String] = [:]
            for id in ids {
                let (messageID, copyAddress) = CopyID.parse(id)
                guard copyAddress == address else { continue }
                for form in CopyID.storedForms(messageID) where byForm[form] == nil { byForm[form] = id }
            }
            guard !byForm.isEmpty else { return [] }
            let found = try session.query(
                """
                SELECT c.seq, m.id FROM copy c JOIN message m ON m.seq = c.message_seq
                WHERE m.id = ANY($1::text[]) AND c.address = $2 AND c.state = 'in-flight' AND c.claimed_by IS NULL
                ORDER BY c.seq
                """, [.texts(Array(byForm.keys)), .value(.text(address))]
            ).rows.map(PostgresSession.row)
            var given: [Int64: String] = [:]
            for row in found {
                if let id = row["id"].text.flatMap({ byForm[$0] }) { given[Int64(try row.integer("seq"))] = id }
            }
            let moved = try Self.move(session, given.keys.sorted().map { CopyTransition(seq: $0, to: .delivered, at: now, reason: "acknowledged") })
            let done = Set(moved.compactMap { given[$0] })
            return ids.filter { done.contains($0) }
        }
    }

    // MARK: Shared steps

    /// Holds up to `holdBatch` copies of a stopped inbox that wait to be sent: queued ones, oldest first, then
    /// deferred ones. - Returns: how many were held.
    private static func holdSome(_ session: PostgresSession, address: String, now: Double, reason: String) throws -> Int {
        var seqs: [Int64] = []
        for state in [CopyState.queued, .deferred] where seqs.count < DeliveryQueue.holdBatch {
            seqs += try session.rows(
                "SELECT seq FROM copy WHERE state = ? AND address = ? ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED",
                [.text(state.rawValue), .text(address), .integer(Int64(DeliveryQueue.holdBatch - seqs.count))]
            ).map { Int64(try $0.integer("seq")) }
        }
        return try move(session, seqs.map { CopyTransition(seq: $0, to: .held, at: now, reason: reason) }).count
    }

    private static func expireUnreadable(_ session: PostgresSession, _ seqs: [Int64], now: Double) throws {
        try move(
            session,
            seqs.map {
                CopyTransition(
                    seq: $0, to: .expired, at: now, reason: "not readable with its message: expired", error: DeliveryQueue.unreadableError)
            })
    }

    /// The copies with their messages, by seq; one that cannot be read with its message is missing.
    private static func readCopies(_ session: PostgresSession, _ seqs: [Int64]) throws -> [Int64: QueuedCopy] {
        guard !seqs.isEmpty else { return [:] }
        let rows = try session.query(
            """
            SELECT c.seq, m.id || '/' || c.address AS id, c.address, c.person_key, c.attempts,
                COALESCE(c.lifetime_from, c.created_at) AS lifetime_from, m.id AS message_id, m.type, m.envelope, m.decision
            FROM copy c JOIN message m ON m.seq = c.message_seq WHERE c.seq = ANY($1::int8[])
            """, [.integers(seqs)]
        ).rows.map(PostgresSession.row)
        var copies: [Int64: QueuedCopy] = [:]
        for row in rows {
            guard let seq = row["seq"].integer, let id = row["id"].text, let address = row["address"].text,
                let attempts = row["attempts"].integer, let lifetimeFrom = row["lifetime_from"].real, let messageID = row["message_id"].text,
                let type = row["type"].text, let envelope = row["envelope"].text
            else { continue }
            copies[Int64(seq)] = QueuedCopy(
                seq: Int64(seq), id: id, address: address, personKey: row["person_key"].text, attempts: attempts, lifetimeFrom: lifetimeFrom,
                messageID: messageID, type: type, envelope: envelope, decision: row["decision"].text)
        }
        return copies
    }

    /// Moves copies in one statement, each only from a state `CopyState` allows into its target (and, given an
    /// `owner`, a copy in flight only if that instance claimed it or none did), recording each move.
    /// - Returns: the copies moved.
    @discardableResult
    static func move(_ session: PostgresSession, _ transitions: [CopyTransition], owner: String? = nil) throws -> Set<Int64> {
        guard !transitions.isEmpty else { return [] }
        let rows = try session.query(
            """
            WITH v AS (
                SELECT * FROM unnest($1::int8[], $2::text[], $3::float8[], $4::int8[], $5::float8[], $6::text[], $7::text[],
                    $8::int8[], $9::text[], $10::text[])
                    AS v(seq, state, at, attempts, next_at, last_error, reason, http_status, error, sources)
            ), moved AS (
                UPDATE copy c SET state = v.state, updated_at = v.at, attempts = COALESCE(v.attempts, c.attempts),
                    next_attempt_at = v.next_at, last_error = COALESCE(v.last_error, c.last_error),
                    claimed_by = CASE WHEN v.state = 'in-flight' THEN c.claimed_by END
                FROM v
                WHERE c.seq = v.seq AND c.state = ANY(string_to_array(v.sources, ','))
                    AND ($11::text IS NULL OR c.state <> 'in-flight' OR c.claimed_by IS NULL OR c.claimed_by = $11::text)
                RETURNING c.seq
            )
            INSERT INTO copy_event (copy_seq, at, state, reason, http_status, error)
            SELECT v.seq, v.at, v.state, v.reason, v.http_status, v.error FROM v JOIN moved ON moved.seq = v.seq ORDER BY v.seq
            RETURNING copy_seq
            """,
            [
                .integers(transitions.map(\.seq)), .texts(transitions.map(\.to.rawValue)), .reals(transitions.map(\.at)),
                .integers(transitions.map { $0.attempts.map(Int64.init) }), .reals(transitions.map(\.nextAttemptAt)),
                .texts(transitions.map { $0.error ?? $0.httpStatus.flatMap { (200..<300).contains($0) ? nil : "HTTP \($0)" } }),
                .texts(transitions.map(\.reason)), .integers(transitions.map { $0.httpStatus.map(Int64.init) }),
                .texts(transitions.map(\.error)),
                .texts(transitions.map { CopyState.sources(of: $0.to).map(\.rawValue).joined(separator: ",") }),
                .value(SQLValue(owner)),
            ])
        return Set(try rows.rows.map { Int64(try PostgresSession.row($0).integer("copy_seq")) })
    }
}
