import Foundation
import GRDB
import LiaisonCore
import LiaisonDelivery
import LiaisonStore
import Logging
import Synchronization
import Testing
import X509

@testable import LiaisonRuntime
@testable import LiaisonServer

/// The daemon's parts driven directly, with an injected clock or a store that cannot write.
@Suite struct ServerPartsTests {
    /// The rate limiter on an injected clock: a burst, then one request per 1/rate seconds, each party its own.
    @Test func theRateLimiterRefillsOnItsClockNotTheWallsAndEachPartyHasItsOwn() {
        let limiter = RateLimiter(rate: 2, burst: 3)
        let start = 1_000_000.0
        #expect((0..<3).map { _ in limiter.take("jcp-leeds", now: start) } == [nil, nil, nil])
        // Empty: the next token is half a second away at two a second.
        #expect(limiter.take("jcp-leeds", now: start) == 0.5)
        #expect(limiter.take("jcp-york", now: start) == nil)
        #expect(limiter.take("jcp-leeds", now: start + 0.25).map { abs($0 - 0.25) < 1e-9 } == true)
        #expect(limiter.take("jcp-leeds", now: start + 0.5) == nil)
        // A long quiet refills to the burst, no further.
        #expect((0..<4).map { _ in limiter.take("jcp-leeds", now: start + 3600) }.filter { $0 == nil }.count == 3)
    }

    /// A certificate's common name is matched as issued, not as a distinguished name's text escapes it.
    @Test func commonNamesAreReadAsIssued() throws {
        let name = try DistinguishedName {
            OrganizationName("DWP")
            CommonName("Acme, Ltd + \"North\" #1")
        }
        #expect(Authenticator.commonNames(of: name) == ["Acme, Ltd + \"North\" #1"])
    }

    @Test func logLinesCarryTheTimeLevelMessageAndSortedMetadata() {
        var handler = LineLogHandler(label: "liaison")
        handler.metadata = ["sender": "jcp-leeds", "id": "x"]
        let event = LogEvent(
            level: .info, message: "accepted", metadata: ["nino": "AB12****C", "id": "m-1"], source: "LiaisonServer",
            file: #fileID, function: #function, line: #line)
        #expect(
            handler.line(event, at: Date(timeIntervalSince1970: 1_795_000_000.123))
                == "2026-11-18T11:06:40.123Z info liaison: accepted id=m-1 nino=AB12****C sender=jcp-leeds\n")
    }

    @Test func aValueCannotStartALineOfItsOwn() {
        let handler = LineLogHandler(label: "liaison")
        let event = LogEvent(
            level: .info, message: "refused", metadata: ["error": "bad\n2026-11-18T11:06:40.123Z info liaison: accepted\u{7F}"],
            source: "LiaisonServer", file: #fileID, function: #function, line: #line)
        #expect(
            handler.line(event, at: Date(timeIntervalSince1970: 1_795_000_000.123))
                == "2026-11-18T11:06:40.123Z info liaison: refused error=bad\\u{000A}2026-11-18T11:06:40.123Z info liaison: accepted\\u{007F}\n")
    }

    /// Caller text cannot turn a line around (bidi overrides), hide in format characters, or pass for an escape
    /// of the handler's own; a masked NINO's visible characters are caller text too.
    @Test func aValueCannotReorderOrHideWhatALineSays() {
        let handler = LineLogHandler(label: "liaison")
        let nino = NINO.mask("\u{202E}B123456C")
        let event = LogEvent(
            level: .info, message: "refused",
            metadata: [
                "nino": .string(nino), "detail": "a\u{2066}b\u{200B}c\u{2028}d\u{85}e\u{A0}f\\u{000A}g é ü 日本",
            ],
            source: "LiaisonServer", file: #fileID, function: #function, line: #line)
        let line = handler.line(event, at: Date(timeIntervalSince1970: 1_795_000_000.123))
        #expect(
            line == "2026-11-18T11:06:40.123Z info liaison: refused "
                + "detail=a\\u{2066}b\\u{200B}c\\u{2028}d\\u{0085}e\\u{00A0}f\\u{005C}u{000A}g é ü 日本 nino=\\u{202E}B*******\n")
        #expect(!line.unicodeScalars.contains { $0.properties.generalCategory == .format })
    }

