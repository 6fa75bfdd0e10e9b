import Foundation
import GRDB
import LiaisonCore
import LiaisonRuntime
import Testing

@testable import LiaisonStore

/// What only the SQLite store has: its durability settings, its checkpointer, its upgrades of stores that
/// earlier builds made, its query plans and its table of waiting copies. (What both engines do is in
/// `StoreTests`.)
@Suite struct SQLiteCaseStoreTests {
    let router = testRouter

    private func referral(id: String, nino: String = "AB123456C") -> JSONValue { LiaisonStoreTests.referral(id: id, nino: nino) }

    private func router(withHolidaysThrough lastYear: Int) throws -> SubmissionDesk { try LiaisonStoreTests.router(withHolidaysThrough: lastYear) }

    /// Adds `count` queued copies like copy `seq`, as if routed again.
    private func queueCopies(like seq: Int64, count: Int = 1, in store: SQLiteCaseStore) throws {
        try store.pool.write { db in
            for _ in 0..<count {
                try db.execute(
                    sql: """
                        INSERT INTO copy (message_seq, address, party, person_key, state, created_at, updated_at)
                        SELECT message_seq, address, party, person_key, 'queued', created_at, updated_at FROM copy WHERE seq = ?
                        """, arguments: [seq])
            }
        }
    }

    private func claim(
        _ queue: DeliveryQueue, _ address: String, limit: Int, busy: Set<String> = [], _ transitions: [CopyTransition] = [],
        at now: Double
    ) throws -> [QueuedCopy] {
        try queue.settle(
            transitions, inboxErrors: [:], pausedUntil: [:], hold: [], claims: [.init(address: address, limit: limit, busy: busy)], now: now
        ).claimed[address] ?? []
    }

    private func operators(_ path: String) throws -> QueueOperator {
        try Store.openExisting(.file(path), logger: Store.quietLogger).operators
    }

