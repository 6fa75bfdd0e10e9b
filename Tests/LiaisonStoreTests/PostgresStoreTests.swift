import Foundation
import LiaisonCore
import Synchronization
import Testing

@testable import LiaisonStore

/// What several instances on one PostgreSQL database need of the store, each instance a store of its own
/// (its own connections) on the same schema: a claimant judged one at a time, an id stored once, an inbox's
/// concurrency and a claimant's order across instances, claims that lapse to another instance, a stop seen
/// by all, timers fired once; and a server that would lose commits, or cannot be reached, said so.
@Suite(.enabled(if: StoreKind.postgresURL != nil, "LIAISON_TEST_POSTGRES names no test database"))
struct PostgresStoreTests {
    /// Two instances on one fresh schema.
    private func instances() throws -> (test: TestStore, a: Store, b: Store) {
        let test = try TestStore(.postgres, instance: "instance-a")
        return (test, test.store, try test.reopen(instance: "instance-b"))
    }

    /// Runs `work` on two threads at once (each given its index) and waits for both.
    private func together(_ work: @escaping @Sendable (Int) throws -> Void) throws {
        let errors = Mutex<[String]>([])
        let start = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for index in 0..<2 {
            done.enter()
            Thread {
                start.wait()
                do { try work(index) } catch { errors.withLock { $0.append("\(error)") } }
                done.leave()
            }.start()
        }
        start.signal()
        start.signal()
        done.wait()
        #expect(errors.withLock { $0 } == [])
    }

    @Test func aClaimantsMessagesAreJudgedOneAtATimeAcrossInstances() throws {
        let (test, a, b) = try instances()
        defer { withExtendedLifetime(test) {} }
        let spans = Mutex<[(instance: Int, start: Date, end: Date)]>([])
        try together { index in
            let store = index == 0 ? a : b
            for _ in 0..<10 {
                _ = try store.cases.batch([0], keys: { _ in BatchKeys(claimant: "AB123456") }) { _, transaction in
                    _ = try transaction.person(key: "AB123456")
                    let start = Date()
                    Thread.sleep(forTimeInterval: 0.01)
                    spans.withLock { $0.append((index, start, Date())) }
                }
            }
        }
        let sorted = spans.withLock { $0 }.sorted { $0.start < $1.start }
        #expect(sorted.count == 20)
        #expect(Set(sorted.map(\.instance)) == [0, 1])
        // Each judgement ends before the next begins, whichever instance made it.
        #expect(zip(sorted, sorted.dropFirst()).allSatisfy { $0.end <= $1.start })
    }

    @Test func anIDSentToTwoInstancesAtOnceIsStoredOnce() throws {
        let (test, a, b) = try instances()
        let answers = Mutex<[Int]>([])
        // The same message through both, and a conflicting one (another claimant) under another id through both.
        let same = referral(id: "00000000-0000-4000-8000-000000000701", nino: "CE000701A")
        let conflicting = [
            referral(id: "00000000-0000-4000-8000-000000000702", nino: "CE000702A"),
            referral(id: "00000000-0000-4000-8000-000000000702", nino: "CE000703A"),
        ]
        try together { index in
            let store = index == 0 ? a : b
            for message in [same, conflicting[index]] {
                let results = try store.cases.batch(
                    [message],
                    keys: {
                        BatchKeys(claimant: $0["nino"]?.stringValue.map { String($0.prefix(8)) }, messageID: $0["id"]?.stringValue)
                    }
                ) { message, transaction in try testRouter.submit(message, from: "jcp-leeds", at: testAt, in: transaction) }
                let answer = try results[0].get()
                answers.withLock { $0.append(answer.status) }
            }
        }
        // The same message: 202 twice (once stored, once answered as before); the conflicting id: 202 and 409.
        #expect(answers.withLock { $0 }.sorted() == [202, 202, 202, 409])
        #expect(try test.integer("SELECT COUNT(*) FROM message WHERE origin = 'submitted'") == 2)
        #expect(try test.integer("SELECT COUNT(*) FROM copy") == 2)
    }