    @Test func logLinesAreWrittenInBatchesWithinTheirDelayAndErrorsAtOnce() async throws {
        let folder = temporaryFolder("log-output")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("log.txt").path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        func written() -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

        // A long delay: nothing is written until the error, which takes what waited before it along.
        let output = LogOutput(descriptor: descriptor, delay: 3600)
        for number in 1...100 { output.write(Array("line \(number)\n".utf8)) }
        #expect(written() == "")
        output.write(Array("error\n".utf8), now: true)
        #expect(written() == (1...100).map { "line \($0)\n" }.joined() + "error\n")

        // A short delay: lines arrive without anyone flushing.
        let prompt = LogOutput(descriptor: descriptor, delay: 0.005)
        prompt.write(Array("later\n".utf8))
        #expect(await eventually { written().hasSuffix("error\nlater\n") })
    }

    @Test func bearerTokensAreMatchedWhateverTheSchemesCaseOrTheBlanksAroundThem() {
        let authenticator = Authenticator(parties: [
            DaemonConfig.PartyConfig(
                party: Party(id: "jcp-leeds", kind: .jobcentre, calendar: .englandAndWales), tokens: ["token-one-0123456789"],
                certificateName: nil, inboxes: [:]),
            DaemonConfig.PartyConfig(party: Party(id: "cwp-a", kind: .cwp), tokens: ["token-two-0123456789"], certificateName: nil, inboxes: [:]),
        ])
        #expect(authenticator.party(forAuthorization: "Bearer token-one-0123456789") == "jcp-leeds")
        #expect(authenticator.party(forAuthorization: "bEARER \ttoken-two-0123456789 ") == "cwp-a")
        #expect(authenticator.party(forAuthorization: "Bearer token-one-012345678") == nil)
        #expect(authenticator.party(forAuthorization: "Bearer token-one-0123456789x") == nil)
        #expect(authenticator.party(forAuthorization: "Basic token-one-0123456789") == nil)
        #expect(authenticator.party(forAuthorization: "Bearertoken-one-0123456789") == nil)
        #expect(authenticator.party(forAuthorization: "Bearer ") == nil)
        #expect(authenticator.party(forAuthorization: "") == nil)
    }

    private func makeRouter() throws -> LiaisonCore.SubmissionDesk {
        let rules = try RuleFiles.loadRules(at: repository.appendingPathComponent("config/rules.yaml"))
        let calendars = try RuleFiles.loadCalendars(at: repository.appendingPathComponent("config/uk-bank-holidays.json"))
        let directory = try PartyDirectory([
            Party(id: "jcp-leeds", kind: .jobcentre, calendar: .englandAndWales), Party(id: "prime-a", kind: .prime),
            Party(id: "cwp-a", kind: .cwp),
        ])
        return LiaisonCore.SubmissionDesk(context: RuleContext(directory: directory, rules: rules, calendars: calendars))
    }

    private func referral(id: String = UUID().uuidString.lowercased(), nino: String = "AB123456C") -> [UInt8] {
        let message: JSONValue = .object([
            "id": .string(id), "type": .string("wp.referral"), "to": .string("prime-a"), "nino": .string(nino),
            "sentAt": .string("2024-12-02T09:00:00Z"),
            "body": .object(["referralDate": .string("2024-12-02"), "benefit": .string("JSA"), "mandatory": .bool(true)]),
        ])
        return message.canonicalBytes
    }

    /// A CWP referral with 64 KB of restrictions: it needs new database pages.
    private func largeReferral() -> [UInt8] {
        let message: JSONValue = .object([
            "id": .string(UUID().uuidString.lowercased()), "type": .string("cwp.referral"), "to": .string("cwp-a"),
            "nino": .string("AB123456C"), "sentAt": .string("2026-01-12T09:00:00Z"),
            "body": .object([
                "referralDate": .string("2026-01-12"), "wpciDate": .string("2025-12-01"),
                "engagementMeeting": .string("2026-01-19T10:00:00Z"), "alerts": .array([]),
                "restrictions": .string(String(repeating: "no heavy lifting; ", count: 3600)),
            ]),
        ])
        return message.canonicalBytes
    }

