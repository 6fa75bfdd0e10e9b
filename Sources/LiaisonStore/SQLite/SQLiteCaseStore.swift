import Foundation
import GRDB
import LiaisonCore

/// The registry, message history, routed copies and timers in SQLite (WAL, `synchronous=FULL`): a commit
/// returns only once it is on disk.
public final class SQLiteCaseStore: ExchangeStore {
    /// The database, for the queue and operator views built on the same file.
    public let pool: DatabasePool
    /// The writer checkpoints the log itself only once it holds this many pages (64 MB at 4 KB pages):
    /// normally `Checkpointer` does it on another thread long before.
    public static let writerCheckpointPages = 16_384

    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    /// - Throws: `StoreError.notDurable` when SQLite will not run with `synchronous=FULL`, or any SQLite error.
    public init(path: String) throws {
        // Private from the start (it holds full NINOs and bodies), and SQLite gives its side files its mode.
        try StoreFiles.createPrivateFile(path)
        WALBuffer.install()
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(SQLiteCaseStore.writerCheckpointPages)")
            // After a checkpoint lets the log start over, it is cut back to this size.
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
            // A modest cache (8 MB): SQLite walks the page cache's hash table at the end of every write
            // transaction, so a large cache costs every commit (measured: with 64 MB, 3-7% of the writer's
            // time went into that walk alone, and the writer was 15-20% slower per message). Dirty pages are
            // never spilled into the log mid-transaction, so a shared commit larger than the cache still
            // writes each page once, at commit. Savepoint journals stay in memory, not in temporary files.
            try db.execute(sql: "PRAGMA cache_size = -8192")
            try db.execute(sql: "PRAGMA cache_spill = OFF")
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        // DatabasePool sets synchronous=NORMAL when it enables WAL; durability needs FULL on every connection.
        try pool.barrierWriteWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            let level = try Int.fetchOne(db, sql: "PRAGMA synchronous")
            guard level == 2 else { throw StoreError.notDurable(synchronous: level ?? -1) }
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode")
            guard mode?.lowercased() == "wal" else { throw StoreError.notWAL(mode: mode ?? "?") }
        }
        // Stores made by builds before the v1 schema settled (copies with a stored random id) cannot be read
        // or upgraded.
        let preRelease = try pool.read { db in
            try db.tableExists("copy") && db.columns(in: "copy").contains { $0.name == "id" }
        }
        if preRelease { throw StoreError.incompatible("made by a pre-release build (copies with a stored id)") }
        try SQLiteSchema.migrator.migrate(pool)
        try SQLiteSchema.lowerMessageIDs(pool)
    }

    /// The store on a pool already open (an operator's command, which neither creates nor migrates it).
    init(existing pool: DatabasePool) {
        self.pool = pool
    }

    /// The `PRAGMA synchronous` level of the writer connection (2 = FULL).
    public func synchronousLevel() throws -> Int {
        try pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Makes one small durable write (a row of its own), committed and synced like any other: whether the
    /// store takes writes now, for readiness.
    /// - Throws: the store's error when it does not.
    public func probe(at now: Date) throws {
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                arguments: [now.timeIntervalSince1970])
        }
    }

    public func transaction<T>(_ work: (any CaseStoreTransaction) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            var result: Result<T, any Error> = .failure(StoreError.incompatible("the transaction did not run"))
            try db.inTransaction(.immediate) {
                let counts = NewCopyCounts()
                result = .success(try work(SQLiteTransaction(db: db, newCopies: counts)))
                try counts.store(in: db)
                return .commit
            }
            return try result.get()
        }
    }

    /// The keys of claimants with an unblocked timer due at or before `instant`, as of the last commit, read
    /// without the write lock.
    public func personKeysWithTimers(dueBy instant: Date) throws -> [String] {
        try pool.read { db in try SQLiteTransaction.personKeysWithTimers(db, dueBy: instant) }
    }
}

