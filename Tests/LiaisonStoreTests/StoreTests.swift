import Foundation
import GRDB
import LiaisonCore
import LiaisonRuntime
import Testing

@testable import LiaisonStore

/// The store's behaviour, the same on both engines: each test runs against SQLite and, when the test database
/// is there, PostgreSQL, from this one code.
@Suite struct StoreTests {
    @Test(arguments: StoreKind.available) func theTimerIndexChangesOnlyWithTheDueTimes(kind: StoreKind) throws {
        let test = try TestStore(kind)
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000001"))
        #expect(try !test.rows("SELECT fire_at FROM timer").isEmpty)
        // Firing everything due far in the future empties the index for the claimant.
        let later = Timestamp.parse("2026-12-31T09:00:00Z")!
        let fired = try test.cases.transaction { try testRouter.fireDueTimers(at: later, in: $0) }
        #expect(!fired.isEmpty)
        #expect(try test.integer("SELECT COUNT(*) FROM timer WHERE fire_at <= ?", [.real(later.timeIntervalSince1970)]) == 0)
    }

    @Test(arguments: StoreKind.available) func aTimerThatCannotFireIsListedForOperatorsAndFiresOnceUnblocked(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let short = try router(withHolidaysThrough: 2025)
        #expect(try test.submit(referral(id: "00000000-0000-4000-8000-000000000001"), router: short).status == 202)
        let operatorView = test.operators
        #expect(try operatorView.blockedTimerCount() == 0)

        // The end of the programme falls in 2026: the exit report's deadline cannot be counted in working days.
        let later = Timestamp.parse("2027-06-30T09:00:00Z")!
        _ = try test.cases.transaction { try short.fireDueTimers(at: later, in: $0) }
        let blocked = try operatorView.blockedTimers()
        #expect(blocked.map(\.kind) == ["end-of-programme"])
        #expect(blocked.first?.nino == "AB12****")
        #expect(blocked.first?.reason.contains("outside the england-and-wales bank-holiday data") == true)
        #expect(try operatorView.blockedTimerCount() == 1)
        let dueIndex = { try test.integer("SELECT COUNT(*) FROM timer WHERE fire_at <= ?", [.real(later.timeIntervalSince1970)]) }
        #expect(try dueIndex() == 0)

        // Unblocked while the data is still short: it tries, emits nothing, and is blocked again.
        #expect(try operatorView.unblockTimers() == 1)
        #expect(try operatorView.blockedTimerCount() == 0)
        #expect(try dueIndex() == 1)
        #expect(try test.cases.transaction { try short.fireDueTimers(at: later, in: $0) }.isEmpty)
        #expect(try operatorView.blockedTimerCount() == 1)

        // With data that covers the year, it fires once and the list is empty.
        #expect(try operatorView.unblockTimers() == 1)
        let fired = try test.cases.transaction { try testRouter.fireDueTimers(at: later, in: $0) }
        #expect(fired.filter { $0.type == .wpExitReportRequest }.count == 1)
        #expect(try operatorView.blockedTimerCount() == 0)
        #expect(try test.cases.transaction { try testRouter.fireDueTimers(at: later, in: $0) }.isEmpty)
        // A line with no record behind it is dropped when timers are retried, not left to warn forever.
        try test.execute("INSERT INTO blocked_timer VALUES ('CE000001', 't', 'escalation', '2026-01-05', 'gone')")
        #expect(try operatorView.unblockTimers() == 0)
        #expect(try operatorView.blockedTimerCount() == 0)
    }

    @Test(arguments: StoreKind.available) func theRegistryAndItsTimersSurviveAReopenAndFireOnce(kind: StoreKind) throws {
        let test = try TestStore(kind)
        #expect(try test.submit(referral(id: "00000000-0000-4000-8000-000000000001")).status == 202)
        let reopened = try test.reopen()
        let due = Timestamp.parse("2024-12-24T00:00:00Z")!
        let fired = try reopened.cases.transaction { try testRouter.fireDueTimers(at: due, in: $0) }
        #expect(fired.map(\.type) == [.wpAttachmentOverdue, .wpAttachmentOverdue])
        let again = try test.reopen()
        #expect(try again.cases.transaction { try testRouter.fireDueTimers(at: due, in: $0) }.isEmpty)
        #expect(try test.integer("SELECT COUNT(*) FROM copy") == 3)
    }

