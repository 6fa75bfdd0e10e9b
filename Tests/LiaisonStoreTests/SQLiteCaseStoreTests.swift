import Foundation
import GRDB
import LiaisonCore
import LiaisonRuntime
@testable import LiaisonStore
import Testing

private let configFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("config")

@Suite struct SQLiteCaseStoreTests {
    let router: Router = {
        let rules = try! RuleFiles.loadRules(at: configFolder.appendingPathComponent("rules.yaml"))
        let calendars = try! RuleFiles.loadCalendars(at: configFolder.appendingPathComponent("uk-bank-holidays.json"))
        let directory = try! PartyDirectory([
            Party(id: "jcp-leeds", kind: .jobcentre, calendar: .englandAndWales), Party(id: "prime-a", kind: .prime),
            Party(id: "cwp-a", kind: .cwp),
        ])
        return Router(context: RuleContext(directory: directory, rules: rules, calendars: calendars))
    }()

    /// The same router with bank-holiday data that ends with `lastYear`: a working day later than that cannot
    /// be counted, so a timer that needs one cannot fire.
    private func router(withHolidaysThrough lastYear: Int) throws -> Router {
        let events = #"[{"date": "2024-12-25"}, {"date": "\#(lastYear)-12-25"}]"#
        let json = #"{"england-and-wales": {"events": \#(events)}, "scotland": {"events": \#(events)}, "northern-ireland": {"events": \#(events)}}"#
        let context = router.rules.context
        return Router(context: RuleContext(
            directory: context.directory, rules: context.rules, calendars: try CalendarSet(govUKJSON: Array(json.utf8))))
    }

    private func referral(id: String, nino: String = "AB123456C") -> JSONValue {
        .object([
            "id": .string(id), "type": .string("wp.referral"), "to": .string("prime-a"), "nino": .string(nino),
            "sentAt": .string("2024-12-02T09:00:00Z"),
            "body": .object(["referralDate": .string("2024-12-02"), "benefit": .string("JSA"), "mandatory": .bool(true)]),
        ])
    }

    /// Adds `count` queued copies like copy `seq` — the same message and inbox, later in the queue — as if
    /// routed again; `anonymous` ones are about no claimant.
    private func queueCopies(like seq: Int64, count: Int = 1, anonymous: Bool = false, in store: SQLiteCaseStore) throws {
        try store.pool.write { db in
            for _ in 0..<count {
                try db.execute(
                    sql: """
                        INSERT INTO copy (message_seq, address, party, person_key, state, created_at, updated_at)
                        SELECT message_seq, address, party, \(anonymous ? "NULL" : "person_key"), 'queued', created_at, updated_at
                        FROM copy WHERE seq = ?
                        """, arguments: [seq])
            }
        }
    }