/// A store that cannot keep its promises.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case notDurable(synchronous: Int)
    case notWAL(mode: String)
    case corruptRecord(String)
    case incompatible(String)
    /// No store file where one was named (an operator's command before the daemon first ran, or a typo).
    case missing(path: String)
    /// The store file could not be made.
    case cannotCreate(path: String, reason: String)

    public var description: String {
        switch self {
        case .notDurable(let level): "SQLite synchronous is \(level), not FULL (2): commits would not be durable"
        case .notWAL(let mode): "SQLite journal mode is \(mode), not WAL"
        case .corruptRecord(let what): "stored record cannot be read: \(what)"
        case .incompatible(let why): "the store's layout is not this version's: \(why); move the file aside and start afresh"
        case .missing(let path): "no store at \(path): the daemon creates it when it first starts"
        case .cannotCreate(let path, let reason): "cannot create the store at \(path): \(reason)"
        }
    }
}

/// The copies a transaction queued, per address, added to `queue_count` once before it commits: one
/// statement per inbox and commit instead of a trigger per copy (measured: the trigger cost the writer about
/// 9 µs per accepted message). Every copy is inserted by `SQLiteTransaction.insertCopy`, which counts it.
final class NewCopyCounts {
    private var queued: [String: Int] = [:]

    func add(_ address: String) { queued[address, default: 0] += 1 }

    /// Forgets what was counted, for work that was rolled back.
    func discard() { queued.removeAll() }

    /// Adds the counts to `queue_count` and starts again from zero.
    func store(in db: Database) throws {
        for (address, count) in queued {
            try DirectStatement(
                db,
                """
                INSERT INTO queue_count (address, state, n) VALUES (?, 'queued', ?)
                ON CONFLICT (address, state) DO UPDATE SET n = n + excluded.n
                """
            ).execute([.text(address), .integer(Int64(count))])
        }
        queued.removeAll()
    }
}

/// One write transaction's view of the store.
struct SQLiteTransaction: CaseStoreTransaction {
    let db: Database
    /// Where the copies inserted are counted.
    let newCopies: NewCopyCounts

    func earlierMessage(id: String) throws -> EarlierMessage? {
        let found = try DirectStatement(db, "SELECT origin, sender, envelope, status, answer FROM message WHERE id = ?")
            .first([.text(id)]) { row in
                (origin: row.text(0), sender: row.text(1), content: row.text(2), status: row.integer(3), answer: row.text(4))
            }
        guard let found else { return nil }
        if found.origin == "generated" { return .generated }
        guard let sender = found.sender, let content = found.content, let status = found.status, let answer = found.answer
        else {
            throw StoreError.corruptRecord("message \(id): accepted without its answer")
        }
        // The stored text was written as the canonical text of the answer: it is answered again as it is.
        let stored = StoredAnswer(content: content, status: Int(status), response: try JSONValue.parse(answer), responseText: answer)
        return .accepted(stored, sender: sender)
    }

    func person(key: String) throws -> PersonRecord? {
        guard let bytes = try DirectStatement(db, "SELECT record FROM person WHERE key = ?").first([.text(key)], { $0.bytes(0) }) ?? nil
        else { return nil }
        do {
            return try PersonRecord(storedJSON: bytes)
        } catch {
            throw StoreError.corruptRecord("person \(NINO.maskPersonKey(key)): \(error)")
        }
    }

    func save(_ person: PersonRecord, replacing previous: PersonRecord?) throws {
        guard person != previous else { return }
        try DirectStatement(db, "INSERT INTO person (key, record) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET record = excluded.record")
            .execute([.text(person.key), .utf8(person.storedJSON)])
        // The timer index holds each claimant's distinct due times; only the difference is written.
        let before = previous.map(Self.dueTimes) ?? []
        let after = Self.dueTimes(person)
        for fireAt in before.subtracting(after) {
            try DirectStatement(db, "DELETE FROM timer WHERE fire_at = ? AND person_key = ?").execute([.real(fireAt), .text(person.key)])
        }
        for fireAt in after.subtracting(before) {
            try DirectStatement(db, "INSERT INTO timer (fire_at, person_key) VALUES (?, ?)").execute([.real(fireAt), .text(person.key)])
        }
        // Blocked timers are rare: both lists are nearly always empty.
        let blockedBefore = previous?.timers.filter { $0.blocked != nil } ?? []
        let blockedAfter = person.timers.filter { $0.blocked != nil }
        guard !blockedBefore.isEmpty || !blockedAfter.isEmpty else { return }
        for timer in blockedBefore where !blockedAfter.contains(where: { $0.id == timer.id }) {
            try DirectStatement(db, "DELETE FROM blocked_timer WHERE person_key = ? AND timer_id = ?")
                .execute([.text(person.key), .text(timer.id)])
        }
        for timer in blockedAfter where !blockedBefore.contains(timer) {
            guard let reason = timer.blocked else { continue }
            try DirectStatement(
                db,
                """
                INSERT INTO blocked_timer (person_key, timer_id, kind, fire_date, reason) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (person_key, timer_id) DO UPDATE SET
                    kind = excluded.kind, fire_date = excluded.fire_date, reason = excluded.reason
                """
            ).execute([
                .text(person.key), .text(timer.id), .text(timer.kind.rawValue), .text(timer.fireDate.description),
                .text(reason),
            ])
        }
    }