    @Test(arguments: StoreKind.available) func aClaimantsLaterCopyWaitsBehindOneInFlightOrDeferred(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000003"))
        // A second copy for the same claimant to the same inbox, after the first.
        try test.queueCopies(like: 1)
        let row = try #require(try test.rows("SELECT address, person_key FROM copy WHERE seq = 1").first)
        let (address, person) = (try row.text("address"), try row.text("person_key"))
        func claim(busy: Set<String> = [], _ transitions: [CopyTransition] = []) throws -> [Int64] {
            try test.claim(address, limit: 10, busy: busy, transitions).map(\.seq)
        }
        #expect(try claim() == [1])
        // While the first is in flight, the later one waits: the deliverer names its claimant busy, and on
        // PostgreSQL the store sees every instance's copies in flight too.
        #expect(try claim(busy: [person]) == [])
        if kind == .postgres { #expect(try claim() == []) }
        // Deferred, the later copy waits behind it.
        #expect(try claim([CopyTransition(seq: 1, to: .deferred, at: now, attempts: 1, nextAttemptAt: now + 60, reason: "HTTP 500")]) == [])
        // Due again, the first goes before the second.
        #expect(try claim([CopyTransition(seq: 1, to: .queued, at: now, reason: "operator retry")]) == [1])
        #expect(try claim([CopyTransition(seq: 1, to: .delivered, at: now, reason: "delivered", httpStatus: 200)]) == [2])
    }

    @Test(arguments: StoreKind.available) func aClaimantWhoseCopiesWaitNeverHoldsUpAnotherClaimant(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        let address = "prime-a/contact"
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000007", nino: "CE000001A"))
        // Three hundred later copies of the same claimant, all behind their first (more than two pages of
        // a claim), then another claimant's copy.
        try test.queueCopies(like: 1, count: 300)
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000008", nino: "CE000002A"))
        func claim(busy: Set<String> = [], _ transitions: [CopyTransition] = [], at time: Double? = nil) throws -> [Int64] {
            try test.claim(address, limit: 2, busy: busy, transitions, at: time).map(\.seq)
        }
        // The first claimant's first copy goes, and so does the other claimant's, three hundred copies on.
        #expect(try claim() == [1, 302])
        // While the first copy is in flight, the claimant's later copies wait.
        #expect(try claim(busy: ["CE000001"]) == [])
        // Deferred, the first copy still holds back only its own claimant's copies.
        let deferred = CopyTransition(seq: 1, to: .deferred, at: now, attempts: 1, nextAttemptAt: now + 60, reason: "HTTP 500")
        let delivered = CopyTransition(seq: 302, to: .delivered, at: now, reason: "delivered", httpStatus: 200)
        #expect(try claim([deferred, delivered]) == [])
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000009", nino: "CE000003A"))
        #expect(try claim() == [303])
        // Due again, the first copy goes before its claimant's later ones.
        #expect(try claim(at: now + 61) == [1])
    }

    @Test(arguments: StoreKind.available) func aCopyThatCannotBeReadWithItsMessageIsExpiredAndStopsNoOtherDelivery(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        let address = "prime-a/contact"
        func submit(_ index: Int, _ nino: String) throws {
            try test.submit(referral(id: "00000000-0000-4000-8000-00000000002\(index)", nino: nino))
        }
        // A copy for one claimant, one for another, and a later one for the first (with the second's message).
        try submit(0, "CE000001A")
        try submit(1, "CE000002A")
        try test.execute(
            """
            INSERT INTO copy (message_seq, address, party, person_key, state, created_at, updated_at)
            SELECT message_seq, address, party, 'CE000001', 'queued', created_at, updated_at FROM copy WHERE seq = 2
            """)
        // The first copy's message is removed by hand, past the foreign key.
        func removeMessage(ofCopy seq: Int64) throws {
            switch kind {
            case .sqlite:
                let pool = try #require(test.store.database as? SQLiteDatabase).pool
                try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA foreign_keys = OFF")
                    try db.execute(sql: "DELETE FROM message WHERE seq = (SELECT message_seq FROM copy WHERE seq = ?)", arguments: [seq])
                    try db.execute(sql: "PRAGMA foreign_keys = ON")
                }
            case .postgres:
                try test.execute(
                    "ALTER TABLE copy DROP CONSTRAINT IF EXISTS copy_message_seq_fkey",
                    "DELETE FROM message WHERE seq = (SELECT message_seq FROM copy WHERE seq = \(seq))")
            }
        }
        try removeMessage(ofCopy: 1)
        // The claim goes on past it: the copy that can never be sent is expired, with why, and holds back
        // neither the other claimant nor its own claimant's later copy; the deliverer hears of it, to log it.
        let settlement = try test.queue.settle(
            [], inboxErrors: [:], pausedUntil: [:], hold: [], claims: [.init(address: address, limit: 10, busy: [])], now: now)
        #expect(settlement.claimed[address]?.map(\.seq) == [2, 3])
        #expect(settlement.unreadable == [.init(seq: 1, address: address)])
        let first = try #require(try test.rows("SELECT state, last_error FROM copy WHERE seq = 1").first)
        #expect(first["state"].text == "expired")
        #expect(first["last_error"].text == DeliveryQueue.unreadableError)
        #expect(try test.operators.status(now: now).first { $0.inbox == address }?.expired == 1)
        // A pull does the same.
        try submit(2, "CE000003A")
        try submit(3, "CE000004A")
        try removeMessage(ofCopy: 5)
        let leased = try test.queue.lease(address: address, limit: 10, now: now, lease: 300, lifetime: 86_400)
        #expect(leased.copies.map(\.seq) == [4])
        #expect(leased.unreadable == [5])
        #expect(try test.texts("SELECT state FROM copy WHERE seq = 5") == ["expired"])
    }

    @Test(arguments: StoreKind.available) func aDueRetryNeverOvertakesAnEarlierCopyOfItsClaimantBeyondAClaimsReach(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        let address = "prime-a/contact"
        // 1,101 copies of one claimant, their first deferred: more than a claim reads past.
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000021", nino: "CE000021A"))
        try test.queueCopies(like: 1, count: 1_100)
        // Then another claimant's copy, queued, and a later one of theirs deferred and due (as after an operator
        // sent the earlier one back to the queue).
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000022", nino: "CE000022A"))
        try test.queueCopies(like: 1102)
        try test.execute("UPDATE copy SET state = 'deferred', next_attempt_at = ? WHERE seq = 1", arguments: [.real(now + 60)])
        try test.execute("UPDATE copy SET state = 'deferred', next_attempt_at = ? WHERE seq = 1103", arguments: [.real(now - 1)])
        // The claim reads 1,024 waiting copies and stops: the due retry waits, since its claimant's earlier copy
        // lies beyond.
        #expect(try test.claim(address, limit: 2).map(\.seq) == [])
        // Once the first claimant's copies are through, the earlier copy goes first.
        try test.execute("UPDATE copy SET state = 'delivered' WHERE seq <= 1101")
        #expect(try test.claim(address, limit: 2).map(\.seq) == [1102])
    }

    @Test(arguments: StoreKind.available) func aRestartRequeuesWhatWasLeftInFlightButThePullInboxesLeases(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        for n in 1...4 {
            try test.submit(referral(id: String(format: "00000000-0000-4000-8000-%012d", 200 + n), nino: String(format: "CE%06dA", n)))
        }
        // Left in flight by the last run: a push attempt, one to an inbox since made a pull inbox (no lease
        // end), a pull lease, and a lease of an inbox no longer configured.
        try test.execute(
            "UPDATE copy SET state = 'in-flight', address = 'cwp-a/spoc' WHERE seq = 2",
            "UPDATE copy SET state = 'in-flight', address = 'cwp-a/spoc', next_attempt_at = \(now + 300) WHERE seq = 3",
            "UPDATE copy SET state = 'in-flight', address = 'cwp-b/spoc', next_attempt_at = \(now + 300) WHERE seq = 4",
            "UPDATE copy SET state = 'in-flight' WHERE seq = 1")
        #expect(try test.queue.recoverInFlight(at: now, isPullInbox: { $0 == "cwp-a/spoc" }) == 3)
        #expect(try test.states() == ["queued", "queued", "in-flight", "queued"])
    }

    @Test(arguments: StoreKind.available) func aCopyAnOperatorSendsBackGetsAWholeLifetimeAgain(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let id = "00000000-0000-4000-8000-000000000005"
        try test.submit(referral(id: id))
        let address = "prime-a/contact"
        let accepted = test.now
        let first = try test.claim(address, limit: 10, at: accepted)
        #expect(first.map(\.lifetimeFrom) == [accepted])
        // Five days on it expires; an operator replays it a week later, and its lifetime starts then.
        let expiry = accepted + 5 * 86_400
        let expired = CopyTransition(seq: first[0].seq, to: .expired, at: expiry, attempts: 9, reason: "lifetime over")
        #expect(try test.claim(address, limit: 10, [expired], at: expiry).isEmpty)
        let replay = expiry + 7 * 86_400
        #expect(try test.operators.apply(.retry, ids: ["\(id)/\(address)"], inbox: nil, now: replay) == .init(moved: 1, notFound: []))
        #expect(try test.claim(address, limit: 10, at: replay).map(\.lifetimeFrom) == [replay])
    }