    @Test func theTimerServiceFiresDueTimersOnceOnItsClock() throws {
        let folder = temporaryFolder("timer-service")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteCaseStore(path: folder.appendingPathComponent("store.sqlite").path)
        let router = try makeRouter()
        let answer = try store.transaction {
            try router.submit(referral(), from: "jcp-leeds", at: Timestamp.parse("2024-12-02T09:00:00Z")!, in: $0)
        }
        #expect(answer.status == 202)
        let wakes = Atomic<Int>(0)
        let service = TimerService(
            store: store, operators: store.operators, router: { router }, metrics: ExchangeMetrics(), logger: Logger(label: "test"),
            onEmit: { _ in wakes.add(1, ordering: .relaxed) })
        service.tick(at: Timestamp.parse("2024-12-23T23:59:59Z")!)
        #expect(wakes.load(ordering: .relaxed) == 0)
        service.tick(at: Timestamp.parse("2024-12-24T00:00:00Z")!)
        #expect(wakes.load(ordering: .relaxed) == 1)
        service.tick(at: Timestamp.parse("2024-12-24T00:00:01Z")!)
        service.tick(at: Timestamp.parse("2024-12-25T00:00:00Z")!)
        #expect(wakes.load(ordering: .relaxed) == 1)
        let generated = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT type FROM message WHERE origin = 'generated' ORDER BY seq")
        }
        #expect(generated == ["wp.attachment.overdue", "wp.attachment.overdue"])
    }

    @Test func aClaimantWhoseRecordCannotBeReadHoldsUpNoOneElsesTimers() async throws {
        let folder = temporaryFolder("unreadable-record")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteCaseStore(path: folder.appendingPathComponent("store.sqlite").path)
        let router = try makeRouter()
        for nino in ["AB123456C", "CE654321A"] {
            let answer = try store.transaction {
                try router.submit(referral(nino: nino), from: "jcp-leeds", at: Timestamp.parse("2024-12-02T09:00:00Z")!, in: $0)
            }
            #expect(answer.status == 202)
        }
        // One claimant's record no longer reads (written by a later version, say, or damaged): the one whose
        // timers are tried second, so that the first attempt at the tick has fired the other's before it fails.
        let record = try await store.pool.read { db in try String.fetchOne(db, sql: "SELECT record FROM person WHERE key = 'CE654321'") }
        try await store.pool.write { db in try db.execute(sql: #"UPDATE person SET record = '{"unexpected": true}' WHERE key = 'CE654321'"#) }
        let log = LogFile(in: folder)
        let service = TimerService(
            store: store, operators: store.operators, router: { router }, metrics: ExchangeMetrics(), logger: log.logger, onEmit: { _ in })
        func failures() -> [Substring] { log.lines(containing: "could not fire") }
        func fired() throws -> [String] {
            try store.pool.read { db in
                // (A third claimant's referral below, dated like the others, falls due too.)
                try String.fetchAll(db, sql: "SELECT person_key FROM message WHERE origin = 'generated' AND person_key <> 'HJ111111' ORDER BY seq")
            }
        }
        func stillDue(_ key: String) throws -> Bool {
            try store.pool.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM timer WHERE person_key = ?)", arguments: [key]) }
                ?? false
        }

        // Both attachment deadlines pass at midnight on the 23rd: the other claimant's fires, once (to the
        // provider and the Jobcentre), the unreadable one's stays due, and the failure is logged, key masked.
        let midnight = Timestamp.parse("2024-12-24T00:00:00Z")!
        service.tick(at: midnight)
        #expect(try fired() == ["AB123456", "AB123456"])
        #expect(try stillDue("CE654321"))
        #expect(failures().count == 1)
        #expect(failures().first?.contains("error") == true)
        #expect(failures().first?.contains("person=CE65****") == true)
        #expect(log.lines(containing: "CE654321").isEmpty)
        // Tried again a minute on, not every tick; logged again an hour on while it goes on failing.
        service.tick(at: midnight.addingTimeInterval(1))
        service.tick(at: midnight.addingTimeInterval(61))
        #expect(failures().count == 1)
        service.tick(at: midnight.addingTimeInterval(3601))
        #expect(failures().count == 2)
        // A message about that claimant cannot be judged meanwhile and is failed alone (the server answers 503);
        // one about someone else is judged.
        let committer = GroupCommitter(store: store, router: { router }, logger: Logger(label: "test"), onHealth: { _ in }, onCommit: { _ in })
        defer { committer.stop() }
        await #expect(throws: StoreError.self) { try await committer.submit(referral(nino: "CE654321A"), from: "jcp-leeds") }
        #expect(try await committer.submit(referral(nino: "HJ111111A"), from: "jcp-leeds").status == 202)
        // Once the record reads again, its timers fire at the next try, late but once.
        try await store.pool.write { db in try db.execute(sql: "UPDATE person SET record = ? WHERE key = 'CE654321'", arguments: [record]) }
        service.tick(at: midnight.addingTimeInterval(3602))
        #expect(try fired() == ["AB123456", "AB123456"])
        service.tick(at: midnight.addingTimeInterval(3661))
        service.tick(at: midnight.addingTimeInterval(3662))
        #expect(try fired() == ["AB123456", "AB123456", "CE654321", "CE654321"])
        #expect(failures().count == 2)
    }

    @Test func submissionsAreTakenInTheOrderTheyWereReceivedHoweverFastEachIsParsed() {
        var intake = Intake<String>()
        for ticket: UInt64 in 1...4 { intake.received(ticket) }
        // The later ones are parsed first: they wait for the first.
        intake.prepared(3, "third")
        intake.prepared(2, "second")
        #expect(!intake.take(upTo: 10).more)
        #expect(intake.take(upTo: 10).jobs == [])
        intake.prepared(1, "first")
        // Then all that no submission still being parsed precedes, oldest first, a batch at a time.
        let batch = intake.take(upTo: 2)
        #expect(batch.jobs == ["first", "second"])
        #expect(batch.more)
        #expect(intake.take(upTo: 2) == (["third"], false))
        // One refused while stopping holds up no one behind it.
        intake.received(5)
        intake.prepared(5, "fifth")
        #expect(intake.take(upTo: 10).jobs == [])
        intake.withdraw(4)
        #expect(intake.take(upTo: 10).jobs == ["fifth"])
        #expect(!intake.hasPrepared)
    }

    @Test func aTimerWaitsForAMessageReceivedBeforeItFellDue() async throws {
        // The attachment deadline of a referral made on 2 December 2024 passes at midnight on the 23rd. The
        // attachment arrives half a second before and waits for the writer (here, held up by another
        // connection's write lock) while the clock passes midnight and the timer service ticks.
        let folder = temporaryFolder("receipt-order")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("store.sqlite").path
        let store = try SQLiteCaseStore(path: path)
        let router = try makeRouter()
        _ = try store.transaction { try router.submit(referral(), from: "jcp-leeds", at: Timestamp.parse("2024-12-02T09:00:00Z")!, in: $0) }
        let receivedAt = Timestamp.parse("2024-12-23T23:59:59.500Z")!
        let afterMidnight = Timestamp.parse("2024-12-24T00:00:00.500Z")!
        // The clock is first read when the attachment is received; from then on it is past midnight.
        let reads = Mutex(0)
        let clock: @Sendable () -> Date = {
            reads.withLock { count in
                count += 1
                return count == 1 ? receivedAt : afterMidnight
            }
        }
        let committer = GroupCommitter(
            store: store, router: { router }, logger: Logger(label: "test"), clock: clock, onHealth: { _ in }, onCommit: { _ in })
        defer { committer.stop() }
        var timers = TimerService(
            store: store, operators: store.operators, router: { router }, metrics: ExchangeMetrics(), logger: Logger(label: "test"), onEmit: { _ in })
        timers.clock = { committer.firingInstant() }

        // Another connection takes the write lock on a thread of its own and holds it until released.
        let other = try DatabaseQueue(path: path)
        let locked = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        Thread {
            try? other.inTransaction(.immediate) { _ in
                locked.signal()
                release.wait()
                return .rollback
            }
        }.start()
        locked.wait()
        let attachment = JSONValue.object([
            "id": .string(UUID().uuidString.lowercased()), "type": .string("wp.attachment"), "nino": .string("AB123456C"),
            "sentAt": .string("2024-12-23T23:59:59Z"), "body": .object(["attachmentDate": .string("2024-12-23")]),
        ]).canonicalBytes
        let submitted = Task { try await committer.submit(attachment, from: "prime-a") }
        #expect(await eventually(5) { reads.withLock { $0 } == 1 })
        // Past midnight, the attachment still holds the timers back to its receipt.
        #expect(committer.firingInstant() == receivedAt)
        // The tick fires at the attachment's receipt, when the deadline had not passed.
        let instant = timers.clock()
        #expect(instant == receivedAt)
        let ticking = timers
        let ticked = Task { ticking.tick(at: instant) }
        release.signal()
        let answer = try await submitted.value
        await ticked.value
        #expect(answer.status == 202)
        #expect(answer.response["decision"]?["onTime"] == .bool(true))
        // Judged, the attachment no longer holds the timers back, and the deadline it met never fires.
        #expect(timers.clock() == afterMidnight)
        timers.tick(at: timers.clock())
        let generated = try await store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT type FROM message WHERE origin = 'generated'")
        }
        #expect(generated == [])
    }

    /// Whether `work` returns within `seconds` once its task is cancelled. Polls rather than awaits it, so that
    /// a `work` that never ends fails the test instead of hanging it.
    private func endsWhenCancelled(within seconds: Double, _ work: @escaping @Sendable () async throws -> Void) async -> Bool {
        let ended = Atomic<Bool>(false)
        let task = Task {
            try? await work()
            ended.store(true, ordering: .relaxed)
        }
        try? await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let deadline = Date().addingTimeInterval(seconds)
        while !ended.load(ordering: .relaxed), Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return ended.load(ordering: .relaxed)
    }

    @Test func theTimerServiceAndTheDelivererStopWhenCancelled() async throws {
        // The service group cancels instead of shutting down gracefully when a service fails (the port is
        // taken, say): both must end then, or the process never exits.
        let folder = temporaryFolder("cancelled")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteCaseStore(path: folder.appendingPathComponent("store.sqlite").path)
        let timers = TimerService(
            store: store, operators: store.operators, router: constant(try makeRouter()), metrics: ExchangeMetrics(), logger: Logger(label: "test"),
            onEmit: { _ in })
        #expect(await endsWhenCancelled(within: 5) { try await timers.run() })
        let engine = DeliveryEngine(
            queue: DeliveryQueue(store: store), endpoints: [], policy: RetryPolicy(schedule: [1], jitter: 0, lifetime: 60),
            drainSeconds: 1, logger: Logger(label: "test"))
        #expect(await endsWhenCancelled(within: 5) { try await engine.run() })
    }

    @Test func theTimerServiceWarnsOfBlockedTimersOnceAndThenHourly() throws {
        let folder = temporaryFolder("blocked-timers")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteCaseStore(path: folder.appendingPathComponent("store.sqlite").path)
        // Bank-holiday data that ends with 2025: the programme's end in 2026 cannot be counted in working days.
        let full = try makeRouter()
        let events = #"[{"date": "2024-12-25"}, {"date": "2025-12-25"}]"#
        let holidays =
            #"{"england-and-wales": {"events": \#(events)}, "scotland": {"events": \#(events)}, "northern-ireland": {"events": \#(events)}}"#
        let router = LiaisonCore.SubmissionDesk(
            context: RuleContext(
                directory: full.rules.context.directory, rules: full.rules.context.rules,
                calendars: try CalendarSet(govUKJSON: Array(holidays.utf8))))
        _ = try store.transaction {
            try router.submit(referral(), from: "jcp-leeds", at: Timestamp.parse("2024-12-02T09:00:00Z")!, in: $0)
        }
        let log = LogFile(in: folder)
        let service = TimerService(
            store: store, operators: store.operators, router: { router }, metrics: ExchangeMetrics(), logger: log.logger, onEmit: { _ in })
        func warnings() -> [Substring] { log.lines(containing: "timers blocked") }

        let later = Timestamp.parse("2027-06-30T09:00:00Z")!
        service.tick(at: later)
        #expect(warnings().count == 1)
        #expect(warnings().first?.contains("warning") == true)
        #expect(warnings().first?.contains("blocked=1") == true)
        service.tick(at: later.addingTimeInterval(1))
        service.tick(at: later.addingTimeInterval(60))
        #expect(warnings().count == 1)
        service.tick(at: later.addingTimeInterval(3601))
        #expect(warnings().count == 2)
    }

    @Test func aSubmissionThatCannotBeStoredFailsWholeAndTheDaemonIsNotReady() async throws {
        let folder = temporaryFolder("store-full")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteCaseStore(path: folder.appendingPathComponent("store.sqlite").path)
        // A database that may not grow is what a full disk looks like to SQLite (SQLITE_FULL).
        let pages = try await store.pool.writeWithoutTransaction { db -> Int in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count")!
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
            return pages
        }
        let state = DaemonState()
        let committer = GroupCommitter(
            store: store, router: constant(try makeRouter()), logger: Logger(label: "test"), clock: { Timestamp.parse("2026-01-12T09:00:00Z")! },
            onHealth: { state.storeHealth($0) }, onCommit: { _ in })
        await #expect(throws: (any Error).self) {
            _ = try await committer.submit(largeReferral(), from: "jcp-leeds")
        }
        #expect(!state.isStoreHealthy)
        let counts = try await store.pool.read { db in
            try ["message", "person", "copy", "timer", "copy_event"].map { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \($0)")! }
        }
        #expect(counts == [0, 0, 0, 0, 0])

        try await store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = \(pages * 1000)") }
        let answer = try await committer.submit(largeReferral(), from: "jcp-leeds")
        #expect(answer.status == 202)
        #expect(state.isStoreHealthy)
        committer.stop()
    }

    @Test func readinessProbesTheStoreAgainAfterAFailedCommit() async throws {
        let folder = temporaryFolder("store-probe")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteCaseStore(path: folder.appendingPathComponent("store.sqlite").path)
        let state = DaemonState()
        let committer = GroupCommitter(
            store: store, router: constant(try makeRouter()), logger: Logger(label: "test"), clock: { Timestamp.parse("2026-01-12T09:00:00Z")! },
            onHealth: { state.storeHealth($0) }, onCommit: { _ in })
        defer { committer.stop() }
        // A store that refuses every write, as a read-only or failed disk does.
        try await store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = ON") }
        await #expect(throws: (any Error).self) {
            _ = try await committer.submit(largeReferral(), from: "jcp-leeds")
        }
        #expect(!state.isStoreHealthy)
        #expect(!committer.probeStore())
        // The disk comes back and nothing is submitted: the probe alone finds the store writable again.
        try await store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = OFF") }
        #expect(committer.probeStore())
        let probed = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM store_probe") }
        #expect(probed == 1)
    }

    @Test func readinessWritesToTheStoreOnlyWhenNoWriteHasShownItWritableLately() {
        let state = DaemonState()
        let start = Date(timeIntervalSince1970: 1_000_000)
        var probes = 0
        var writable = true
        func notReady(after seconds: TimeInterval) -> String? {
            state.notReady(at: start.addingTimeInterval(seconds)) {
                probes += 1
                return writable
            }
        }
        // Nothing written yet: readiness writes once, then trusts that write for a while.
        #expect(notReady(after: 0) == nil)
        #expect(notReady(after: 1) == nil)
        #expect(probes == 1)
        // A commit shows the store writable just as well.
        state.storeHealth(true, at: start.addingTimeInterval(4))
        #expect(notReady(after: 8) == nil)
        #expect(probes == 1)
        // Idle, the disk fills: the next probe finds it, and each after tries again until the disk is back.
        writable = false
        #expect(notReady(after: 9.5) == "the store cannot be written durably")
        #expect(notReady(after: 9.6) != nil)
        writable = true
        #expect(notReady(after: 9.7) == nil)
        #expect(probes == 4)
        // Draining is not ready, whatever the store.
        state.drain()
        #expect(notReady(after: 10) == "Liaison is shutting down")
        #expect(probes == 4)
    }

    @Test func concurrentSubmissionsShareCommits() async throws {
        let folder = temporaryFolder("group-commit")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteCaseStore(path: folder.appendingPathComponent("store.sqlite").path)
        let commits = Atomic<Int>(0)
        let addresses = Mutex<Set<String>>([])
        let at = Timestamp.parse("2024-12-02T09:00:00Z")!
        let committer = GroupCommitter(
            store: store, router: constant(try makeRouter()), logger: Logger(label: "test"), clock: { at }, onHealth: { _ in },
            onCommit: { given in
                commits.add(1, ordering: .relaxed)
                addresses.withLock { $0.formUnion(given) }
            })
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<400 {
                let body = JSONValue.object([
                    "id": .string(UUID().uuidString.lowercased()), "type": .string("wp.referral"), "to": .string("prime-a"),
                    "nino": .string(nino(n)), "sentAt": .string("2024-12-02T09:00:00Z"),
                    "body": .object(["referralDate": .string("2024-12-02"), "benefit": .string("JSA"), "mandatory": .bool(true)]),
                ]).canonicalBytes
                group.addTask { try await committer.submit(body, from: "jcp-leeds").status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 202 })
        print("group commit: 400 concurrent submissions stored in \(commits.load(ordering: .relaxed)) commits")
        #expect(commits.load(ordering: .relaxed) < 400)
        // Each commit names the inboxes it stored copies for, so the deliverer is woken only for push inboxes.
        let named = addresses.withLock { $0 }
        #expect(!named.isEmpty && named.allSatisfy { $0.hasPrefix("prime-a/") })
        committer.stop()
    }

    /// Failed sign-ins slow their address, not another's, and are forgotten after a success or a quiet spell.
    @Test func failedSignInsSlowTheirAddressOnly() {
        let policy = StaffSignInPolicy(slowAfter: 2, longestDelay: 8, lockAfter: 5, lockFor: 900)
        let signIns = SignInGuard(policy: policy)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let delays = (0..<6).map { signIns.failed(from: "10.0.0.1", at: start.addingTimeInterval(Double($0))) }
        #expect(delays == [0, 0, 1, 2, 4, 8])
        #expect(signIns.failed(from: "10.0.0.2", at: start) == 0)
        signIns.succeeded(from: "10.0.0.1")
        #expect(signIns.failed(from: "10.0.0.1", at: start.addingTimeInterval(10)) == 0)
        for second in 0..<3 { _ = signIns.failed(from: "10.0.0.3", at: start.addingTimeInterval(Double(second))) }
        #expect(signIns.failed(from: "10.0.0.3", at: start.addingTimeInterval(3)) == 2)
        #expect(signIns.failed(from: "10.0.0.3", at: start.addingTimeInterval(3 + 901)) == 0)
    }

    /// bcrypt runs one at a time with a short line; past the line a sign-in is told the service is busy.
    @Test func hashingRunsOneAtATimeAndRefusesPastTheLine() async throws {
        let signIns = SignInGuard(policy: StaffSignInPolicy(), concurrent: 1, waiting: 2)
        final class Turns: Sendable {
            let running = Mutex((now: 0, most: 0))
            let open = Mutex(false)
        }
        let turns = Turns()
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    do {
                        _ = try await signIns.hashing {
                            turns.running.withLock {
                                $0.now += 1
                                $0.most = max($0.most, $0.now)
                            }
                            while !turns.open.withLock({ $0 }) { usleep(1_000) }
                            turns.running.withLock { $0.now -= 1 }
                            return 0
                        }
                        return true
                    } catch {
                        return false
                    }
                }
            }
            // The refused ones answer at once; then the one running and the two in line may finish.
            try? await Task.sleep(for: .milliseconds(300))
            turns.open.withLock { $0 = true }
            var results: [Bool] = []
            for await result in group { results.append(result) }
            return results
        }
        #expect(results.filter { $0 }.count == 3)
        #expect(results.filter { !$0 }.count == 3)
        #expect(turns.running.withLock { $0.most } == 1)
    }
}

/// A log that goes to a file, for tests that read back what was logged.
final class LogFile {
    private let path: String
    private let descriptor: Int32
    private let output: LogOutput

    init(in folder: URL) {
        path = folder.appendingPathComponent("log.txt").path
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        // Lines wait until read back: `lines(containing:)` flushes.
        output = LogOutput(descriptor: descriptor, delay: 3600)
    }

    deinit { close(descriptor) }

    var logger: Logger {
        let output = output
        return Logger(label: "test") { LineLogHandler(label: $0, output: output) }
    }

    /// The lines logged so far that contain `text`.
    func lines(containing text: String) -> [Substring] {
        output.flush()
        return ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains(text) }
    }

}

/// A router that no reload replaces.
func constant(_ router: LiaisonCore.SubmissionDesk) -> @Sendable () -> LiaisonCore.SubmissionDesk { { router } }