    @Test func anInboxsConcurrencyAndAClaimantsOrderHoldAcrossInstances() throws {
        let (test, a, b) = try instances()
        let address = "prime-a/contact"
        for n in 1...6 {
            try test.submit(referral(id: String(format: "00000000-0000-4000-8000-%012d", 800 + n), nino: String(format: "CE%06dA", n)))
        }
        // A later copy of the first claimant's, behind their first.
        try test.queueCopies(like: 1)
        func claim(_ store: Store, limit: Int = 4, _ transitions: [CopyTransition] = []) throws -> [Int64] {
            try store.queue.settle(
                transitions, inboxErrors: [:], pausedUntil: [:], hold: [],
                claims: [.init(address: address, limit: limit, busy: [], capacity: 4, claimLease: 60)], now: test.now
            ).claimed[address]?.map(\.seq) ?? []
        }
        // The inbox takes four at once, across both instances.
        #expect(try claim(a) == [1, 2, 3, 4])
        #expect(try claim(b) == [])
        // Two delivered through a: b may send two more, but not the first claimant's later copy while their
        // first is in flight from a.
        let delivered = [2, 3].map { CopyTransition(seq: $0, to: .delivered, at: test.now, reason: "delivered", httpStatus: 200) }
        #expect(try claim(a, limit: 0, delivered) == [])
        #expect(try claim(b) == [5, 6])
        let first = CopyTransition(seq: 1, to: .delivered, at: test.now, reason: "delivered", httpStatus: 200)
        #expect(try claim(a, limit: 0, [first]) == [])
        #expect(try claim(b) == [7])
        // The counters, added to by both instances' connections, count what is there.
        let counts = Dictionary(uniqueKeysWithValues: try test.operators.queueCounts().map { ($0.state, $0.count) })
        #expect(counts["delivered"] == 3 && counts["in-flight"] == 4 && (counts["queued"] ?? 0) == 0)
    }

    @Test func aCopyClaimedByAnInstanceThatDiedIsTakenOverOnceItsClaimLapses() throws {
        let (test, a, b) = try instances()
        let address = "prime-a/contact"
        let now = test.now
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000901", nino: "CE000901A"))
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000902", nino: "CE000902A"))
        func claim(_ store: Store, at time: Double, _ transitions: [CopyTransition] = []) throws -> [Int64] {
            try store.queue.settle(
                transitions, inboxErrors: [:], pausedUntil: [:], hold: [],
                claims: [.init(address: address, limit: 1, busy: [], capacity: 8, claimLease: 30)], now: time
            ).claimed[address]?.map(\.seq) ?? []
        }
        #expect(try claim(a, at: now) == [1])
        #expect(try claim(b, at: now) == [2])
        // a dies. Before its claim lapses nothing is taken over; after, b returns the copy to the queue.
        #expect(try b.queue.returnLapsedClaims(now: now + 10) == 0)
        #expect(try b.queue.returnLapsedClaims(now: now + 31) == 1)
        // b's own claim is its own, however old.
        #expect(try test.texts("SELECT state FROM copy WHERE seq = 2") == ["in-flight"])
        #expect(try claim(b, at: now + 32) == [1])
        // a's answer, late, is not recorded over b's claim; b's is.
        let late = CopyTransition(seq: 1, to: .delivered, at: now + 33, reason: "delivered", httpStatus: 200)
        _ = try claim(a, at: now + 33, [late])
        #expect(try test.texts("SELECT state FROM copy WHERE seq = 1") == ["in-flight"])
        _ = try claim(b, at: now + 34, [CopyTransition(seq: 1, to: .delivered, at: now + 34, reason: "delivered", httpStatus: 200)])
        #expect(try test.texts("SELECT state FROM copy WHERE seq = 1") == ["delivered"])
        let reasons = try test.operators.show("00000000-0000-4000-8000-000000000901").first?.events.map { $0.reason ?? "" } ?? []
        #expect(reasons.contains("claim of instance-a lapsed: sent again"))
        // Restarted, an instance takes back what it left in flight, not another's.
        #expect(try test.reopen(instance: "instance-a").queue.recoverInFlight(at: now + 40, isPullInbox: { _ in false }) == 0)
        #expect(try test.reopen(instance: "instance-b").queue.recoverInFlight(at: now + 40, isPullInbox: { _ in false }) == 1)
        #expect(try test.texts("SELECT state FROM copy ORDER BY seq") == ["delivered", "queued"])
    }