    @Test(arguments: StoreKind.available) func anSCRMessageSentAgainGetsNoSecondClericalTask(kind: StoreKind) throws {
        let test = try TestStore(kind)
        func scr(_ id: String) -> JSONValue {
            guard case .object(var fields) = referral(id: id) else { return .null }
            fields["scr"] = .bool(true)
            return .object(fields)
        }
        let id = "00000000-0000-4000-8000-000000000007"
        #expect(try test.submit(scr(id)).emitted.count == 1)
        #expect(try test.submit(scr(id)).emitted.isEmpty)
        #expect(try test.submit(scr("00000000-0000-4000-8000-000000000008")).emitted.count == 1)
        #expect(try test.integer("SELECT COUNT(*) FROM copy WHERE address = 'jcp-leeds/nominated-officer'") == 2)
        // Sent twice in one shared commit, it still makes one task.
        let twice = try test.cases.batch(
            [scr("00000000-0000-4000-8000-000000000009"), scr("00000000-0000-4000-8000-000000000009")],
            keys: {
                BatchKeys(claimant: "AB123456", messageID: $0["id"]?.stringValue)
            }
        ) { message, transaction in try testRouter.submit(message, from: "jcp-leeds", at: testAt, in: transaction) }
        #expect(twice.map { (try? $0.get())?.emitted.count } == [1, 0])
        #expect(try test.integer("SELECT COUNT(*) FROM copy WHERE address = 'jcp-leeds/nominated-officer'") == 3)
    }

    @Test(arguments: StoreKind.available) func anExpiredCopyHoldsBackNoLaterCopyAndAnInboxHoldSaysWhatWasInFlight(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        let id = "00000000-0000-4000-8000-000000000006"
        try test.submit(referral(id: id))
        let address = "prime-a/contact"
        // A later copy for the same claimant to the same inbox.
        try test.queueCopies(like: 1)
        #expect(try test.claim(address, limit: 10).map(\.seq) == [1])
        // The first expires; an expired copy holds back nothing, so the later one goes and is delivered.
        let expired = CopyTransition(seq: 1, to: .expired, at: now, attempts: 9, reason: "lifetime over")
        #expect(try test.claim(address, limit: 10, [expired]).map(\.seq) == [2])
        _ = try test.claim(address, limit: 10, [CopyTransition(seq: 2, to: .delivered, at: now, reason: "delivered", httpStatus: 200)])
        // Replaying the first now cannot keep the order: it goes after the later one.
        #expect(try test.operators.apply(.retry, ids: ["\(id)/\(address)"], inbox: nil, now: now + 60).moved == 1)
        // Holding the whole inbox while that copy is in flight: it is not moved, and the operator hears so.
        #expect(try test.claim(address, limit: 10, at: now + 60).map(\.seq) == [1])
        let held = try test.operators.apply(.hold, ids: [], inbox: address, now: now + 61)
        #expect(held.moved == 0)
        #expect(held.inFlight == 1)
    }

    @Test(arguments: StoreKind.available) func operatorsMoveAWholeInboxInTurnsAndHearWhyAnIDWasNotMoved(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        let operatorView = test.operators
        let address = "prime-a/contact"
        let first = "00000000-0000-4000-8000-000000000011"
        try test.submit(referral(id: first, nino: "CE000011A"))
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000012", nino: "CE000012A"))
        // 2,500 more copies of the second message for the inbox: more than two turns' worth.
        try test.queueCopies(like: 2, count: 2_500, anonymous: true)
        // Every inbox of a party, in turns of a thousand.
        #expect(try operatorView.apply(.hold, ids: [], inbox: "prime-a", now: now).moved == 2_502)
        // A copy the deliverer claims between an action's read and its move stays in flight: the move itself
        // allows only the action's states.
        let claimedMeanwhile = try test.store.database.write { session in
            try session.execute("UPDATE copy SET state = 'in-flight' WHERE seq = 3", [])
            return try CopyMoves.move(
                session, CopyTransition(seq: 3, to: .held, at: now, reason: "operator hold"), onlyFrom: QueueOperator.Action.hold.sources)
        }
        #expect(!claimedMeanwhile)
        #expect(try test.texts("SELECT state FROM copy WHERE seq = 3") == ["in-flight"])
        try test.execute("UPDATE copy SET state = 'held' WHERE seq = 3")
        // A stale id: its copy is held already, and hold does not apply to held copies.
        let stale = try operatorView.apply(.hold, ids: [first], inbox: nil, now: now)
        #expect(stale.moved == 0)
        #expect(stale.notApplicable == [first: ["held"]])
        // The inbox has answered 410: releasing one copy by id warns that the deliverer will hold it again.
        try test.execute(
            "INSERT INTO inbox_status (address, disabled_at) VALUES (?, ?) ON CONFLICT (address) DO UPDATE SET disabled_at = excluded.disabled_at",
            arguments: [.text(address), .real(now)])
        let one = try operatorView.apply(.release, ids: [first], inbox: nil, now: now)
        #expect(one.moved == 1)
        #expect(one.disabledInboxes == [address])
        // Releasing the inbox enables it again and moves the rest.
        let rest = try operatorView.apply(.release, ids: [], inbox: address, now: now)
        #expect(rest.moved == 2_501)
        #expect(rest.disabledInboxes.isEmpty)
        #expect(try operatorView.status(now: now, inboxes: [address]).first?.disabledSince == nil)
    }

    @Test(arguments: StoreKind.available) func anInboxThatAnswered410HoldsLaterCopiesUntilReleased(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        let address = "prime-a/contact"
        func submit(_ n: Int) throws {
            try test.submit(referral(id: String(format: "00000000-0000-4000-8000-%012d", 100 + n), nino: String(format: "CE%06dA", n)))
        }
        try submit(1)
        try submit(2)
        let sent = try test.claim(address, limit: 1)
        #expect(sent.count == 1)
        // The inbox answers 410: that copy and the one waiting are held, and so is one accepted afterwards.
        let gone = CopyTransition(seq: sent[0].seq, to: .held, at: now, attempts: 1, reason: "inbox gone (410): held", httpStatus: 410)
        #expect(try test.claim(address, limit: 1, [gone], hold: [address]).isEmpty)
        try submit(3)
        #expect(try test.claim(address, limit: 1).isEmpty)
        #expect(try test.states() == ["held", "held", "held"])
        // Operators see that the inbox is disabled, and since when.
        func line() throws -> InboxStatus? { try test.operators.status(now: now).first { $0.inbox == address } }
        #expect(try line()?.disabledSince == Timestamp.format(testAt))
        // Releasing the inbox enables it again.
        #expect(try test.operators.apply(.release, ids: [], inbox: address, now: now) == .init(moved: 3, notFound: []))
        #expect(try line()?.disabledSince == nil)
        #expect(try test.claim(address, limit: 1).count == 1)
    }