    private static func dueTimes(_ person: PersonRecord) -> Set<Double> {
        Set(person.timers.lazy.filter { $0.blocked == nil }.map(\.fireAt.timeIntervalSince1970))
    }

    func recordAccepted(_ message: AcceptedMessage) throws {
        let envelope = message.envelope
        let personKey = envelope.nino.personKey
        try DirectStatement(
            db,
            """
            INSERT INTO message (id, type, sender, person_key, received_at, origin, envelope, answer, status, staff_member)
            VALUES (?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?)
            """
        ).execute([
            // The stored envelope is the canonical content that resubmissions are compared with.
            .text(envelope.id), .text(envelope.type.rawValue), .text(envelope.from), .text(personKey),
            .real(message.receivedAt.timeIntervalSince1970), .text(message.answer.content),
            .text(message.answer.responseText), .integer(Int64(message.answer.status)),
            message.staffMember.map { .text($0) } ?? .null,
        ])
        let messageSeq = db.lastInsertedRowID
        let due = AnswerDue.of(envelope.type, decision: message.answer.response["decision"], body: nil)
        for address in message.routes {
            try insertCopy(messageSeq: messageSeq, address: address, personKey: personKey, at: message.receivedAt, due: due)
        }
    }

    func recordGenerated(_ message: GeneratedMessage, personKey: String?, cause: String) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO message (id, type, sender, person_key, received_at, origin, envelope, answer, status)
                VALUES (?, ?, ?, ?, ?, 'generated', ?, NULL, NULL)
                """
        ).execute(arguments: [
            message.id, message.type.rawValue, SubmissionDesk.routerPartyID, personKey, message.sentAt.timeIntervalSince1970,
            message.json.canonicalText,
        ])
        let due = AnswerDue.of(message.type, decision: nil, body: .object(message.body))
        try insertCopy(messageSeq: db.lastInsertedRowID, address: message.to, personKey: personKey, at: message.sentAt, due: due)
    }

    private func insertCopy(messageSeq: Int64, address: Address, personKey: String?, at instant: Date, due: AnswerDue?) throws {
        let inbox = address.description
        try DirectStatement(
            db,
            """
            INSERT INTO copy (message_seq, address, party, person_key, state, created_at, updated_at, due_date)
            VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)
            """
        ).execute([
            .integer(messageSeq), .text(inbox), .text(address.party), personKey.map { .text($0) } ?? .null,
            .real(instant.timeIntervalSince1970), .real(instant.timeIntervalSince1970),
            due.map { .text($0.date.description) } ?? .null,
        ])
        newCopies.add(inbox)
    }

    func recordRefusal(_ refusal: RefusalRecord) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO refusal (message_id, sender, type, code, detail, masked_nino, received_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            refusal.messageID, refusal.sender, refusal.type, refusal.code.rawValue, refusal.detail,
            refusal.maskedNINO, refusal.receivedAt.timeIntervalSince1970,
        ])
    }

    func personKeysWithTimers(dueBy instant: Date) throws -> [String] {
        try Self.personKeysWithTimers(db, dueBy: instant)
    }

    func hasClericalTask(like task: GeneratedMessage) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: Self.clericalTaskLookup),
            arguments: [task.body["regarding"]?.stringValue, task.body["type"]?.stringValue, task.to.description]) ?? false
    }

    /// Finds a clerical task by the id it regards (the expression and the type as the v6 index has them, so it
    /// is one index probe), then its type and address among the few found.
    static let clericalTaskLookup = """
        SELECT EXISTS (SELECT 1 FROM message
            WHERE type = 'clerical-task' AND json_extract(envelope, '$.body.regarding') = ?
                AND json_extract(envelope, '$.body.type') = ? AND json_extract(envelope, '$.to') = ?)
        """

    /// The keys of claimants with a timer due by `instant`, earliest first: in a write transaction or a read.
    static func personKeysWithTimers(_ db: Database, dueBy instant: Date) throws -> [String] {
        try String.fetchAll(
            db.cachedStatement(sql: "SELECT person_key FROM timer WHERE fire_at <= ? GROUP BY person_key ORDER BY MIN(fire_at), person_key"),
            arguments: [instant.timeIntervalSince1970])
    }
}

extension SQLiteCaseStore {
    /// Runs `work` for each item inside one transaction: an item whose work throws is rolled back alone and
    /// reported as a failure; the rest commit together with one fsync. `work` may run more than once for an
    /// item, and only its last run is kept.
    ///
    /// Items almost never fail, so the batch runs first without savepoints (which cost about 5% of the
    /// writer's time, one per item). Only if an item throws is that attempt rolled back whole and the batch
    /// run again with a savepoint per item.
    /// - Throws: when the commit itself fails, in which case nothing of the batch is stored.
    public func batch<Item, Output>(
        _ items: [Item], keys: (Item) -> BatchKeys, _ work: (Item, any CaseStoreTransaction) throws -> Output
    ) throws -> [Result<Output, any Error>] {
        // One writer judges every message here: nothing needs locking up front.
        try batch(items, work)
    }

    /// `batch(_:keys:_:)`, which needs no keys on SQLite.
    public func batch<Item, Output>(
        _ items: [Item], _ work: (Item, any CaseStoreTransaction) throws -> Output
    ) throws -> [Result<Output, any Error>] {
        if let outputs = try batchWhole(items, work) { return outputs.map { .success($0) } }
        return try batchItemByItem(items, work)
    }

    /// The batch in one transaction with no savepoints; nil, with nothing stored, when an item throws.
    private func batchWhole<Item, Output>(
        _ items: [Item], _ work: (Item, any CaseStoreTransaction) throws -> Output
    ) throws -> [Output]? {
        try pool.writeWithoutTransaction { db in
            var outputs: [Output] = []
            var failed = false
            try db.inTransaction(.immediate) {
                outputs.removeAll()
                let counts = NewCopyCounts()
                for item in items {
                    do {
                        outputs.append(try work(item, SQLiteTransaction(db: db, newCopies: counts)))
                    } catch {
                        failed = true
                        return .rollback
                    }
                }
                try counts.store(in: db)
                return .commit
            }
            return failed ? nil : outputs
        }
    }

    /// The batch with a savepoint per item, so that an item that throws is rolled back alone.
    private func batchItemByItem<Item, Output>(
        _ items: [Item], _ work: (Item, any CaseStoreTransaction) throws -> Output
    ) throws -> [Result<Output, any Error>] {
        try pool.writeWithoutTransaction { db in
            var outputs: [Result<Output, any Error>] = []
            try db.inTransaction(.immediate) {
                outputs.removeAll()
                // Savepoint statements prepared once per connection, not once per item.
                let begin = try db.cachedStatement(sql: "SAVEPOINT item")
                let release = try db.cachedStatement(sql: "RELEASE SAVEPOINT item")
                let rollback = try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT item")
                let counts = NewCopyCounts()
                for item in items {
                    try begin.execute()
                    do {
                        let output = try work(item, SQLiteTransaction(db: db, newCopies: counts))
                        // Counted inside the item's savepoint, so that a rolled-back item counts nothing.
                        try counts.store(in: db)
                        try release.execute()
                        outputs.append(.success(output))
                    } catch {
                        counts.discard()
                        // Some errors (full disk, I/O) make SQLite roll back the whole transaction; then
                        // nothing of the batch may be reported as stored.
                        guard db.isInsideTransaction else { throw error }
                        try rollback.execute()
                        try release.execute()
                        outputs.append(.failure(error))
                    }
                }
                return .commit
            }
            return outputs
        }
    }
}