    @Test func aStopSeenThroughOneInstanceHoldsForBoth() throws {
        let (test, a, b) = try instances()
        let address = "prime-a/contact"
        for n in 1...3 {
            try test.submit(referral(id: String(format: "00000000-0000-4000-8000-%012d", 950 + n), nino: String(format: "CE%06dA", 950 + n)))
        }
        let sent = try test.claim(address, limit: 1, queue: a.queue)
        // The inbox answers a 410 to a: b sends nothing to it either, and holds what waits.
        let gone = CopyTransition(seq: sent[0].seq, to: .held, at: test.now, attempts: 1, reason: "inbox gone (410): held", httpStatus: 410)
        #expect(try test.claim(address, limit: 1, [gone], hold: [address], queue: a.queue).isEmpty)
        #expect(try test.claim(address, limit: 5, queue: b.queue).isEmpty)
        #expect(try test.states() == ["held", "held", "held"])
        // A Retry-After pause a saw holds b back too, until it ends.
        _ = try test.operators.apply(.release, ids: [], inbox: address, now: test.now)
        _ = try a.queue.settle([], inboxErrors: [:], pausedUntil: [address: test.now + 60], hold: [], claims: [], now: test.now)
        #expect(try test.claim(address, limit: 5, at: test.now + 1, queue: b.queue).isEmpty)
        #expect(try test.claim(address, limit: 5, at: test.now + 61, queue: b.queue).count == 3)
    }

    @Test func aTimerFiresOnceWhenInstancesTickTogether() throws {
        let (test, a, b) = try instances()
        for n in 1...20 {
            try test.submit(referral(id: String(format: "00000000-0000-4000-8000-%012d", 1000 + n), nino: String(format: "CE%06dA", 1000 + n)))
        }
        let due = Timestamp.parse("2024-12-24T00:00:00Z")!
        let fired = Mutex(0)
        try together { index in
            let store = index == 0 ? a : b
            let keys = try store.cases.personKeysWithTimers(dueBy: due)
            let results = try store.cases.batch(keys, keys: { BatchKeys(claimant: $0) }) { key, transaction in
                try testRouter.fireDueTimers(of: key, at: due, in: transaction)
            }
            let count = try results.reduce(0) { $0 + (try $1.get().count) }
            fired.withLock { $0 += count }
        }
        // Two overdue attachments for each claimant (to the jobcentre and to the provider), once.
        #expect(fired.withLock { $0 } == 40)
        #expect(try test.integer("SELECT COUNT(*) FROM message WHERE origin = 'generated'") == 40)
    }

    @Test func aServerThatWouldNotKeepCommitsDurablyIsRefused() throws {
        let url = try #require(StoreKind.postgresURL)
        var settings = try PostgresSettings(url: url)
        settings.poolSize = 1
        let database = try PostgresDatabase(settings: settings, logger: Store.quietLogger)
        defer { database.close() }
        try Store.checkDurable(database)
        // The one connection of the pool, told to acknowledge commits before they are on disk.
        try database.withSession { session in try session.execute("SET synchronous_commit = off") }
        #expect {
            try Store.checkDurable(database)
        } throws: { error in
            (error as? PostgresFailure)?.kind == .notDurable && "\(error)".contains("synchronous_commit is off")
        }
    }

    @Test func aServerThatCannotBeReachedIsUnavailableAndAWrongPasswordIsSaidSo() throws {
        let url = try #require(StoreKind.postgresURL)
        var closed = try PostgresSettings(url: url)
        closed.port = 1
        closed.connectTimeout = 2
        #expect {
            _ = try Store.open(.postgres(closed), logger: Store.quietLogger)
        } throws: { error in
            Store.isUnavailable(error) && (error as? PostgresFailure)?.kind == .unreachable
        }
        // Asked again at once, it answers at once, without another wait for the connection.
        let database = try PostgresDatabase(settings: closed, logger: Store.quietLogger)
        #expect(throws: PostgresFailure.self) { try database.read { _ in 0 } }
        let started = Date()
        #expect(throws: PostgresFailure.self) { try database.read { _ in 0 } }
        #expect(Date().timeIntervalSince(started) < 0.5)

        var wrong = try PostgresSettings(url: url)
        wrong.password = "not-the-password"
        #expect {
            _ = try Store.open(.postgres(wrong), logger: Store.quietLogger)
        } throws: { error in
            (error as? PostgresFailure)?.kind == .loginRefused && !"\(error)".contains("not-the-password")
        }
    }
}