    @Test(arguments: StoreKind.available) func aPullInboxKeepsEachClaimantsOrderAcrossLeases(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        let queue = test.queue
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000006"))
        // A second copy for the same claimant to the same (pull) inbox, after the first.
        try test.queueCopies(like: 1)
        let address = try #require(try test.texts("SELECT address FROM copy WHERE seq = 1").first)
        func lease(limit: Int = 1, at time: Double? = nil) throws -> [Int64] {
            try queue.lease(address: address, limit: limit, now: time ?? now, lease: 300, lifetime: 86_400).copies.map(\.seq)
        }
        #expect(try lease() == [1])
        // The first is leased and not acknowledged: the second waits, even for a consumer asking again, who is
        // told that one copy waits behind an earlier one.
        let held = try queue.lease(address: address, limit: 1, now: now, lease: 300, lifetime: 86_400)
        #expect(held.copies.isEmpty)
        #expect(held.waitingBehindEarlier == 1)
        let firstID = try #require(try test.operators.show("00000000-0000-4000-8000-000000000006").first?.copy.id)
        #expect(try queue.acknowledge(address: address, ids: [firstID, "\(firstID)x", "nonsense"], now: now) == [firstID])
        #expect(try lease() == [2])
        // Past the lease, only the copy not acknowledged is offered again (on the injected clock, not the wall's).
        #expect(try lease(limit: 10, at: now + 301) == [2])
        // Both queued at once are leased together, in order.
        try test.execute("UPDATE copy SET state = 'queued'")
        #expect(try lease(limit: 10) == [1, 2])
        // Leases that run out unacknowledged are offered again, until the copies' lifetime is over: then
        // they are expired, kept for an operator, as pushed copies are after their last failed attempt.
        #expect(try lease(limit: 10, at: now + 301) == [1, 2])
        #expect(try lease(limit: 10, at: now + 86_401) == [])
        #expect(try test.states() == ["expired", "expired"])
        // Without a pull, the deliverer's sweep returns lapsed leases the same way.
        try test.execute("UPDATE copy SET state = 'queued', lifetime_from = ?", arguments: [.real(now)])
        #expect(try lease(limit: 10) == [1, 2])
        #expect(try queue.returnLapsedLeases(addresses: [address], now: now + 299, lifetime: 86_400) == 0)
        #expect(try queue.returnLapsedLeases(addresses: [address], now: now + 301, lifetime: 86_400) == 2)
        #expect(try test.states() == ["queued", "queued"])
    }

    @Test(arguments: StoreKind.available) func aRetryAfterPauseOutlivesARestartUntilItEndsOrAnOperatorRetriesTheInbox(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        let address = "prime-a/contact"
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000010"))
        _ = try test.queue.settle([], inboxErrors: [:], pausedUntil: [address: now + 1_000, "cwp-a/spoc": now + 100], hold: [], claims: [], now: now)
        // A shorter wait asked for afterwards does not cut the longer one short.
        _ = try test.queue.settle([], inboxErrors: [:], pausedUntil: [address: now + 10], hold: [], claims: [], now: now)

        let reopened = try test.reopen().queue
        #expect(try test.claim(address, limit: 5, at: now + 500, queue: reopened).count == 0)
        // queue status names the pause that is still ahead, not the one that has run out.
        let operatorView = test.operators
        let status = try operatorView.status(now: now + 500, inboxes: [address, "cwp-a/spoc"])
        #expect(status.map(\.pausedUntil) == [nil, Timestamp.format(Date(timeIntervalSince1970: now + 1_000))])
        // Retrying the inbox ends the pause at once, for the deliverer that is running.
        _ = try operatorView.apply(.retry, ids: [], inbox: address, now: now + 501)
        #expect(try operatorView.status(now: now + 501, inboxes: [address]).first?.pausedUntil == nil)
        #expect(try test.claim(address, limit: 5, at: now + 502, queue: reopened).count == 1)
    }

    @Test(arguments: StoreKind.available) func anInboxHeldAsAWholeSendsNothingUntilReleased(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        let operatorView = test.operators
        let address = "prime-a/contact"
        func submit(_ n: Int) throws {
            try test.submit(referral(id: String(format: "00000000-0000-4000-8000-%012d", 200 + n), nino: String(format: "CE%06dA", n)))
        }
        try submit(1)
        try submit(2)
        #expect(try test.claim(address, limit: 1).map(\.seq) == [1])
        // Held while one copy is in flight: the one waiting is held, the one in flight finishes its attempt.
        let held = try operatorView.apply(.hold, ids: [], inbox: address, now: now + 1)
        #expect(held.moved == 1)
        #expect(held.inFlight == 1)
        #expect(try operatorView.status(now: now + 1, inboxes: [address]).first?.heldSince == Timestamp.format(Date(timeIntervalSince1970: now + 1)))
        // The attempt fails: the copy is held, not tried again; a copy accepted since is held, nothing is sent.
        try submit(3)
        let failed = CopyTransition(seq: 1, to: .deferred, at: now + 2, attempts: 1, nextAttemptAt: now + 3, reason: "HTTP 500", httpStatus: 500)
        #expect(try test.claim(address, limit: 10, [failed], at: now + 2).isEmpty)
        #expect(try test.claim(address, limit: 10, at: now + 60).isEmpty)
        #expect(try test.states() == ["held", "held", "held"])
        let events = try operatorView.show(String(format: "00000000-0000-4000-8000-%012d", 203)).first?.events.map { $0.reason ?? "" }
        #expect(events == ["accepted", "inbox held by an operator"])
        // A pull of a held inbox hands out nothing.
        #expect(try test.queue.lease(address: address, limit: 10, now: now + 61, lease: 300, lifetime: 86_400).copies.isEmpty)
        // Releasing the inbox ends the hold; its copies go again.
        #expect(try operatorView.apply(.release, ids: [], inbox: address, now: now + 62).moved == 3)
        #expect(try operatorView.status(now: now + 62, inboxes: [address]).first?.heldSince == nil)
        #expect(try test.claim(address, limit: 10, at: now + 63).map(\.seq) == [1, 2, 3])
    }