    /// Records `transitions`, holds `hold`, and claims up to `limit` copies of `address`, in one settle, as the
    /// deliverer does.
    private func claim(
        _ queue: DeliveryQueue, _ address: String, limit: Int, busy: Set<String> = [], _ transitions: [CopyTransition] = [],
        hold: Set<String> = [], at now: Double
    ) throws -> [QueuedCopy] {
        try queue.settle(
            transitions, inboxErrors: [:], pausedUntil: [:], hold: hold, claims: [.init(address: address, limit: limit, busy: busy)], now: now
        ).claimed[address] ?? []
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
            try db.execute(sql: """
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
        try StoreSchema.migrator.migrate(old, upTo: "v1")
        try old.write { db in
            try db.execute(sql: """
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
                try router.submit(referral(id: String(format: "00000000-0000-4000-8000-%012d", n), nino: String(format: "AB%06dC", n)), from: "jcp-leeds", at: at, in: $0)
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

    @Test func theTimerIndexChangesOnlyWithTheDueTimes() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000001"), from: "jcp-leeds", at: at, in: $0) }
        let before = try store.pool.read { db in try Double.fetchAll(db, sql: "SELECT fire_at FROM timer ORDER BY fire_at") }
        #expect(!before.isEmpty)
        // Firing everything due far in the future empties the index for the claimant.
        let later = Timestamp.parse("2026-12-31T09:00:00Z")!
        let fired = try store.transaction { try router.fireDueTimers(at: later, in: $0) }
        #expect(!fired.isEmpty)
        let dueNow = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM timer WHERE fire_at <= ?", arguments: [later.timeIntervalSince1970]) }
        #expect(dueNow == 0)
    }

    @Test func aTimerThatCannotFireIsListedForOperatorsAndFiresOnceUnblocked() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let short = try router(withHolidaysThrough: 2025)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        let answer = try store.transaction { try short.submit(referral(id: "00000000-0000-4000-8000-000000000001"), from: "jcp-leeds", at: at, in: $0) }
        #expect(answer.status == 202)
        let operatorView = QueueOperator(pool: store.pool)
        #expect(try operatorView.blockedTimerCount() == 0)

        // The end of the programme falls in 2026: the exit report's deadline cannot be counted in working days.
        let later = Timestamp.parse("2027-06-30T09:00:00Z")!
        _ = try store.transaction { try short.fireDueTimers(at: later, in: $0) }
        let blocked = try operatorView.blockedTimers()
        #expect(blocked.map(\.kind) == ["end-of-programme"])
        #expect(blocked.first?.nino == "AB12****")
        #expect(blocked.first?.reason.contains("outside the england-and-wales bank-holiday data") == true)
        #expect(try operatorView.blockedTimerCount() == 1)
        let dueIndex = { try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM timer WHERE fire_at <= ?", arguments: [later.timeIntervalSince1970]) } }
        #expect(try dueIndex() == 0)

        // Unblocked while the data is still short: it tries, emits nothing, and is blocked again.
        #expect(try operatorView.unblockTimers() == 1)
        #expect(try operatorView.blockedTimerCount() == 0)
        #expect(try dueIndex() == 1)
        #expect(try store.transaction { try short.fireDueTimers(at: later, in: $0) }.isEmpty)
        #expect(try operatorView.blockedTimerCount() == 1)

        // With data that covers the year, it fires once and the list is empty.
        #expect(try operatorView.unblockTimers() == 1)
        let fired = try store.transaction { try router.fireDueTimers(at: later, in: $0) }
        #expect(fired.filter { $0.type == .wpExitReportRequest }.count == 1)
        #expect(try operatorView.blockedTimerCount() == 0)
        #expect(try store.transaction { try router.fireDueTimers(at: later, in: $0) }.isEmpty)
    }

    @Test func blockedTimersAlreadyInRecordsAreListedAfterTheUpgrade() throws {
        let temporary = TemporaryStore()
        do {
            let store = try SQLiteCaseStore(path: temporary.path)
            let short = try router(withHolidaysThrough: 2025)
            _ = try store.transaction { try short.submit(referral(id: "00000000-0000-4000-8000-000000000001"), from: "jcp-leeds", at: Timestamp.parse("2024-12-02T09:00:00Z")!, in: $0) }
            _ = try store.transaction { try short.fireDueTimers(at: Timestamp.parse("2027-06-30T09:00:00Z")!, in: $0) }
            // As a store of the v3 layout would be: the record holds the blocked timer, and there is no table.
            try store.pool.write { db in
                try db.execute(sql: "DROP TABLE blocked_timer; DELETE FROM grdb_migrations WHERE identifier = 'v4'")
            }
        }
        #expect(try QueueOperator(path: temporary.path).blockedTimerCount() == 0)
        let reopened = try SQLiteCaseStore(path: temporary.path)
        #expect(try QueueOperator(pool: reopened.pool).blockedTimers().map(\.kind) == ["end-of-programme"])
        // A line with no record behind it is dropped when timers are retried, not left to warn forever.
        try reopened.pool.write { db in
            try db.execute(sql: "INSERT INTO blocked_timer VALUES ('CE000001', 't', 'escalation', '2026-01-05', 'gone')")
        }
        #expect(try QueueOperator(pool: reopened.pool).unblockTimers() == 1)
        #expect(try QueueOperator(pool: reopened.pool).blockedTimerCount() == 0)
    }

    @Test func theRegistryAndItsTimersSurviveAReopenAndFireOnce() throws {
        let temporary = TemporaryStore()
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        do {
            let store = try SQLiteCaseStore(path: temporary.path)
            let answer = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000001"), from: "jcp-leeds", at: at, in: $0) }
            #expect(answer.status == 202)
        }
        let reopened = try SQLiteCaseStore(path: temporary.path)
        let due = Timestamp.parse("2024-12-24T00:00:00Z")!
        let fired = try reopened.transaction { try router.fireDueTimers(at: due, in: $0) }
        #expect(fired.map(\.type) == [.wpAttachmentOverdue, .wpAttachmentOverdue])
        let again = try SQLiteCaseStore(path: temporary.path)
        #expect(try again.transaction { try router.fireDueTimers(at: due, in: $0) }.isEmpty)
        let copies = try again.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM copy") }
        #expect(copies == 3)
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

    @Test func aClaimantWhoseCopiesWaitNeverHoldsUpAnotherClaimant() throws {
        let fixture = try StoreFixture()
        let (store, queue, at, now) = (fixture.store, fixture.queue, fixture.at, fixture.now)
        let address = "prime-a/contact"
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000007", nino: "CE000001A"), from: "jcp-leeds", at: at, in: $0) }
        // Three hundred later copies of the same claimant, all behind their first (more than two pages of
        // a claim), then another claimant's copy.
        try queueCopies(like: 1, count: 300, in: store)
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000008", nino: "CE000002A"), from: "jcp-leeds", at: at, in: $0) }
        func claim(busy: Set<String> = [], _ transitions: [CopyTransition] = [], at time: Double? = nil) throws -> [Int64] {
            try self.claim(queue, address, limit: 2, busy: busy, transitions, at: time ?? now).map(\.seq)
        }
        // The first claimant's first copy goes, and so does the other claimant's, three hundred copies on.
        #expect(try claim() == [1, 302])
        // While the first copy is in flight, the claimant's later copies wait.
        #expect(try claim(busy: ["CE000001"]) == [])
        // Deferred, the first copy still holds back only its own claimant's copies.
        let deferred = CopyTransition(seq: 1, to: .deferred, at: now, attempts: 1, nextAttemptAt: now + 60, reason: "HTTP 500")
        let delivered = CopyTransition(seq: 302, to: .delivered, at: now, reason: "delivered", httpStatus: 200)
        #expect(try claim([deferred, delivered]) == [])
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000009", nino: "CE000003A"), from: "jcp-leeds", at: at, in: $0) }
        #expect(try claim() == [303])
        // Due again, the first copy goes before its claimant's later ones.
        #expect(try claim(at: now + 61) == [1])
    }

    @Test func aCopyThatCannotBeReadWithItsMessageIsExpiredAndStopsNoOtherDelivery() throws {
        let fixture = try StoreFixture()
        let (store, queue, at, now) = (fixture.store, fixture.queue, fixture.at, fixture.now)
        let address = "prime-a/contact"
        func submit(_ index: Int, _ nino: String) throws {
            _ = try store.transaction {
                try router.submit(referral(id: "00000000-0000-4000-8000-00000000002\(index)", nino: nino), from: "jcp-leeds", at: at, in: $0)
            }
        }
        // A copy for one claimant, one for another, and a later one for the first (with the second's message).
        try submit(0, "CE000001A")
        try submit(1, "CE000002A")
        try store.pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO copy (message_seq, address, party, person_key, state, created_at, updated_at)
                    SELECT message_seq, address, party, 'CE000001', 'queued', created_at, updated_at FROM copy WHERE seq = 2
                    """)
        }
        // The first copy's message is removed by hand, past the foreign key.
        try store.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            try db.execute(sql: "DELETE FROM message WHERE seq = (SELECT message_seq FROM copy WHERE seq = 1)")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        // The claim goes on past it: the copy that can never be sent is expired, with why, and holds back
        // neither the other claimant nor its own claimant's later copy; the deliverer hears of it, to log it.
        let settlement = try queue.settle(
            [], inboxErrors: [:], pausedUntil: [:], hold: [], claims: [.init(address: address, limit: 10, busy: [])], now: now)
        #expect(settlement.claimed[address]?.map(\.seq) == [2, 3])
        #expect(settlement.unreadable == [.init(seq: 1, address: address)])
        func stateAndError(_ seq: Int64) throws -> (String, String?)? {
            try store.pool.read { db in try Row.fetchOne(db, sql: "SELECT state, last_error FROM copy WHERE seq = ?", arguments: [seq]) }.map {
                ($0["state"] as String, $0["last_error"] as String?)
            }
        }
        #expect(try stateAndError(1)?.0 == "expired")
        #expect(try stateAndError(1)?.1 == DeliveryQueue.unreadableError)
        let counts = try QueueOperator(pool: store.pool).status(now: now).first { $0.inbox == address }
        #expect(counts?.expired == 1)
        // A pull does the same, here for a stored answer that is not JSON (SQLite cannot extract the decision).
        try submit(2, "CE000003A")
        try submit(3, "CE000004A")
        try store.pool.write { db in
            try db.execute(sql: "UPDATE message SET answer = '{\"decision\":' WHERE seq = (SELECT message_seq FROM copy WHERE seq = 5)")
        }
        let leased = try queue.lease(address: address, limit: 10, now: now, lease: 300, lifetime: 86_400)
        #expect(leased.copies.map(\.seq) == [4])
        #expect(leased.unreadable == [5])
        #expect(try stateAndError(5)?.0 == "expired")
    }

    @Test func aDueRetryNeverOvertakesAnEarlierCopyOfItsClaimantBeyondAClaimsReach() throws {
        let fixture = try StoreFixture()
        let (store, queue, at, now) = (fixture.store, fixture.queue, fixture.at, fixture.now)
        let address = "prime-a/contact"
        // 1,101 copies of one claimant, their first deferred: more than a claim reads past.
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000021", nino: "CE000021A"), from: "jcp-leeds", at: at, in: $0) }
        try queueCopies(like: 1, count: 1_100, in: store)
        // Then another claimant's copy, queued, and a later one of theirs deferred and due (as after an operator
        // sent the earlier one back to the queue).
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000022", nino: "CE000022A"), from: "jcp-leeds", at: at, in: $0) }
        try queueCopies(like: 1102, in: store)
        try store.pool.write { db in
            try db.execute(sql: "UPDATE copy SET state = 'deferred', next_attempt_at = ? WHERE seq = 1", arguments: [now + 60])
            try db.execute(sql: "UPDATE copy SET state = 'deferred', next_attempt_at = ? WHERE seq = 1103", arguments: [now - 1])
        }
        func claim() throws -> [Int64] { try self.claim(queue, address, limit: 2, at: now).map(\.seq) }
        // The claim reads 1,024 waiting copies and stops: the due retry waits, since its claimant's earlier copy
        // lies beyond.
        #expect(try claim() == [])
        // Once the first claimant's copies are through, the earlier copy goes first.
        try store.pool.write { db in try db.execute(sql: "UPDATE copy SET state = 'delivered' WHERE seq <= 1101") }
        #expect(try claim() == [1102])
    }

    @Test func aRestartRequeuesWhatWasLeftInFlightButThePullInboxesLeases() throws {
        let fixture = try StoreFixture()
        let (store, queue, at, now) = (fixture.store, fixture.queue, fixture.at, fixture.now)
        for n in 1...4 {
            let id = String(format: "00000000-0000-4000-8000-%012d", 200 + n)
            _ = try store.transaction { try router.submit(referral(id: id, nino: String(format: "CE%06dA", n)), from: "jcp-leeds", at: at, in: $0) }
        }
        // Left in flight by the last run: a push attempt, one to an inbox since made a pull inbox (no lease
        // end), a pull lease, and a lease of an inbox no longer configured.
        try store.pool.write { db in
            try db.execute(sql: "UPDATE copy SET state = 'in-flight', address = 'cwp-a/spoc' WHERE seq = 2")
            try db.execute(sql: "UPDATE copy SET state = 'in-flight', address = 'cwp-a/spoc', next_attempt_at = ? WHERE seq = 3", arguments: [now + 300])
            try db.execute(sql: "UPDATE copy SET state = 'in-flight', address = 'cwp-b/spoc', next_attempt_at = ? WHERE seq = 4", arguments: [now + 300])
            try db.execute(sql: "UPDATE copy SET state = 'in-flight' WHERE seq = 1")
        }
        #expect(try queue.recoverInFlight(at: now, isPullInbox: { $0 == "cwp-a/spoc" }) == 3)
        let states = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT state FROM copy ORDER BY seq") }
        #expect(states == ["queued", "queued", "in-flight", "queued"])
    }

    @Test func aCopyAnOperatorSendsBackGetsAWholeLifetimeAgain() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let queue = DeliveryQueue(store: store)
        let operatorView = QueueOperator(pool: store.pool)
        let id = "00000000-0000-4000-8000-000000000005"
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        _ = try store.transaction { try router.submit(referral(id: id), from: "jcp-leeds", at: at, in: $0) }
        let address = "prime-a/contact"
        let accepted = at.timeIntervalSince1970
        func claim(at now: Double, _ transitions: [CopyTransition] = [], hold: Set<String> = []) throws -> [QueuedCopy] {
            try self.claim(queue, address, limit: 10, transitions, hold: hold, at: now)
        }
        let first = try claim(at: accepted)
        #expect(first.map(\.lifetimeFrom) == [accepted])
        // Five days on it expires; an operator replays it a week later, and its lifetime starts then.
        let expiry = accepted + 5 * 86_400
        #expect(try claim(at: expiry, [CopyTransition(seq: first[0].seq, to: .expired, at: expiry, attempts: 9, reason: "lifetime over")]).isEmpty)
        let replay = expiry + 7 * 86_400
        #expect(try operatorView.apply(.retry, ids: ["\(id)/\(address)"], inbox: nil, now: replay) == .init(moved: 1, notFound: []))
        #expect(try claim(at: replay).map(\.lifetimeFrom) == [replay])
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
        func send(_ id: String) throws -> Router.Answer {
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
        #expect(try QueueOperator(pool: store.pool).show(id.uppercased()).count == 1)
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
        #expect(try QueueOperator(pool: store.pool).show(upper).count == 2)
    }

    @Test func anExpiredCopyHoldsBackNoLaterCopyAndAnInboxHoldSaysWhatWasInFlight() throws {
        let fixture = try StoreFixture()
        let (store, queue, at, now) = (fixture.store, fixture.queue, fixture.at, fixture.now)
        let operatorView = fixture.operatorView
        let id = "00000000-0000-4000-8000-000000000006"
        _ = try store.transaction { try router.submit(referral(id: id), from: "jcp-leeds", at: at, in: $0) }
        let address = "prime-a/contact"
        // A later copy for the same claimant to the same inbox.
        try queueCopies(like: 1, in: store)
        #expect(try claim(queue, address, limit: 10, at: now).map(\.seq) == [1])
        // The first expires; an expired copy holds back nothing, so the later one goes and is delivered.
        let expired = CopyTransition(seq: 1, to: .expired, at: now, attempts: 9, reason: "lifetime over")
        #expect(try claim(queue, address, limit: 10, [expired], at: now).map(\.seq) == [2])
        _ = try claim(queue, address, limit: 10, [CopyTransition(seq: 2, to: .delivered, at: now, reason: "delivered", httpStatus: 200)], at: now)
        // Replaying the first now cannot keep the order: it goes after the later one.
        let replayed = try operatorView.apply(.retry, ids: ["\(id)/\(address)"], inbox: nil, now: now + 60)
        #expect(replayed.moved == 1)
        // Holding the whole inbox while that copy is in flight: it is not moved, and the operator hears so.
        #expect(try claim(queue, address, limit: 10, at: now + 60).map(\.seq) == [1])
        let held = try operatorView.apply(.hold, ids: [], inbox: address, now: now + 61)
        #expect(held.moved == 0)
        #expect(held.inFlight == 1)
    }

    @Test func operatorsMoveAWholeInboxInTurnsAndHearWhyAnIDWasNotMoved() throws {
        let fixture = try StoreFixture()
        let (store, queue, at, now) = (fixture.store, fixture.queue, fixture.at, fixture.now)
        let operatorView = fixture.operatorView
        let address = "prime-a/contact"
        let first = "00000000-0000-4000-8000-000000000011"
        _ = try store.transaction { try router.submit(referral(id: first, nino: "CE000011A"), from: "jcp-leeds", at: at, in: $0) }
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000012", nino: "CE000012A"), from: "jcp-leeds", at: at, in: $0) }
        // 2,500 more copies of the second message for the inbox: more than two turns' worth.
        try queueCopies(like: 2, count: 2_500, anonymous: true, in: store)
        // Every inbox of a party, in turns of a thousand.
        #expect(try operatorView.apply(.hold, ids: [], inbox: "prime-a", now: now).moved == 2_502)
        // A copy the deliverer claims between an action's read and its move stays in flight: the move itself
        // allows only the action's states.
        let claimedMeanwhile = try store.pool.write { db in
            try db.execute(sql: "UPDATE copy SET state = 'in-flight' WHERE seq = 3")
            return try queue.move(
                db, CopyTransition(seq: 3, to: .held, at: now, reason: "operator hold"), onlyFrom: QueueOperator.Action.hold.sources)
        }
        #expect(!claimedMeanwhile)
        #expect(try store.pool.read { db in try String.fetchOne(db, sql: "SELECT state FROM copy WHERE seq = 3") } == "in-flight")
        try store.pool.write { db in try db.execute(sql: "UPDATE copy SET state = 'held' WHERE seq = 3") }
        // A stale id: its copy is held already, and hold does not apply to held copies.
        let stale = try operatorView.apply(.hold, ids: [first], inbox: nil, now: now)
        #expect(stale.moved == 0)
        #expect(stale.notApplicable == [first: ["held"]])
        // The inbox has answered 410: releasing one copy by id warns that the deliverer will hold it again.
        try store.pool.write { db in
            try db.execute(
                sql: "INSERT INTO inbox_status (address, disabled_at) VALUES (?, ?) ON CONFLICT (address) DO UPDATE SET disabled_at = excluded.disabled_at",
                arguments: [address, now])
        }
        let one = try operatorView.apply(.release, ids: [first], inbox: nil, now: now)
        #expect(one.moved == 1)
        #expect(one.disabledInboxes == [address])
        // Releasing the inbox enables it again and moves the rest.
        let rest = try operatorView.apply(.release, ids: [], inbox: address, now: now)
        #expect(rest.moved == 2_501)
        #expect(rest.disabledInboxes.isEmpty)
        #expect(try operatorView.status(now: now, inboxes: [address]).first?.disabledSince == nil)
    }

    @Test func anInboxThatAnswered410HoldsLaterCopiesUntilReleased() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let queue = DeliveryQueue(store: store)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        let address = "prime-a/contact"
        let now = at.timeIntervalSince1970
        func submit(_ n: Int) throws {
            let id = String(format: "00000000-0000-4000-8000-%012d", 100 + n)
            _ = try store.transaction { try router.submit(referral(id: id, nino: String(format: "CE%06dA", n)), from: "jcp-leeds", at: at, in: $0) }
        }
        func claim(_ transitions: [CopyTransition] = [], hold: Set<String> = []) throws -> [QueuedCopy] {
            try self.claim(queue, address, limit: 1, transitions, hold: hold, at: now)
        }
        func states() throws -> [String] {
            try store.pool.read { db in try String.fetchAll(db, sql: "SELECT state FROM copy ORDER BY seq") }
        }
        try submit(1)
        try submit(2)
        let sent = try claim()
        #expect(sent.count == 1)
        // The inbox answers 410: that copy and the one waiting are held, and so is one accepted afterwards.
        let gone = CopyTransition(seq: sent[0].seq, to: .held, at: now, attempts: 1, reason: "inbox gone (410): held", httpStatus: 410)
        #expect(try claim([gone], hold: [address]).isEmpty)
        try submit(3)
        #expect(try claim().isEmpty)
        #expect(try states() == ["held", "held", "held"])
        // Operators see that the inbox is disabled, and since when.
        func line() throws -> InboxStatus? { try QueueOperator(pool: store.pool).status(now: now).first { $0.inbox == address } }
        #expect(try line()?.disabledSince == Timestamp.format(at))
        // Releasing the inbox enables it again.
        #expect(try QueueOperator(pool: store.pool).apply(.release, ids: [], inbox: address, now: now) == .init(moved: 3, notFound: []))
        #expect(try line()?.disabledSince == nil)
        #expect(try claim().count == 1)
    }

    @Test func aPullInboxKeepsEachClaimantsOrderAcrossLeases() throws {
        let fixture = try StoreFixture()
        let (store, queue, at, now) = (fixture.store, fixture.queue, fixture.at, fixture.now)
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000006"), from: "jcp-leeds", at: at, in: $0) }
        // A second copy for the same claimant to the same (pull) inbox, after the first.
        try queueCopies(like: 1, in: store)
        let address = try store.pool.read { db in try String.fetchOne(db, sql: "SELECT address FROM copy WHERE seq = 1")! }
        func lease(limit: Int = 1, at time: Double? = nil) throws -> [Int64] {
            try queue.lease(address: address, limit: limit, now: time ?? now, lease: 300, lifetime: 86_400).copies.map(\.seq)
        }
        #expect(try lease() == [1])
        // The first is leased and not acknowledged: the second waits, even for a consumer asking again, who is
        // told that one copy waits behind an earlier one.
        let held = try queue.lease(address: address, limit: 1, now: now, lease: 300, lifetime: 86_400)
        #expect(held.copies.isEmpty)
        #expect(held.waitingBehindEarlier == 1)
        let firstID = try #require(try QueueOperator(pool: store.pool).show("00000000-0000-4000-8000-000000000006").first?.copy.id)
        _ = try queue.acknowledge(address: address, ids: [firstID], now: now)
        #expect(try lease() == [2])
        // Both queued at once are leased together, in order.
        try store.pool.write { db in try db.execute(sql: "UPDATE copy SET state = 'queued'") }
        #expect(try lease(limit: 10) == [1, 2])
        // Leases that run out unacknowledged are offered again, until the copies' lifetime is over: then
        // they are expired, kept for an operator, as pushed copies are after their last failed attempt.
        #expect(try lease(limit: 10, at: now + 301) == [1, 2])
        #expect(try lease(limit: 10, at: now + 86_401) == [])
        func states() throws -> [String] { try store.pool.read { db in try String.fetchAll(db, sql: "SELECT state FROM copy ORDER BY seq") } }
        #expect(try states() == ["expired", "expired"])
        // Without a pull, the deliverer's sweep returns lapsed leases the same way.
        try store.pool.write { db in try db.execute(sql: "UPDATE copy SET state = 'queued', lifetime_from = ?", arguments: [now]) }
        #expect(try lease(limit: 10) == [1, 2])
        #expect(try queue.returnLapsedLeases(addresses: [address], now: now + 299, lifetime: 86_400) == 0)
        #expect(try queue.returnLapsedLeases(addresses: [address], now: now + 301, lifetime: 86_400) == 2)
        #expect(try states() == ["queued", "queued"])
    }

    @Test func aRetryAfterPauseOutlivesARestartUntilItEndsOrAnOperatorRetriesTheInbox() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let queue = DeliveryQueue(store: store)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        let now = at.timeIntervalSince1970
        let address = "prime-a/contact"
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000010"), from: "jcp-leeds", at: at, in: $0) }
        _ = try queue.settle([], inboxErrors: [:], pausedUntil: [address: now + 1_000, "cwp-a/spoc": now + 100], hold: [], claims: [], now: now)
        // A shorter wait asked for afterwards does not cut the longer one short.
        _ = try queue.settle([], inboxErrors: [:], pausedUntil: [address: now + 10], hold: [], claims: [], now: now)

        let reopened = DeliveryQueue(store: try SQLiteCaseStore(path: temporary.path))
        func claim(at time: Double) throws -> Int { try self.claim(reopened, address, limit: 5, at: time).count }
        #expect(try claim(at: now + 500) == 0)
        // queue status names the pause that is still ahead, not the one that has run out.
        let operatorView = QueueOperator(pool: store.pool)
        let status = try operatorView.status(now: now + 500, inboxes: [address, "cwp-a/spoc"])
        #expect(status.map(\.pausedUntil) == [nil, Timestamp.format(Date(timeIntervalSince1970: now + 1_000))])
        // Retrying the inbox ends the pause at once, for the deliverer that is running.
        _ = try operatorView.apply(.retry, ids: [], inbox: address, now: now + 501)
        #expect(try operatorView.status(now: now + 501, inboxes: [address]).first?.pausedUntil == nil)
        #expect(try claim(at: now + 502) == 1)
    }

    @Test func anInboxHeldAsAWholeSendsNothingUntilReleased() throws {
        let fixture = try StoreFixture()
        let (store, queue, at, now) = (fixture.store, fixture.queue, fixture.at, fixture.now)
        let operatorView = fixture.operatorView
        let address = "prime-a/contact"
        func submit(_ n: Int) throws {
            let id = String(format: "00000000-0000-4000-8000-%012d", 200 + n)
            _ = try store.transaction { try router.submit(referral(id: id, nino: String(format: "CE%06dA", n)), from: "jcp-leeds", at: at, in: $0) }
        }
        func states() throws -> [String] {
            try store.pool.read { db in try String.fetchAll(db, sql: "SELECT state FROM copy ORDER BY seq") }
        }
        try submit(1)
        try submit(2)
        let sending = try claim(queue, address, limit: 1, at: now)
        #expect(sending.map(\.seq) == [1])
        // Held while one copy is in flight: the one waiting is held, the one in flight finishes its attempt.
        let held = try operatorView.apply(.hold, ids: [], inbox: address, now: now + 1)
        #expect(held.moved == 1)
        #expect(held.inFlight == 1)
        #expect(try operatorView.status(now: now + 1, inboxes: [address]).first?.heldSince == Timestamp.format(Date(timeIntervalSince1970: now + 1)))
        // The attempt fails: the copy is held, not tried again; a copy accepted since is held, nothing is sent.
        try submit(3)
        let failed = CopyTransition(seq: 1, to: .deferred, at: now + 2, attempts: 1, nextAttemptAt: now + 3, reason: "HTTP 500", httpStatus: 500)
        #expect(try claim(queue, address, limit: 10, [failed], at: now + 2).isEmpty)
        #expect(try claim(queue, address, limit: 10, at: now + 60).isEmpty)
        #expect(try states() == ["held", "held", "held"])
        let events = try operatorView.show(String(format: "00000000-0000-4000-8000-%012d", 203)).first?.events.map { $0.reason ?? "" }
        #expect(events == ["accepted", "inbox held by an operator"])
        // A pull of a held inbox hands out nothing.
        #expect(try queue.lease(address: address, limit: 10, now: now + 61, lease: 300, lifetime: 86_400).copies.isEmpty)
        // Releasing the inbox ends the hold; its copies go again.
        #expect(try operatorView.apply(.release, ids: [], inbox: address, now: now + 62).moved == 3)
        #expect(try operatorView.status(now: now + 62, inboxes: [address]).first?.heldSince == nil)
        #expect(try claim(queue, address, limit: 10, at: now + 63).map(\.seq) == [1, 2, 3])
    }

    /// The deliverer holds a stopped inbox's backlog a batch per settle, so that no settle holds the store long;
    /// the operator hears how many copies are held in all, whoever moved them.
    @Test func aStoppedInboxsBacklogIsHeldInBatches() throws {
        let fixture = try StoreFixture()
        let (store, queue, at, now) = (fixture.store, fixture.queue, fixture.at, fixture.now)
        let address = "prime-a/contact"
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000501"), from: "jcp-leeds", at: at, in: $0) }
        try queueCopies(like: 1, count: DeliveryQueue.holdBatch + 499, anonymous: true, in: store)
        // The hold is stored before the operator's command moves any copy, and the deliverer settles first.
        try store.pool.write { db in try db.execute(sql: "INSERT INTO inbox_status (address, held_at) VALUES (?, ?)", arguments: [address, now]) }
        func settle() throws -> DeliveryQueue.Settlement {
            try queue.settle([], inboxErrors: [:], pausedUntil: [:], hold: [], claims: [.init(address: address, limit: 10, busy: [])], now: now)
        }
        let first = try settle()
        #expect(first.claimed.isEmpty)
        #expect(first.held[address]?.count == DeliveryQueue.holdBatch)
        #expect(first.held[address]?.reason == "inbox held by an operator")
        #expect(try settle().held[address]?.count == 500)
        #expect(try settle().held.isEmpty)
        let result = try QueueOperator(pool: store.pool).apply(.hold, ids: [], inbox: address, now: now)
        #expect(result.moved == 0)
        #expect(result.heldInInbox == DeliveryQueue.holdBatch + 500)
    }

    @Test func holdingAWholeInboxOfAStoreNotYetUpgradedIsRefused() throws {
        let temporary = TemporaryStore()
        let old = try DatabaseQueue(path: temporary.path)
        try StoreSchema.migrator.migrate(old, upTo: "v7")
        try old.close()
        let operatorView = try QueueOperator(path: temporary.path)
        #expect(throws: StoreError.self) { try operatorView.apply(.hold, ids: [], inbox: "cwp-a/spoc", now: 0) }
        // What needs no inbox hold still works, and status reads no hold.
        #expect(try operatorView.apply(.release, ids: [], inbox: "cwp-a/spoc", now: 0).notFound == ["--inbox cwp-a/spoc"])
        #expect(try operatorView.status(now: 0, inboxes: ["cwp-a/spoc"]).first?.heldSince == nil)
    }

    @Test func anActionOnNamedCopiesSaysWhatItDidNotMoveAndWhy() throws {
        let fixture = try StoreFixture()
        let (store, queue, at, now) = (fixture.store, fixture.queue, fixture.at, fixture.now)
        let operatorView = fixture.operatorView
        let address = "prime-a/contact"
        let id = "00000000-0000-4000-8000-000000000301"
        _ = try store.transaction { try router.submit(referral(id: id), from: "jcp-leeds", at: at, in: $0) }
        // A second copy of the message to the inbox, about no claimant, so that both can be in different states
        // (the copy id names both, as the message id does).
        try queueCopies(like: 1, anonymous: true, in: store)
        #expect(try claim(queue, address, limit: 1, at: now).map(\.seq) == [1])
        // The message id names both: the queued one is held, the one in flight is said to be, not counted.
        let both = try operatorView.apply(.hold, ids: [id], inbox: nil, now: now)
        #expect(both.moved == 1)
        #expect(both.inFlight == 1)
        #expect(both.notApplicable.isEmpty)
        // Again: nothing moved, said with the states found.
        let again = try operatorView.apply(.hold, ids: ["\(id)/\(address)"], inbox: nil, now: now)
        #expect(again == .init(moved: 0, notFound: [], notApplicable: ["\(id)/\(address)": ["held", "in-flight"]], inFlight: 1))
        // Named and of the inbox named too: moved once, and not reported as not applicable.
        let twice = try operatorView.apply(.release, ids: [id], inbox: address, now: now)
        #expect(twice.moved == 1)
        #expect(twice.notApplicable.isEmpty)
    }

    @Test func queueStatusSaysWhenAPausedInboxIsTriedNextAndCountsAWhole24Hours() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let queue = DeliveryQueue(store: store)
        let operatorView = QueueOperator(pool: store.pool)
        // Delivered in the last second of an hour.
        let at = Timestamp.parse("2024-12-02T09:59:59Z")!
        let now = at.timeIntervalSince1970
        let address = "prime-a/contact"
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000401"), from: "jcp-leeds", at: at, in: $0) }
        try queueCopies(like: 1, count: 2, anonymous: true, in: store)
        #expect(try claim(queue, address, limit: 2, at: now).map(\.seq) == [1, 2])
        let delivered = CopyTransition(seq: 1, to: .delivered, at: now, attempts: 1, reason: "delivered", httpStatus: 200)
        let failed = CopyTransition(seq: 2, to: .deferred, at: now, attempts: 1, nextAttemptAt: now + 60, reason: "HTTP 503", httpStatus: 503)
        _ = try queue.settle([delivered, failed], inboxErrors: [:], pausedUntil: [address: now + 600], hold: [], claims: [], now: now)
        func line(at time: Double) throws -> InboxStatus? { try operatorView.status(now: time, inboxes: [address]).first }
        // The deferred copy is due in a minute, but nothing goes before the pause ends.
        #expect(try line(at: now + 1)?.nextAttempt == Timestamp.format(Date(timeIntervalSince1970: now + 600)))
        #expect(try line(at: now + 601)?.nextAttempt == Timestamp.format(Date(timeIntervalSince1970: now + 60)))
        // Still counted a second short of 24 hours later.
        #expect(try line(at: now + 86_399)?.deliveredLast24h == 1)
        #expect(try line(at: now + 90_000)?.deliveredLast24h == 0)
        // Retrying a copy of the paused inbox (the deferred one) says it waits for the pause.
        let retried = try operatorView.apply(.retry, ids: ["00000000-0000-4000-8000-000000000401/\(address)"], inbox: nil, now: now + 2)
        #expect(retried.moved == 1)
        #expect(retried.pausedInboxes == [address: Timestamp.format(Date(timeIntervalSince1970: now + 600))])
    }

    @Test func idempotencyHoldsAcrossAReopen() throws {
        let temporary = TemporaryStore()
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        let id = "00000000-0000-4000-8000-000000000002"
        let first = try SQLiteCaseStore(path: temporary.path).transaction {
            try router.submit(referral(id: id), from: "jcp-leeds", at: at, in: $0)
        }
        let store = try SQLiteCaseStore(path: temporary.path)
        let second = try store.transaction { try router.submit(referral(id: id), from: "jcp-leeds", at: at, in: $0) }
        #expect(second.replayed)
        #expect(second.response == first.response)
        let conflict = try store.transaction { try router.submit(referral(id: id, nino: "CE654321A"), from: "jcp-leeds", at: at, in: $0) }
        #expect(conflict.status == 409)
        let messages = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM message") }
        #expect(messages == 1)
    }

    @Test func theIDOfAGeneratedMessageOrAnotherPartysIsAConflictNotAStoreError() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        // An SCR referral is refused and becomes a clerical task with an id of Liaison's own.
        guard case .object(var scr) = referral(id: "00000000-0000-4000-8000-000000000003") else { return }
        scr["scr"] = .bool(true)
        let refused = try store.transaction { try router.submit(.object(scr), from: "jcp-leeds", at: at, in: $0) }
        #expect(refused.refusal?.code.rawValue == "scr-clerical-only")
        let generatedID = try #require(try store.pool.read { db in
            try String.fetchOne(db, sql: "SELECT id FROM message WHERE origin = 'generated'")
        })
        // Before, the id's unique index failed the insert and the sender was told 503 for ever.
        let reused = try store.transaction { try router.submit(referral(id: generatedID), from: "jcp-leeds", at: at, in: $0) }
        #expect(reused.status == 409)
        #expect(reused.refusal?.code.rawValue == "id-conflict")
        // An id jcp-leeds used is taken for cwp-a, whatever it sends.
        let id = "00000000-0000-4000-8000-000000000004"
        #expect(try store.transaction { try router.submit(referral(id: id), from: "jcp-leeds", at: at, in: $0) }.status == 202)
        guard case .object(var claimed) = referral(id: id) else { return }
        claimed["from"] = .string("jcp-leeds")
        let other = try store.transaction { try router.submit(.object(claimed), from: "cwp-a", at: at, in: $0) }
        #expect(other.refusal?.code.rawValue == "id-conflict")
        #expect(other.response["decision"] == nil)
    }

    @Test func aFailedTransactionLeavesNothingHalfWritten() throws {
        struct Boom: Error {}
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        #expect(throws: Boom.self) {
            try store.transaction { transaction -> Void in
                _ = try router.submit(referral(id: "00000000-0000-4000-8000-000000000003"), from: "jcp-leeds", at: at, in: transaction)
                throw Boom()
            }
        }
        let counts = try store.pool.read { db in
            [try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM message"), try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM person"),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM copy"), try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM timer")]
        }
        #expect(counts == [0, 0, 0, 0])
    }

    @Test func aBatchKeepsEveryItemButTheOneThatFailed() throws {
        struct Boom: Error {}
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        let items = [("00000000-0000-4000-8000-000000000011", "AB123456C"), ("00000000-0000-4000-8000-000000000012", "CE123456A"),
                     ("00000000-0000-4000-8000-000000000013", "HJ123456B")]
        // Without a failure the batch is stored whole.
        let whole = try store.batch(Array(items.prefix(1))) { item, transaction in
            try router.submit(referral(id: item.0, nino: item.1), from: "jcp-leeds", at: at, in: transaction)
        }
        #expect(whole.map { (try? $0.get())?.status } == [202])
        // The middle item stores its message and then fails: it alone is rolled back, and the work for the
        // others, run again, is stored once.
        var runs = 0
        let results = try store.batch(Array(items.dropFirst(0).suffix(2)) + [("00000000-0000-4000-8000-000000000014", "JK123456D")]) {
            item, transaction in
            runs += 1
            let answer = try router.submit(referral(id: item.0, nino: item.1), from: "jcp-leeds", at: at, in: transaction)
            if item.1 == "HJ123456B" { throw Boom() }
            return answer
        }
        #expect(runs > 3)
        #expect(results.map { (try? $0.get())?.status } == [202, nil, 202])
        #expect(throws: Boom.self) { try results[1].get() }
        let stored = try store.pool.read { db in
            (try String.fetchAll(db, sql: "SELECT person_key FROM message ORDER BY seq"),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM copy"), try String.fetchAll(db, sql: "SELECT key FROM person ORDER BY key"))
        }
        #expect(stored.0 == ["AB123456", "CE123456", "JK123456"])
        #expect(stored.1 == 3)
        #expect(stored.2 == ["AB123456", "CE123456", "JK123456"])
        // The queue's counters count the stored copies, not the rolled-back one nor the runs made twice.
        #expect(try queuedCounts(store) == copiesQueued(store))
        #expect(try queuedCounts(store).values.reduce(0, +) == 3)
    }

    @Test func theQueueCountersFollowEveryCopyStoredOrRolledBack() throws {
        struct Boom: Error {}
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000021"), from: "jcp-leeds", at: at, in: $0) }
        #expect(throws: Boom.self) {
            try store.transaction { transaction -> Void in
                _ = try router.submit(
                    referral(id: "00000000-0000-4000-8000-000000000022", nino: "CE123456A"), from: "jcp-leeds", at: at, in: transaction)
                throw Boom()
            }
        }
        let ninos = ["HJ123456B", "JK123456D", "KL123456A", "LM123456B"]
        _ = try store.batch(Array(ninos.enumerated())) { item, transaction in
            try router.submit(
                referral(id: "00000000-0000-4000-8000-00000000003\(item.offset)", nino: item.element), from: "jcp-leeds", at: at,
                in: transaction)
        }
        #expect(try queuedCounts(store) == copiesQueued(store))
        #expect(try queuedCounts(store).values.reduce(0, +) == 5)
        // A store reopened goes on counting from where it was.
        let reopened = try SQLiteCaseStore(path: temporary.path)
        _ = try reopened.transaction {
            try router.submit(referral(id: "00000000-0000-4000-8000-000000000041", nino: "MN123456C"), from: "jcp-leeds", at: at, in: $0)
        }
        #expect(try queuedCounts(reopened) == copiesQueued(reopened))
        #expect(try queuedCounts(reopened).values.reduce(0, +) == 6)
    }

    /// `queue_count`'s queued copies per inbox.
    private func queuedCounts(_ store: SQLiteCaseStore) throws -> [String: Int] {
        try store.pool.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT address, n FROM queue_count WHERE state = 'queued' AND n > 0")
                .map { ($0["address"] as String, $0["n"] as Int) })
        }
    }

    /// The queued copies per inbox, counted row by row.
    private func copiesQueued(_ store: SQLiteCaseStore) throws -> [String: Int] {
        try store.pool.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT address, COUNT(*) AS n FROM copy WHERE state = 'queued' GROUP BY address")
                .map { ($0["address"] as String, $0["n"] as Int) })
        }
    }

    @Test func refusalsAreKeptWithoutTheirBodies() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        _ = try store.transaction { try router.submit(Array(#"{"not json"#.utf8), from: "cwp-a", at: at, in: $0) }
        _ = try store.transaction { try router.submit(referral(id: "00000000-0000-4000-8000-000000000004"), from: "cwp-a", at: at, in: $0) }
        let rows = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT code, masked_nino, detail FROM refusal ORDER BY seq")
        }
        #expect(rows.map { $0["code"] as String } == ["malformed-json", "not-permitted"])
        #expect(rows.last?["masked_nino"] == "AB12****")
        // An id that is not a UUID and a type not in the catalogue are the sender's text: neither is kept.
        let odd = JSONValue.object(["id": .string("AB123456C"), "type": .string("CE654321A"), "nino": .string("AB123456C")])
        let refused = try store.transaction { try router.submit(odd, from: "cwp-a", at: at, in: $0) }
        #expect(refused.messageID == nil)
        #expect(refused.type == nil)
        let kept = try #require(try store.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT message_id, type, detail FROM refusal ORDER BY seq DESC LIMIT 1")
        })
        #expect(kept["message_id"] as String? == nil)
        #expect(kept["type"] as String? == nil)
        #expect((kept["detail"] as String).contains("654321") == false)
    }

    @Test func replayRunsTheSameCodeOnTheStore() throws {
        let scenario = try JSONValue.parse(
            #"""
            {"parties": [{"id": "jcp-leeds", "kind": "jobcentre", "calendar": "england-and-wales"}, {"id": "prime-a", "kind": "prime"}],
             "steps": [
               {"at": "2024-12-02T09:00:00Z", "as": "jcp-leeds", "send": {"id": "00000000-0000-4000-8000-000000000005", "type": "wp.referral", "to": "prime-a", "nino": "AB123456C", "body": {"referralDate": "2024-12-02", "benefit": "JSA", "mandatory": true}}},
               {"advance": "2024-12-24T12:00:00Z"}
             ]}
            """#)
        let temporary = TemporaryStore()
        let rules = try RuleFiles.loadRules(at: configFolder.appendingPathComponent("rules.yaml"))
        let calendars = try RuleFiles.loadCalendars(at: configFolder.appendingPathComponent("uk-bank-holidays.json"))
        let lines = try ScenarioReplay(rules: rules, calendars: calendars).run(scenario: scenario, storePath: temporary.path)
        #expect(lines.count == 2)
        #expect(lines[0]["status"] == .number(202))
        #expect(lines[0]["response"]?["decision"]?["deadline"] == .string("2024-12-23"))
        #expect(lines[1]["emitted"]?.arrayValue?.count == 2)
    }
}