/// `liaison store copy`: an embedded store moved into an empty PostgreSQL database carries on there as it
/// would have here.
@Suite(.enabled(if: StoreKind.postgresURL != nil, "LIAISON_TEST_POSTGRES names no test database"))
struct StoreCopyTests {
    @Test func aCopiedStoreCarriesOnAsTheOriginalWould() throws {
        let sqlite = try TestStore(.sqlite)
        let now = sqlite.now
        let address = "prime-a/contact"
        // Claimants with cases and timers, an SCR referral's clerical task, a refusal, a blocked timer.
        for n in 1...6 {
            try sqlite.submit(referral(id: String(format: "00000000-0000-4000-8000-%012d", 1100 + n), nino: String(format: "CE%06dA", 1100 + n)))
        }
        guard case .object(var scr) = referral(id: "00000000-0000-4000-8000-000000001190", nino: "CE001190A") else { return }
        scr["scr"] = .bool(true)
        try sqlite.submit(.object(scr))
        try sqlite.submit(referral(id: "00000000-0000-4000-8000-000000001191"), from: "cwp-a")
        try sqlite.submit(referral(id: "00000000-0000-4000-8000-000000001192", nino: "CE001192A"), router: try router(withHolidaysThrough: 2025))
        _ = try sqlite.cases.transaction {
            try router(withHolidaysThrough: 2025).fireDueTimers(of: "CE001192", at: Timestamp.parse("2027-06-30T09:00:00Z")!, in: $0)
        }
        // Copies delivered, deferred, in flight and held, with their histories; a paused inbox; staff.
        let claimed = try sqlite.claim(address, limit: 4)
        #expect(claimed.count == 4)
        _ = try sqlite.claim(
            address, limit: 0,
            [
                CopyTransition(seq: claimed[0].seq, to: .delivered, at: now, attempts: 1, reason: "delivered", httpStatus: 200),
                CopyTransition(
                    seq: claimed[1].seq, to: .deferred, at: now, attempts: 1, nextAttemptAt: now + 60, reason: "HTTP 500", httpStatus: 500),
            ])
        _ = try sqlite.operators.apply(.hold, ids: [], inbox: "jcp-leeds/nominated-officer", now: now)
        _ = try sqlite.queue.settle([], inboxErrors: [address: "HTTP 500"], pausedUntil: [address: now + 30], hold: [], claims: [], now: now)
        let member = try sqlite.store.staffAccounts.add(
            email: "spoc@cwp-a.test", name: "SPOC", party: "cwp-a", roles: [.spoc], setupToken: "t", expires: testAt.addingTimeInterval(60),
            now: testAt)
        _ = try sqlite.store.staffAccounts.completeSetup(setupToken: "t", passwordHash: "hash", now: testAt)
        try sqlite.store.staffAccounts.startSession(cookie: "c", csrfToken: "x", for: member, now: testAt)
        let path = try #require({ if case .file(let path) = sqlite.location { path } else { nil } }())

        let target = try TestStore(.postgres)
        guard case .postgres(let settings) = target.location else { return }
        try target.execute("DROP SCHEMA \(settings.schema ?? "") CASCADE")
        let counts = try StoreCopy.copy(from: path, to: settings)
        #expect(counts.allSatisfy { $0.source == $0.target })
        let messages = try #require(counts.first { $0.table == "message" }?.source)
        #expect(messages >= 9)
        #expect(counts.first { $0.table == "copy_event" }.map { $0.source > 0 } == true)
        let copied = try target.reopen()

        // The same queue status, the same history of a copy, the same blocked timer, the same staff.
        func lines(_ store: Store) throws -> [String] {
            try store.operators.status(now: now, inboxes: []).map {
                "\($0.inbox) \($0.queued) \($0.inFlight) \($0.deferred) \($0.held) \($0.expired) \($0.deliveredLast24h) \($0.pausedUntil ?? "-") \($0.heldSince ?? "-") \($0.lastError ?? "-")"
            }
        }
        #expect(try lines(copied) == lines(sqlite.store))
        let id = "00000000-0000-4000-8000-000000001101"
        #expect(try copied.operators.show(id).map { $0.events.map(\.state) } == sqlite.operators.show(id).map { $0.events.map(\.state) })
        #expect(try copied.operators.blockedTimers().map(\.kind) == sqlite.operators.blockedTimers().map(\.kind))
        #expect(try copied.staffAccounts.session(cookie: "c")?.member.email == "spoc@cwp-a.test")
        // A resend is answered as before; a claim goes on after the copies in flight; timers fire as they would have.
        let again = try copied.cases.transaction { try testRouter.submit(referral(id: id, nino: "CE001101A"), from: "jcp-leeds", at: testAt, in: $0) }
        let original = try sqlite.submit(referral(id: id, nino: "CE001101A"))
        #expect(again.replayed && again.response == original.response)
        let later = Timestamp.parse("2024-12-24T00:00:00Z")!
        func fired(_ store: Store) throws -> [String] {
            try store.cases.transaction { try testRouter.fireDueTimers(at: later, in: $0) }.map { "\($0.type.rawValue) \($0.to)" }.sorted()
        }
        #expect(try fired(copied) == fired(sqlite.store))
        // The two copies left in flight (pushed, as far as the copy knows) go back to the queue at the first start.
        #expect(try copied.queue.recoverInFlight(at: now, isPullInbox: { _ in false }) == 2)
        // New messages are numbered on from the last copied.
        let last = try target.integer("SELECT max(seq) FROM message")
        #expect(last >= messages)
        let newID = "00000000-0000-4000-8000-000000001199"
        #expect(
            try copied.cases.transaction { try testRouter.submit(referral(id: newID, nino: "CE001199A"), from: "jcp-leeds", at: testAt, in: $0) }
                .status == 202)
        #expect(try target.integer("SELECT max(seq) FROM message") == last + 1)
        // Copying again is refused: the target is not empty.
        #expect {
            try StoreCopy.copy(from: path, to: settings)
        } throws: { error in
            "\(error)".contains("the target is not empty")
        }
    }
}