    /// The deliverer holds a stopped inbox's backlog a batch per settle, so that no settle holds the store long;
    /// the operator hears how many copies are held in all, whoever moved them.
    @Test(arguments: StoreKind.available) func aStoppedInboxsBacklogIsHeldInBatches(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        let address = "prime-a/contact"
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000501"))
        try test.queueCopies(like: 1, count: DeliveryQueue.holdBatch + 499, anonymous: true)
        // The hold is stored before the operator's command moves any copy, and the deliverer settles first.
        try test.execute("INSERT INTO inbox_status (address, held_at) VALUES (?, ?)", arguments: [.text(address), .real(now)])
        func settle() throws -> DeliveryQueue.Settlement {
            try test.queue.settle([], inboxErrors: [:], pausedUntil: [:], hold: [], claims: [.init(address: address, limit: 10, busy: [])], now: now)
        }
        let first = try settle()
        #expect(first.claimed.isEmpty)
        #expect(first.held[address]?.count == DeliveryQueue.holdBatch)
        #expect(first.held[address]?.reason == "inbox held by an operator")
        #expect(try settle().held[address]?.count == 500)
        #expect(try settle().held.isEmpty)
        let result = try test.operators.apply(.hold, ids: [], inbox: address, now: now)
        #expect(result.moved == 0)
        #expect(result.heldInInbox == DeliveryQueue.holdBatch + 500)
    }

    @Test(arguments: StoreKind.available) func anActionOnNamedCopiesSaysWhatItDidNotMoveAndWhy(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let now = test.now
        let operatorView = test.operators
        let address = "prime-a/contact"
        let id = "00000000-0000-4000-8000-000000000301"
        try test.submit(referral(id: id))
        // A second copy of the message to the inbox, about no claimant, so that both can be in different states
        // (the copy id names both, as the message id does).
        try test.queueCopies(like: 1, anonymous: true)
        #expect(try test.claim(address, limit: 1).map(\.seq) == [1])
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
        // A mistyped id and inbox are reported, not taken for done.
        let typo = try operatorView.apply(.retry, ids: ["00000000-0000-4000-8000-000000000999"], inbox: "prime-z", now: now)
        #expect(typo.notFound == ["--inbox prime-z", "00000000-0000-4000-8000-000000000999"])
    }

    @Test(arguments: StoreKind.available) func queueStatusSaysWhenAPausedInboxIsTriedNextAndCountsAWhole24Hours(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let operatorView = test.operators
        // Delivered in the last second of an hour.
        let at = Timestamp.parse("2024-12-02T09:59:59Z")!
        let now = at.timeIntervalSince1970
        let address = "prime-a/contact"
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000401"), at: at)
        try test.queueCopies(like: 1, count: 2, anonymous: true)
        #expect(try test.claim(address, limit: 2, at: now).map(\.seq) == [1, 2])
        let delivered = CopyTransition(seq: 1, to: .delivered, at: now, attempts: 1, reason: "delivered", httpStatus: 200)
        let failed = CopyTransition(seq: 2, to: .deferred, at: now, attempts: 1, nextAttemptAt: now + 60, reason: "HTTP 503", httpStatus: 503)
        _ = try test.queue.settle(
            [delivered, failed], inboxErrors: [address: "HTTP 503"], pausedUntil: [address: now + 600], hold: [], claims: [], now: now)
        func line(at time: Double) throws -> InboxStatus? { try operatorView.status(now: time, inboxes: [address]).first }
        // The deferred copy is due in a minute, but nothing goes before the pause ends.
        #expect(try line(at: now + 1)?.nextAttempt == Timestamp.format(Date(timeIntervalSince1970: now + 600)))
        #expect(try line(at: now + 601)?.nextAttempt == Timestamp.format(Date(timeIntervalSince1970: now + 60)))
        #expect(try line(at: now + 1)?.lastError == "HTTP 503")
        #expect(try line(at: now + 1).map { ($0.queued, $0.inFlight, $0.deferred) } ?? (0, 0, 0) == (1, 0, 1))
        // Still counted a second short of 24 hours later.
        #expect(try line(at: now + 86_399)?.deliveredLast24h == 1)
        #expect(try line(at: now + 90_000)?.deliveredLast24h == 0)
        // Retrying a copy of the paused inbox (the deferred one) says it waits for the pause.
        let retried = try operatorView.apply(.retry, ids: ["00000000-0000-4000-8000-000000000401/\(address)"], inbox: nil, now: now + 2)
        #expect(retried.moved == 1)
        #expect(retried.pausedInboxes == [address: Timestamp.format(Date(timeIntervalSince1970: now + 600))])
        #expect(try operatorView.queueCounts().first { $0.inbox == address && $0.state == "queued" }?.count == 2)
    }

    @Test(arguments: StoreKind.available) func queueStatusShowsTheLastDeliveryAndDropsAnErrorALaterDeliveryOutdated(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let address = "prime-a/contact"
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000501"))
        try test.queueCopies(like: 1, count: 2, anonymous: true)
        func line(at time: Double) throws -> InboxStatus? { try test.operators.status(now: time, inboxes: [address]).first }
        #expect(try line(at: test.now)?.lastDelivery == nil)
        // One fails at 09:00:00 (503 with no Retry-After: the deliverer says so), the inbox keeps the error.
        #expect(try test.claim(address, limit: 3, at: test.now).map(\.seq) == [1, 2, 3])
        let failed = CopyTransition(
            seq: 1, to: .deferred, at: test.now, attempts: 1, nextAttemptAt: test.now + 60, reason: "HTTP 503", httpStatus: 503)
        _ = try test.queue.settle(
            [failed], inboxErrors: [address: "HTTP 503 without Retry-After"], pausedUntil: [:], hold: [], claims: [], now: test.now)
        #expect(try line(at: test.now + 1)?.lastError == "HTTP 503 without Retry-After")
        // A delivery ten seconds later: shown, and the error, now older than it, is no longer.
        let delivered = CopyTransition(seq: 2, to: .delivered, at: test.now + 10, attempts: 1, reason: "delivered", httpStatus: 200)
        _ = try test.queue.settle([delivered], inboxErrors: [:], pausedUntil: [:], hold: [], claims: [], now: test.now + 10)
        var status = try #require(try line(at: test.now + 70))
        #expect(status.lastDelivery == Timestamp.format(Date(timeIntervalSince1970: test.now + 10)))
        #expect(status.lastDeliveryAgeSeconds == 60)
        #expect(status.lastError == nil && status.lastErrorAt == nil)
        // A later failure shows again, beside the delivery before it; the latest of several deliveries counts.
        let late = CopyTransition(seq: 3, to: .delivered, at: test.now + 20, attempts: 1, reason: "delivered", httpStatus: 200)
        _ = try test.queue.settle([late], inboxErrors: [:], pausedUntil: [:], hold: [], claims: [], now: test.now + 20)
        _ = try test.queue.settle([], inboxErrors: [address: "connection refused"], pausedUntil: [:], hold: [], claims: [], now: test.now + 30)
        status = try #require(try line(at: test.now + 40))
        #expect(status.lastDelivery == Timestamp.format(Date(timeIntervalSince1970: test.now + 20)))
        #expect(status.lastError == "connection refused")
    }