    @Test func commitsAreDurable() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        #expect(try store.synchronousLevel() == 2)
        let mode = try store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test func aStoreFromAPreReleaseBuildIsRefusedNotMisread() throws {
        let temporary = TemporaryStore()
        let old = try DatabaseQueue(path: temporary.path)
        try old.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations VALUES ('v1');
                    CREATE TABLE copy (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE);
                    """)
        }
        try old.close()
        #expect {
            _ = try SQLiteCaseStore(path: temporary.path)
        } throws: { error in
            "\(error)".contains("pre-release build")
        }
    }

    @Test func aV1StoreIsUpgradedWithItsCopiesInFlightNoLongerWaiting() throws {
        let temporary = TemporaryStore()
        let old = try DatabaseQueue(path: temporary.path)
        try SQLiteSchema.migrator.migrate(old, upTo: "v1")
        try old.write { db in
            try db.execute(
                sql: """
                    INSERT INTO message (seq, id, type, sender, person_key, received_at, origin, envelope)
                    VALUES (1, 'm1', 'cwp.referral', 'jcp-leeds', 'AB123456', 0, 'submitted', '{}');
                    INSERT INTO copy (message_seq, address, party, person_key, state, created_at, updated_at)
                    VALUES (1, 'cwp-a/spoc', 'cwp-a', 'AB123456', 'queued', 0, 0), (1, 'cwp-a/spoc', 'cwp-a', 'AB123456', 'queued', 0, 0);
                    UPDATE copy SET state = 'in-flight' WHERE seq = 1;
                    UPDATE copy SET state = 'deferred', next_attempt_at = 60 WHERE seq = 2;
                    """)
            // Under v1 a copy in flight waited in copy_waiting too.
            #expect(try Int64.fetchAll(db, sql: "SELECT seq FROM copy_waiting ORDER BY seq") == [1, 2])
        }
        try old.close()
        let store = try SQLiteCaseStore(path: temporary.path)
        try store.pool.read { db in
            #expect(try Int64.fetchAll(db, sql: "SELECT seq FROM copy_waiting") == [2])
            let index = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'copy_by_next_attempt'")
            #expect(index?.contains("WHERE state = 'deferred'") == true)
            // Counters carried over untouched.
            #expect(try Int.fetchOne(db, sql: "SELECT n FROM queue_count WHERE state = 'in-flight'") == 1)
        }
        try store.pool.write { db in
            try db.execute(sql: "UPDATE copy SET state = 'queued' WHERE seq = 2")
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM copy_waiting") == 0)
        }
    }

    @Test func theCheckpointerCopiesTheLogIntoTheDatabaseOnItsOwnConnection() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        for n in 1...20 {
            let answer = try store.transaction {
                try router.submit(
                    referral(id: String(format: "00000000-0000-4000-8000-%012d", n), nino: String(format: "AB%06dC", n)), from: "jcp-leeds", at: at,
                    in: $0)
            }
            #expect(answer.status == 202)
        }
        let checkpointer = try Checkpointer(path: temporary.path)
        let first = try checkpointer.checkpoint()
        #expect(first.log > 0)
        #expect(first.copied == first.log)
        // Readers still see everything, and the timer index holds each claimant's due times.
        let people = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT person_key) FROM timer") }
        #expect(people == 20)
    }

    @Test func blockedTimersAlreadyInRecordsAreListedAfterTheUpgrade() throws {
        let temporary = TemporaryStore()
        do {
            let store = try SQLiteCaseStore(path: temporary.path)
            let short = try router(withHolidaysThrough: 2025)
            _ = try store.transaction {
                try short.submit(
                    referral(id: "00000000-0000-4000-8000-000000000001"), from: "jcp-leeds", at: Timestamp.parse("2024-12-02T09:00:00Z")!, in: $0)
            }
            _ = try store.transaction { try short.fireDueTimers(at: Timestamp.parse("2027-06-30T09:00:00Z")!, in: $0) }
            // As a store of the v3 layout would be: the record holds the blocked timer, and there is no table.
            try store.pool.write { db in
                try db.execute(sql: "DROP TABLE blocked_timer; DELETE FROM grdb_migrations WHERE identifier = 'v4'")
            }
        }
        #expect(try operators(temporary.path).blockedTimerCount() == 0)
        let reopened = try SQLiteCaseStore(path: temporary.path)
        #expect(try operators(temporary.path).blockedTimers().map(\.kind) == ["end-of-programme"])
        // A line with no record behind it is dropped when timers are retried, not left to warn forever.
        try reopened.pool.write { db in
            try db.execute(sql: "INSERT INTO blocked_timer VALUES ('CE000001', 't', 'escalation', '2026-01-05', 'gone')")
        }
        #expect(try operators(temporary.path).unblockTimers() == 1)
        #expect(try operators(temporary.path).blockedTimerCount() == 0)
    }

    @Test func aClaimantsLaterCopyWaitsBehindOneInFlightOrDeferred() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let queue = DeliveryQueue(store: store)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000003"), from: "jcp-leeds", at: at, in: $0) }
        // A second copy for the same claimant to the same inbox, after the first.
        try queueCopies(like: 1, in: store)
        let (address, person) = try store.pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT address, person_key FROM copy WHERE seq = 1")!
            return (row["address"] as String, row["person_key"] as String)
        }
        let now = at.timeIntervalSince1970
        func claim(busy: Set<String> = [], _ transitions: [CopyTransition] = []) throws -> [Int64] {
            try self.claim(queue, address, limit: 10, busy: busy, transitions, at: now).map(\.seq)
        }
        func waiting() throws -> [Int64] { try store.pool.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM copy_waiting") } }

        #expect(try claim() == [1])
        // In flight, the first copy is the deliverer's to remember (busy), not the store's.
        #expect(try waiting() == [])
        #expect(try claim(busy: [person]) == [])
        // Deferred, it waits in the store, and the later copy with it.
        #expect(try claim([CopyTransition(seq: 1, to: .deferred, at: now, attempts: 1, nextAttemptAt: now + 60, reason: "HTTP 500")]) == [])
        #expect(try waiting() == [1])
        // Due again, the first goes before the second.
        #expect(try claim([CopyTransition(seq: 1, to: .queued, at: now, reason: "operator retry")]) == [1])
        #expect(try waiting() == [])
        #expect(try claim([CopyTransition(seq: 1, to: .delivered, at: now, reason: "delivered", httpStatus: 200)]) == [2])
    }

    @Test func anSCRMessageSentAgainGetsNoSecondClericalTaskFoundByItsIndex() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        func scr(_ id: String) -> JSONValue {
            guard case .object(var fields) = referral(id: id) else { return .null }
            fields["scr"] = .bool(true)
            return .object(fields)
        }
        func send(_ id: String) throws -> SubmissionDesk.Answer {
            try store.transaction { try router.submit(scr(id), from: "jcp-leeds", at: at, in: $0) }
        }
        let id = "00000000-0000-4000-8000-000000000007"
        #expect(try send(id).emitted.count == 1)
        #expect(try send(id).emitted.isEmpty)
        #expect(try send("00000000-0000-4000-8000-000000000008").emitted.count == 1)
        let tasks = try store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM copy WHERE address = 'jcp-leeds/nominated-officer'")
        }
        #expect(tasks == 2)
        // One index probe, not a scan of every message.
        let plan = try store.pool.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN " + SQLiteTransaction.clericalTaskLookup, arguments: [id, "wp.referral", "jcp-leeds/nominated-officer"]
            ).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("message_clerical_task_regarding") })
    }

    @Test func anIDAndContentStoredByAnEarlierBuildAreFoundAndCompareInTodaysForm() throws {
        let temporary = TemporaryStore()
        let id = "6f1c9a1e-abcd-4e0f-8000-00000000beef"
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        do {
            let store = try SQLiteCaseStore(path: temporary.path)
            _ = try store.transaction { try router.submit(referral(id: id), from: "jcp-leeds", at: at, in: $0) }
            // As an earlier build stored it: the id as sent, in upper case, and `scr` left out.
            guard case .object(var legacy) = referral(id: id.uppercased()) else { return }
            legacy["from"] = .string("jcp-leeds")
            try store.pool.write { db in
                try db.execute(
                    sql: "UPDATE message SET id = ?, envelope = ? WHERE id = ?",
                    arguments: [id.uppercased(), JSONValue.object(legacy).canonicalText, id])
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v7'")
            }
        }
        // Opened by this build: the id is lowered.
        let store = try SQLiteCaseStore(path: temporary.path)
        #expect(try store.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM message") } == [id])
        // The same message sent again, in either case, with `scr` left out as then or given as now: the first
        // answer, nothing stored twice.
        for again in [referral(id: id.uppercased()), referral(id: id)] {
            let answer = try store.transaction { try router.submit(again, from: "jcp-leeds", at: at, in: $0) }
            #expect(answer.replayed)
        }
        guard case .object(var explicit) = referral(id: id) else { return }
        explicit["scr"] = .bool(false)
        #expect(try store.transaction { try router.submit(.object(explicit), from: "jcp-leeds", at: at, in: $0) }.replayed)
        // Other content is still a conflict.
        explicit["to"] = .string("prime-b")
        #expect(try store.transaction { try router.submit(.object(explicit), from: "jcp-leeds", at: at, in: $0) }.status == 409)
        // Its copy is found by either case.
        #expect(try operators(temporary.path).show(id.uppercased()).count == 1)
        #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM message") } == 1)
    }

    @Test func aMessageAcceptedUnderBothFormsOfItsIDBeforeTheUpgradeKeepsBothCopiesWithinReach() throws {
        let temporary = TemporaryStore()
        let id = "6f1c9a1e-abcd-4e0f-8000-00000000cafe"
        let upper = id.uppercased()
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        let address = "prime-a/contact"
        do {
            let store = try SQLiteCaseStore(path: temporary.path)
            // The bug this build fixes: accepted once as sent in upper case, then again in lower case.
            _ = try store.transaction { try router.submit(referral(id: id, nino: "CE000021A"), from: "jcp-leeds", at: at, in: $0) }
            try store.pool.write { db in try db.execute(sql: "UPDATE message SET id = ? WHERE id = ?", arguments: [upper, id]) }
            _ = try store.transaction { try router.submit(referral(id: id, nino: "CE000022A"), from: "jcp-leeds", at: at, in: $0) }
            try store.pool.write { db in try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v7'") }
        }
        let store = try SQLiteCaseStore(path: temporary.path)
        #expect(try store.pool.read { db in try String.fetchAll(db, sql: "SELECT id FROM message ORDER BY seq") } == [upper, id])
        #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM upgrade_step") } == 0)
        // Both copies in flight (pulled, say): each copy id acknowledges its own copy, the form given first.
        try store.pool.write { db in try db.execute(sql: "UPDATE copy SET state = 'in-flight'") }
        let queue = DeliveryQueue(store: store)
        #expect(try queue.acknowledge(address: address, ids: ["\(upper)/\(address)"], now: at.timeIntervalSince1970) == ["\(upper)/\(address)"])
        let states = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT c.state FROM copy c JOIN message m ON m.seq = c.message_seq ORDER BY m.seq")
        }
        #expect(states == ["delivered", "in-flight"])
        #expect(try queue.acknowledge(address: address, ids: ["\(id)/\(address)"], now: at.timeIntervalSince1970) == ["\(id)/\(address)"])
        // An operator naming either form sees both.
        #expect(try operators(temporary.path).show(upper).count == 2)
    }

    @Test func holdingAWholeInboxOfAStoreNotYetUpgradedIsRefused() throws {
        let temporary = TemporaryStore()
        let old = try DatabaseQueue(path: temporary.path)
        try SQLiteSchema.migrator.migrate(old, upTo: "v7")
        try old.close()
        let operatorView = try operators(temporary.path)
        #expect(throws: StoreError.self) { try operatorView.apply(.hold, ids: [], inbox: "cwp-a/spoc", now: 0) }
        // What needs no inbox hold still works, and status reads no hold.
        #expect(try operatorView.apply(.release, ids: [], inbox: "cwp-a/spoc", now: 0).notFound == ["--inbox cwp-a/spoc"])
        #expect(try operatorView.status(now: 0, inboxes: ["cwp-a/spoc"]).first?.heldSince == nil)
    }
}