/// `postgresql://` URLs read as libpq reads them, and said back without the password.
@Suite struct PostgresSettingsTests {
    @Test func aURLGivesEverySetting() throws {
        let settings = try PostgresSettings(
            url: "postgresql://liaison:s%40cret@db.example:6543/exchange?sslmode=verify-full&sslrootcert=/etc/liaison/db-ca.pem&schema=liaison")
        #expect(settings.user == "liaison" && settings.password == "s@cret")
        #expect(settings.host == "db.example" && settings.port == 6543 && settings.database == "exchange")
        #expect(settings.sslMode == .verifyFull && settings.sslRootCertificate == "/etc/liaison/db-ca.pem" && settings.schema == "liaison")
        #expect(
            settings.redacted == "postgresql://liaison@db.example:6543/exchange?sslmode=verify-full&sslrootcert=/etc/liaison/db-ca.pem&schema=liaison"
        )
        let socket = try PostgresSettings(url: "postgres://liaison@/exchange?host=/run/postgresql")
        #expect(socket.socketFolder == "/run/postgresql" && socket.port == 5432)
        #expect(try StoreLocation("/var/lib/liaison/liaison.sqlite") == .file("/var/lib/liaison/liaison.sqlite"))
    }

    @Test func whatIsWrongIsNamedAndThePasswordNeverRepeated() {
        let wrong = [
            "postgresql://db.example/exchange": "names no user",
            "postgresql://liaison:pw@db.example/": "names no database",
            "postgresql://liaison:pw@db.example/x?sslmode=sometimes": "sslmode must be one of",
            "postgresql://liaison:pw@db.example/x?schema=Robert'); DROP TABLE": "schema must be a plain name",
            "postgresql://liaison:pw@db.example/x?options=-c": "unknown URL parameter 'options'",
            "postgresql://liaison:pw@/x?host=/run/postgresql&sslmode=verify-full": "needs a TCP host",
        ]
        for (url, problem) in wrong {
            #expect {
                _ = try PostgresSettings(url: url)
            } throws: { error in
                "\(error)".contains(problem) && !"\(error)".contains(":pw")
            }
        }
    }
}