    @Test(arguments: StoreKind.available) func anOpenCircuitIsKeptForQueueStatusAndItsWaitingCopiesExpireOnTime(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let address = "prime-a/contact"
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000701"))
        try test.queueCopies(like: 1, count: 2, anonymous: true)
        func line() throws -> InboxStatus? { try test.operators.status(now: test.now, inboxes: [address]).first }
        _ = try test.queue.settle(
            [], inboxErrors: [:], pausedUntil: [:], hold: [], claims: [], circuits: [address: .opened(at: test.now)], now: test.now)
        #expect(try line()?.circuitOpenSince == Timestamp.format(testAt))
        // Copy 2 was sent back by an operator later: its lifetime began again then.
        try test.store.database.write { session in
            try session.execute("UPDATE copy SET lifetime_from = ? WHERE seq = 2", [.real(test.now + 3600)])
        }
        // A day's lifetime: nothing is over a second short of it; then copies 1 and 3 are, not 2.
        #expect(try test.operators.expireLapsed(inbox: address, lifetime: 86_400, now: test.now + 86_399) == 0)
        #expect(try test.operators.expireLapsed(inbox: address, lifetime: 86_400, now: test.now + 86_400) == 2)
        #expect(try test.states() == ["expired", "queued", "expired"])
        #expect(try test.operators.expireLapsed(inbox: address, lifetime: 86_400, now: test.now + 86_400) == 0)
        #expect(try line()?.expired == 2)
        _ = try test.queue.settle([], inboxErrors: [:], pausedUntil: [:], hold: [], claims: [], circuits: [address: .closed], now: test.now)
        #expect(try line()?.circuitOpenSince == nil)
    }

    @Test(arguments: StoreKind.available) func queueShapeCountsEachInboxsUndeliveredCopiesByAge(kind: StoreKind) throws {
        let test = try TestStore(kind)
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000601", nino: "AB123456C"))
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000602", nino: "JK654321A"))
        try test.queueCopies(like: 1, count: 3, anonymous: true)
        // Accepted 1 minute, 7 minutes, 3 hours and 2 days before the shape is taken; one delivered is left out.
        let ages: [Int64: Double] = [1: 60, 2: 7 * 60, 3: 3 * 3600, 4: 2 * 86_400, 5: 60]
        try test.store.database.write { session in
            for (seq, age) in ages { try session.execute("UPDATE copy SET created_at = ? WHERE seq = ?", [.real(test.now - age), .integer(seq)]) }
        }
        #expect(try test.claim("prime-a/contact", limit: 5, at: test.now).count == 5)
        let delivered = CopyTransition(seq: 5, to: .delivered, at: test.now, attempts: 1, reason: "delivered", httpStatus: 200)
        _ = try test.queue.settle([delivered], inboxErrors: [:], pausedUntil: [:], hold: [], claims: [], now: test.now)
        let shape = try test.operators.shape(now: test.now)
        #expect(shape.map(\.inbox) == ["prime-a/contact"])
        // 5m, 10m, 20m, 40m, 80m, 160m, 320m, 640m, 1280m, older.
        #expect(shape.first?.counts == [1, 1, 0, 0, 0, 0, 1, 0, 0, 1])
        #expect(shape.first?.total == 4)
        #expect(QueueShape.bucket(ofAge: 300) == 0 && QueueShape.bucket(ofAge: 301) == 1 && QueueShape.bucket(ofAge: 76_801) == 9)

        // A claimant's copies, found by the key of their NINO (any suffix letter).
        var filter = CopyFilter()
        filter.personKey = NINO("JK654321B")!.personKey
        #expect(try test.operators.list(filter, now: test.now).map(\.messageID) == ["00000000-0000-4000-8000-000000000602"])
        filter.personKey = NINO("AB123456D")!.personKey
        #expect(try test.operators.list(filter, now: test.now).map(\.id) == ["00000000-0000-4000-8000-000000000601/prime-a/contact"])
    }

    @Test(arguments: StoreKind.available) func idempotencyHoldsAcrossAReopen(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let id = "00000000-0000-4000-8000-000000000002"
        let first = try test.submit(referral(id: id))
        let reopened = try test.reopen()
        let second = try reopened.cases.transaction { try testRouter.submit(referral(id: id), from: "jcp-leeds", at: testAt, in: $0) }
        #expect(second.replayed)
        #expect(second.response == first.response)
        let conflict = try reopened.cases.transaction {
            try testRouter.submit(referral(id: id, nino: "CE654321A"), from: "jcp-leeds", at: testAt, in: $0)
        }
        #expect(conflict.status == 409)
        #expect(try test.integer("SELECT COUNT(*) FROM message") == 1)
        // The message as its sender looks it up.
        let summary = try #require(try test.operators.message(id: id))
        #expect(summary.sender == "jcp-leeds")
        #expect(try JSONValue.parse(try #require(summary.decision))["outcome"] == .string("referred"))
    }

    @Test(arguments: StoreKind.available) func theIDOfAGeneratedMessageOrAnotherPartysIsAConflictNotAStoreError(kind: StoreKind) throws {
        let test = try TestStore(kind)
        // An SCR referral is refused and becomes a clerical task with an id of Liaison's own.
        guard case .object(var scr) = referral(id: "00000000-0000-4000-8000-000000000003") else { return }
        scr["scr"] = .bool(true)
        #expect(try test.submit(.object(scr)).refusal?.code.rawValue == "scr-clerical-only")
        let generatedID = try #require(try test.texts("SELECT id FROM message WHERE origin = 'generated'").first)
        // Before, the id's unique index failed the insert and the sender was told 503 for ever.
        let reused = try test.submit(referral(id: generatedID))
        #expect(reused.status == 409)
        #expect(reused.refusal?.code.rawValue == "id-conflict")
        // An id jcp-leeds used is taken for cwp-a, whatever it sends.
        let id = "00000000-0000-4000-8000-000000000004"
        #expect(try test.submit(referral(id: id)).status == 202)
        guard case .object(var claimed) = referral(id: id) else { return }
        claimed["from"] = .string("jcp-leeds")
        let other = try test.submit(.object(claimed), from: "cwp-a")
        #expect(other.refusal?.code.rawValue == "id-conflict")
        #expect(other.response["decision"] == nil)
    }

    @Test(arguments: StoreKind.available) func aFailedTransactionLeavesNothingHalfWritten(kind: StoreKind) throws {
        struct Boom: Error {}
        let test = try TestStore(kind)
        #expect(throws: Boom.self) {
            try test.cases.transaction { transaction -> Void in
                _ = try testRouter.submit(referral(id: "00000000-0000-4000-8000-000000000003"), from: "jcp-leeds", at: testAt, in: transaction)
                throw Boom()
            }
        }
        let counts = try ["message", "copy", "timer"].map { try test.integer("SELECT COUNT(*) FROM \($0)") }
        #expect(counts == [0, 0, 0])
        #expect(try test.integer("SELECT COUNT(*) FROM person WHERE record IS NOT NULL") == 0)
    }

    @Test(arguments: StoreKind.available) func aBatchKeepsEveryItemButTheOneThatFailed(kind: StoreKind) throws {
        struct Boom: Error {}
        let test = try TestStore(kind)
        let items = [
            ("00000000-0000-4000-8000-000000000011", "AB123456C"), ("00000000-0000-4000-8000-000000000012", "CE123456A"),
            ("00000000-0000-4000-8000-000000000013", "HJ123456B"), ("00000000-0000-4000-8000-000000000014", "JK123456D"),
        ]
        func keys(_ item: (String, String)) -> BatchKeys { BatchKeys(claimant: String(item.1.prefix(8)), messageID: item.0) }
        // Without a failure the batch is stored whole.
        let whole = try test.cases.batch(Array(items.prefix(1)), keys: keys) { item, transaction in
            try testRouter.submit(referral(id: item.0, nino: item.1), from: "jcp-leeds", at: testAt, in: transaction)
        }
        #expect(whole.map { (try? $0.get())?.status } == [202])
        // The middle item stores its message and then fails: it alone is undone, and the others are stored once.
        var runs = 0
        let results = try test.cases.batch(Array(items.suffix(3)), keys: keys) { item, transaction in
            runs += 1
            let answer = try testRouter.submit(referral(id: item.0, nino: item.1), from: "jcp-leeds", at: testAt, in: transaction)
            if item.1 == "HJ123456B" { throw Boom() }
            return answer
        }
        #expect(runs >= 3)
        #expect(results.map { (try? $0.get())?.status } == [202, nil, 202])
        #expect(throws: Boom.self) { try results[1].get() }
        #expect(try test.texts("SELECT person_key FROM message ORDER BY seq") == ["AB123456", "CE123456", "JK123456"])
        #expect(try test.integer("SELECT COUNT(*) FROM copy") == 3)
        #expect(try test.texts("SELECT key FROM person WHERE record IS NOT NULL ORDER BY key") == ["AB123456", "CE123456", "JK123456"])
        // The queue's counters count the stored copies, not the undone one nor the runs made twice.
        #expect(try test.queuedCounts() == test.copiesQueued())
        #expect(try test.queuedCounts().values.reduce(0, +) == 3)
    }

    /// Two messages about one claimant in one shared commit: the second is judged on the record the first left.
    @Test(arguments: StoreKind.available) func aBatchJudgesAClaimantsMessagesInTurn(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let first = referral(id: "00000000-0000-4000-8000-000000000031", nino: "AB123456C")
        let second = referral(id: "00000000-0000-4000-8000-000000000032", nino: "AB123456C")
        let results = try test.cases.batch([first, second], keys: { BatchKeys(claimant: "AB123456", messageID: $0["id"]?.stringValue) }) {
            message, transaction in try testRouter.submit(message, from: "jcp-leeds", at: testAt, in: transaction)
        }
        let answers = try results.map { try $0.get() }
        #expect(answers[0].status == 202)
        // A second referral while the first case is open is refused by the rules, as it would be a moment later.
        let later = try test.submit(referral(id: "00000000-0000-4000-8000-000000000033"))
        #expect(answers[1].status == later.status)
        #expect(answers[1].status != 202)
    }

    @Test(arguments: StoreKind.available) func theQueueCountersFollowEveryCopyStoredOrRolledBack(kind: StoreKind) throws {
        struct Boom: Error {}
        let test = try TestStore(kind)
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000021"))
        #expect(throws: Boom.self) {
            try test.cases.transaction { transaction -> Void in
                _ = try testRouter.submit(
                    referral(id: "00000000-0000-4000-8000-000000000022", nino: "CE123456A"), from: "jcp-leeds", at: testAt, in: transaction)
                throw Boom()
            }
        }
        let ninos = ["HJ123456B", "JK123456D", "KL123456A", "LM123456B"]
        _ = try test.cases.batch(Array(ninos.enumerated()), keys: { BatchKeys(claimant: String($0.element.prefix(8))) }) { item, transaction in
            try testRouter.submit(
                referral(id: "00000000-0000-4000-8000-00000000003\(item.offset)", nino: item.element), from: "jcp-leeds", at: testAt,
                in: transaction)
        }
        #expect(try test.queuedCounts() == test.copiesQueued())
        #expect(try test.queuedCounts().values.reduce(0, +) == 5)
        // A store reopened goes on counting from where it was.
        let reopened = try test.reopen()
        _ = try reopened.cases.transaction {
            try testRouter.submit(referral(id: "00000000-0000-4000-8000-000000000041", nino: "MN123456C"), from: "jcp-leeds", at: testAt, in: $0)
        }
        #expect(try test.queuedCounts() == test.copiesQueued())
        #expect(try test.queuedCounts().values.reduce(0, +) == 6)
        // Changes of state are counted too: each state's counter is the copies in it.
        _ = try test.claim("prime-a/contact", limit: 2)
        let counted = Dictionary(uniqueKeysWithValues: try test.operators.queueCounts().map { ("\($0.inbox) \($0.state)", $0.count) })
        let actual = Dictionary(
            uniqueKeysWithValues: try test.rows("SELECT address, state, COUNT(*) AS n FROM copy GROUP BY address, state")
                .map { ("\(try $0.text("address")) \(try $0.text("state"))", try $0.integer("n")) })
        #expect(counted.filter { $0.value != 0 } == actual)
    }

    @Test(arguments: StoreKind.available) func refusalsAreKeptWithoutTheirBodies(kind: StoreKind) throws {
        let test = try TestStore(kind)
        _ = try test.cases.transaction { try testRouter.submit(Array(#"{"not json"#.utf8), from: "cwp-a", at: testAt, in: $0) }
        try test.submit(referral(id: "00000000-0000-4000-8000-000000000004"), from: "cwp-a")
        let rows = try test.rows("SELECT code, masked_nino, detail FROM refusal ORDER BY seq")
        #expect(rows.map { $0["code"].text } == ["malformed-json", "not-permitted"])
        #expect(rows.last?["masked_nino"].text == "AB12****")
        // An id that is not a UUID and a type not in the catalogue are the sender's text: neither is kept.
        let odd = JSONValue.object(["id": .string("AB123456C"), "type": .string("CE654321A"), "nino": .string("AB123456C")])
        let refused = try test.submit(odd, from: "cwp-a")
        #expect(refused.messageID == nil)
        #expect(refused.type == nil)
        let kept = try #require(try test.rows("SELECT message_id, type, detail FROM refusal ORDER BY seq DESC LIMIT 1").first)
        #expect(kept["message_id"] == .null)
        #expect(kept["type"] == .null)
        #expect(try kept.text("detail").contains("654321") == false)
    }

    @Test(arguments: StoreKind.available) func replayRunsTheSameCodeOnAScratchStore(kind: StoreKind) throws {
        let scenario = try JSONValue.parse(
            #"""
            {"parties": [{"id": "jcp-leeds", "kind": "jobcentre", "calendar": "england-and-wales"}, {"id": "prime-a", "kind": "prime"}],
             "steps": [
               {"at": "2024-12-02T09:00:00Z", "as": "jcp-leeds", "send": {"id": "00000000-0000-4000-8000-000000000005", "type": "wp.referral", "to": "prime-a", "nino": "AB123456C", "body": {"referralDate": "2024-12-02", "benefit": "JSA", "mandatory": true}}},
               {"advance": "2024-12-24T12:00:00Z"}
             ]}
            """#)
        let location = try TestStore(kind).location
        let rules = try RuleFiles.loadRules(at: configFolder.appendingPathComponent("rules.yaml"))
        let calendars = try RuleFiles.loadCalendars(at: configFolder.appendingPathComponent("uk-bank-holidays.json"))
        let lines = try Store.withScratch(like: location) { store in
            try ScenarioReplay(rules: rules, calendars: calendars).run(scenario: scenario, store: store)
        }
        #expect(lines.count == 2)
        #expect(lines[0]["status"] == .number(202))
        #expect(lines[0]["response"]?["decision"]?["deadline"] == .string("2024-12-23"))
        #expect(lines[1]["emitted"]?.arrayValue?.count == 2)
    }

    // MARK: Staff

    @Test(arguments: StoreKind.available) func staffAccountsSessionsAndLocks(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let accounts = test.store.staffAccounts
        let now = Date(timeIntervalSince1970: test.now)
        let member = try accounts.add(
            email: "SPOC@cwp-a.test", name: "SPOC", party: "cwp-a", roles: [.spoc], setupToken: "token", expires: now.addingTimeInterval(60), now: now
        )
        #expect(throws: StaffAccounts.AccountError.exists(email: "spoc@cwp-a.test")) {
            try accounts.add(email: "spoc@cwp-a.test", name: "Again", party: "cwp-a", roles: [.spoc], setupToken: "t2", expires: now, now: now)
        }
        #expect(try accounts.invited(setupToken: "token", now: now)?.email == "spoc@cwp-a.test")
        #expect(try accounts.invited(setupToken: "token", now: now.addingTimeInterval(61)) == nil)
        // The link works once.
        #expect(try accounts.completeSetup(setupToken: "token", passwordHash: "hash", now: now)?.account.state == .active)
        #expect(try accounts.completeSetup(setupToken: "token", passwordHash: "other", now: now) == nil)
        #expect(try accounts.credentials(email: "spoc@cwp-a.test")?.passwordHash == "hash")
        // Sessions are found by their cookie and end.
        try accounts.startSession(cookie: "cookie", csrfToken: "csrf", for: member, now: now)
        #expect(try accounts.session(cookie: "cookie")?.csrfToken == "csrf")
        try accounts.touch(cookie: "cookie", now: now.addingTimeInterval(30))
        #expect(try accounts.session(cookie: "cookie")?.lastSeen == now.addingTimeInterval(30))
        #expect(try accounts.endStaleSessions(idleBefore: now, startedBefore: now.addingTimeInterval(-10)) == 0)
        #expect(try accounts.endStaleSessions(idleBefore: now.addingTimeInterval(31), startedBefore: now) == 1)
        #expect(try accounts.session(cookie: "cookie") == nil)
        // Failures lock the account at the policy's limit.
        let policy = StaffSignInPolicy(slowAfter: 1, longestDelay: 1, lockAfter: 2, lockFor: 60)
        #expect(try accounts.recordFailedSignIn(of: member, policy: policy, now: now).lockedNow == false)
        #expect(try accounts.recordFailedSignIn(of: member, policy: policy, now: now).lockedNow == true)
        #expect(try accounts.member(email: "spoc@cwp-a.test")?.account.isLocked(at: now) == true)
        // Reset lifts it; disabling ends the account's use.
        try accounts.reset(email: "spoc@cwp-a.test", setupToken: "again", expires: now.addingTimeInterval(60), now: now)
        #expect(try accounts.member(email: "spoc@cwp-a.test")?.account.state == .invited)
        try accounts.disable(email: "spoc@cwp-a.test", now: now)
        #expect(try accounts.list().map(\.account.state) == [.disabled])
        #expect(throws: StaffAccounts.AccountError.unknown(email: "nobody@cwp-a.test")) { try accounts.disable(email: "nobody@cwp-a.test", now: now) }
    }

    @Test(arguments: StoreKind.available) func theStaffInboxListsCountsAndMarksDone(kind: StoreKind) throws {
        let test = try TestStore(kind)
        let inbox = test.store.staffInbox
        for n in 1...3 {
            try test.submit(referral(id: String(format: "00000000-0000-4000-8000-%012d", 600 + n), nino: String(format: "CE%06dA", n)))
        }
        let today = LocalDate("2024-12-02")!
        let counts = try inbox.counts(inboxes: ["prime-a/contact"], today: today)["prime-a/contact"]
        #expect(counts == .init(waiting: 3, overdue: 0))
        // The attachment is due within 15 working days: overdue once that has passed.
        #expect(try inbox.counts(inboxes: ["prime-a/contact"], today: LocalDate("2025-01-31")!)["prime-a/contact"]?.overdue == 3)
        let page = try inbox.page(inbox: "prime-a/contact", filter: .init(), today: today, limit: 2, page: 99)
        #expect(page.total == 3 && page.page == 2)
        #expect(page.rows.map(\.nino) == ["CE000001A"])
        let found = try inbox.page(inbox: "prime-a/contact", filter: .init(personKey: "CE000002"), today: today, limit: 25, page: 1)
        #expect(found.rows.map(\.messageID) == ["00000000-0000-4000-8000-000000000602"])
        // A message as its parties may see it, and no one else.
        let message = try #require(try inbox.message(id: "00000000-0000-4000-8000-000000000601", party: "prime-a"))
        #expect(message.copies.map(\.inbox) == ["prime-a/contact"])
        #expect(message.decision?["outcome"] == .string("referred"))
        #expect(try inbox.message(id: "00000000-0000-4000-8000-000000000601", party: "cwp-a") == nil)
        #expect(try inbox.timeline(personKey: "CE000001", party: "jcp-leeds").map(\.type) == ["wp.referral"])
        // Done acknowledges the copy as a pull's acknowledgement does, once.
        #expect(try inbox.markDone(inbox: "prime-a/contact", messageID: "00000000-0000-4000-8000-000000000601", by: "a@b.test", now: testAt))
        #expect(try !inbox.markDone(inbox: "prime-a/contact", messageID: "00000000-0000-4000-8000-000000000601", by: "a@b.test", now: testAt))
        #expect(try test.operators.show("00000000-0000-4000-8000-000000000601").first?.events.last?.reason == "marked done by a@b.test")
    }
}
