import Foundation
import LiaisonCore

/// The registry, message history, routed copies and timers in PostgreSQL, for several instances at once.
///
/// A claimant's messages are judged one at a time across every instance: a batch first locks the rows of
/// all the claimants it will judge (`SELECT … FOR UPDATE`, in key order, so that two batches cannot deadlock),
/// then reads their records and the earlier messages under the batch's ids, judges each item in memory, and
/// writes what they decided in a few statements over many rows at once. The commit returns only once
/// PostgreSQL has it durably (`synchronous_commit` on, checked when the store is opened).
final class PostgresCaseStore: ExchangeStore {
    let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    func transaction<T>(_ work: (any CaseStoreTransaction) throws -> T) throws -> T {
        try database.transaction { session in
            let transaction = PostgresCaseTransaction(session: session)
            let result = try work(transaction)
            try transaction.flush()
            return result
        }
    }

    /// Runs `work` for each item in one transaction; an item whose work throws is undone alone and reported as
    /// a failure. A batch that loses a race with another instance's (a deadlock, or an id the other stored
    /// first) runs again from the start, so `work` may run more than once for an item: only its last run is kept.
    func batch<Item, Output>(
        _ items: [Item], keys: (Item) -> BatchKeys, _ work: (Item, any CaseStoreTransaction) throws -> Output
    ) throws -> [Result<Output, any Error>] {
        let itemKeys = items.map(keys)
        return try database.transaction { session in
            let transaction = PostgresCaseTransaction(session: session)
            try transaction.lock(claimants: itemKeys.compactMap(\.claimant), readingMessages: itemKeys.compactMap(\.messageID))
            var outputs: [Result<Output, any Error>] = []
            outputs.reserveCapacity(items.count)
            for item in items {
                transaction.beginItem()
                do {
                    outputs.append(.success(try work(item, transaction)))
                    transaction.endItem()
                } catch let failure as PostgresFailure {
                    // The connection or the transaction itself failed: nothing of the batch is stored.
                    throw failure
                } catch {
                    // What it wrote is already in the transaction: the whole batch fails rather than keep half an item.
                    if transaction.flushedInItem { throw error }
                    transaction.undoItem()
                    outputs.append(.failure(error))
                }
            }
            try transaction.flush()
            return outputs
        }
    }

    func probe(at now: Date) throws {
        try database.withSession { session in
            try session.execute(
                "INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                [.real(now.timeIntervalSince1970)])
        }
    }

    func personKeysWithTimers(dueBy instant: Date) throws -> [String] {
        try database.withSession { session in try PostgresCaseTransaction.personKeysWithTimers(session, dueBy: instant) }
    }
}

/// One transaction's view of the PostgreSQL store. Reads of claimants and earlier messages are answered from
/// what the transaction locked, read or wrote; writes wait in memory until `flush`, which stores them in a few
/// statements over many rows. A read that the database must answer after writes (the due timers) flushes
/// first.
final class PostgresCaseTransaction: CaseStoreTransaction {
    private let session: PostgresSession

    /// The records of the claimants locked, as they stand in this transaction (nil: no record yet).
    private var persons: [String: PersonRecord?] = [:]
    /// The records as read from the store, for the timer index's difference at flush.
    private var originals: [String: PersonRecord?] = [:]
    /// Claimants whose records changed, in the order they first did.
    private var changed: [String] = []
    private var changedSet: Set<String> = []
    /// Messages known under an id: read, or stored by this transaction.
    private var known: [String: EarlierMessage] = [:]
    /// Ids read and found free.
    private var free: Set<String> = []
    /// Claimants locked whose records cannot be read, with why.
    private var unreadable: [String: String] = [:]
    /// Whether writes were flushed while an item ran (a read of the due timers): it can then not be undone alone.
    private(set) var flushedInItem = false

    private var messages: [PendingMessage] = []
    private var copies: [PendingCopy] = []
    private var refusals: [RefusalRecord] = []
    /// What an item changed, undone in reverse if its work throws.
    private var undo: [() -> Void] = []
    private var itemMarks = (messages: 0, copies: 0, refusals: 0)
    private var inItem = false

    init(session: PostgresSession) {
        self.session = session
    }

    // MARK: Locks and reads

    /// Locks the claimants' rows, in key order, creating an empty row for one with no record yet, and reads
    /// their records; and reads the messages stored under `ids`, so that each item's idempotency check needs no
    /// statement of its own. One round trip (`liaison_lock`).
    func lock(claimants keys: [String], readingMessages ids: [String] = []) throws {
        let keys = Array(Set(keys).subtracting(persons.keys).subtracting(unreadable.keys)).sorted()
        let ids = Array(Set(ids).subtracting(known.keys).subtracting(free))
        guard !keys.isEmpty || !ids.isEmpty else { return }
        let rows = try session.query("SELECT * FROM liaison_lock($1::text[], $2::text[])", [.texts(keys), .texts(ids)])
            .rows.map(PostgresSession.row)
        var found: [String: PersonRecord] = [:]
        var stored = Set<String>()
        for row in rows {
            let key = try row.text("key")
            if row["kind"].text == "message" {
                stored.insert(key)
                known[key] = try Self.earlier(row, id: key)
                continue
            }
            guard let text = row["content"].text else { continue }
            do {
                found[key] = try PersonRecord(storedJSON: Array(text.utf8))
            } catch {
                // Left unread: the item that needs it fails alone, as on SQLite, and the rest of the batch stands.
                unreadable[key] = "\(error)"
            }
        }
        for key in keys where unreadable[key] == nil {
            persons[key] = .some(found[key])
            originals[key] = .some(found[key])
        }
        free.formUnion(Set(ids).subtracting(stored))
    }

    private static func earlier(_ row: SQLRow, id: String) throws -> EarlierMessage {
        if row["origin"].text == "generated" { return .generated }
        guard let sender = row["sender"].text, let content = (row["content"].text ?? row["envelope"].text), let status = row["status"].integer,
            let answer = row["answer"].text
        else { throw StoreError.corruptRecord("message \(id): accepted without its answer") }
        let stored = StoredAnswer(content: content, status: status, response: try JSONValue.parse(answer), responseText: answer)
        return .accepted(stored, sender: sender)
    }

    func earlierMessage(id: String) throws -> EarlierMessage? {
        if let message = known[id] { return message }
        if free.contains(id) { return nil }
        guard let row = try session.rows("SELECT id, origin, sender, envelope, status, answer FROM message WHERE id = ?", [.text(id)]).first
        else { return nil }
        return try Self.earlier(row, id: id)
    }

    func person(key: String) throws -> PersonRecord? {
        if persons[key] == nil, unreadable[key] == nil { try lock(claimants: [key]) }
        if let reason = unreadable[key] { throw StoreError.corruptRecord("person \(NINO.maskPersonKey(key)): \(reason)") }
        return persons[key] ?? nil
    }

    // MARK: Writes, kept until flush

    func save(_ person: PersonRecord, replacing previous: PersonRecord?) throws {
        let key = person.key
        if persons[key] == nil { _ = try self.person(key: key) }
        let before = persons[key] ?? nil
        guard person != before else { return }
        persons[key] = .some(person)
        let newlyChanged = changedSet.insert(key).inserted
        if newlyChanged { changed.append(key) }
        journal { [self] in
            persons[key] = .some(before)
            if newlyChanged {
                changedSet.remove(key)
                changed.removeLast()
            }
        }
    }

    func recordAccepted(_ message: AcceptedMessage) throws {
        let envelope = message.envelope
        let personKey = envelope.nino.personKey
        messages.append(
            PendingMessage(
                id: envelope.id, type: envelope.type.rawValue, sender: envelope.from, personKey: personKey,
                receivedAt: message.receivedAt.timeIntervalSince1970, origin: "submitted", envelope: message.answer.content,
                answer: message.answer.responseText, status: Int64(message.answer.status),
                decision: message.answer.response["decision"]?.canonicalText, staffMember: message.staffMember))
        let due = AnswerDue.of(envelope.type, decision: message.answer.response["decision"], body: nil)
        for address in message.routes {
            copies.append(
                PendingCopy(
                    messageID: envelope.id, address: address.description, party: address.party, personKey: personKey,
                    at: message.receivedAt.timeIntervalSince1970, dueDate: due?.date.description))
        }
        remember(envelope.id, as: .accepted(message.answer, sender: envelope.from))
    }

    func recordGenerated(_ message: GeneratedMessage, personKey: String?, cause: String) throws {
        messages.append(
            PendingMessage(
                id: message.id, type: message.type.rawValue, sender: SubmissionDesk.routerPartyID, personKey: personKey,
                receivedAt: message.sentAt.timeIntervalSince1970, origin: "generated", envelope: message.json.canonicalText,
                answer: nil, status: nil, decision: nil, staffMember: nil))
        let due = AnswerDue.of(message.type, decision: nil, body: .object(message.body))
        copies.append(
            PendingCopy(
                messageID: message.id, address: message.to.description, party: message.to.party, personKey: personKey,
                at: message.sentAt.timeIntervalSince1970, dueDate: due?.date.description))
        remember(message.id, as: .generated)
    }

    private func remember(_ id: String, as message: EarlierMessage) {
        let before = known[id]
        let wasFree = free.remove(id) != nil
        known[id] = message
        journal { [self] in
            known[id] = before
            if wasFree { free.insert(id) }
        }
    }

    func recordRefusal(_ refusal: RefusalRecord) throws {
        refusals.append(refusal)
    }

    func personKeysWithTimers(dueBy instant: Date) throws -> [String] {
        try flush()
        return try Self.personKeysWithTimers(session, dueBy: instant)
    }

    static func personKeysWithTimers(_ session: PostgresSession, dueBy instant: Date) throws -> [String] {
        try session.rows(
            "SELECT person_key FROM timer WHERE fire_at <= ? GROUP BY person_key ORDER BY MIN(fire_at), person_key",
            [.real(instant.timeIntervalSince1970)]
        ).map { try $0.text("person_key") }
    }

    func hasClericalTask(like task: GeneratedMessage) throws -> Bool {
        let regarding = task.body["regarding"]?.stringValue
        let type = task.body["type"]?.stringValue
        let to = task.to.description
        let pending = messages.contains { message in
            guard message.type == MessageType.clericalTask.rawValue, let json = try? JSONValue.parse(message.envelope) else { return false }
            return json["body"]?["regarding"]?.stringValue == regarding && json["body"]?["type"]?.stringValue == type
                && json["to"]?.stringValue == to
        }
        if pending { return true }
        return try session.value(
            """
            SELECT EXISTS (SELECT 1 FROM message
                WHERE type = 'clerical-task' AND (envelope::json -> 'body' ->> 'regarding') = ?
                    AND (envelope::json -> 'body' ->> 'type') = ? AND (envelope::json ->> 'to') = ?)
            """, [SQLValue(regarding), SQLValue(type), .text(to)])?.bool ?? false
    }

    // MARK: Items

    func beginItem() {
        inItem = true
        flushedInItem = false
        undo.removeAll(keepingCapacity: true)
        itemMarks = (messages.count, copies.count, refusals.count)
    }

    func endItem() {
        inItem = false
        undo.removeAll(keepingCapacity: true)
    }

    /// Forgets what the item wrote and changed.
    func undoItem() {
        for step in undo.reversed() { step() }
        messages.removeSubrange(itemMarks.messages...)
        copies.removeSubrange(itemMarks.copies...)
        refusals.removeSubrange(itemMarks.refusals...)
        endItem()
    }

    private func journal(_ step: @escaping () -> Void) {
        if inItem { undo.append(step) }
    }

    // MARK: Flush

    /// Writes what the transaction holds: claimants' records and their timers, messages, copies, refusals, in
    /// one round trip (`liaison_store`); blocked timers, which are rare, a statement each.
    func flush() throws {
        if inItem { flushedInItem = true }
        var keys: [String?] = []
        var records: [String?] = []
        var removed: (at: [Double?], keys: [String?]) = ([], [])
        var added: (at: [Double?], keys: [String?]) = ([], [])
        var blockedChanges: [(key: String, before: [CaseTimer], after: [CaseTimer])] = []
        for key in changed {
            guard let person = persons[key] ?? nil else { continue }
            let original = originals[key] ?? nil
            keys.append(key)
            records.append(String(decoding: person.storedJSON, as: UTF8.self))
            // The timer index holds each claimant's distinct due times; only the difference is written.
            let before = original.map(Self.dueTimes) ?? []
            let after = Self.dueTimes(person)
            for fireAt in before.subtracting(after).sorted() {
                removed.at.append(fireAt)
                removed.keys.append(key)
            }
            for fireAt in after.subtracting(before).sorted() {
                added.at.append(fireAt)
                added.keys.append(key)
            }
            let blockedBefore = original?.timers.filter { $0.blocked != nil } ?? []
            let blockedAfter = person.timers.filter { $0.blocked != nil }
            if !blockedBefore.isEmpty || !blockedAfter.isEmpty { blockedChanges.append((key, blockedBefore, blockedAfter)) }
            // Flushed: the record as stored is what a later difference starts from.
            originals[key] = .some(person)
        }
        guard !keys.isEmpty || !messages.isEmpty || !copies.isEmpty || !refusals.isEmpty else { return }
        _ = try session.query(
            """
            SELECT liaison_store($1::text[], $2::text[], $3::float8[], $4::text[], $5::float8[], $6::text[],
                $7::text[], $8::text[], $9::text[], $10::text[], $11::float8[], $12::text[], $13::text[], $14::text[], $15::int8[],
                $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::float8[], $23::text[],
                $24::text[], $25::text[], $26::text[], $27::text[], $28::text[], $29::text[], $30::float8[])
            """,
            [
                .texts(keys), .texts(records), .reals(removed.at), .texts(removed.keys), .reals(added.at), .texts(added.keys),
                .texts(messages.map(\.id)), .texts(messages.map(\.type)), .texts(messages.map(\.sender)),
                .texts(messages.map(\.personKey)), .reals(messages.map(\.receivedAt)), .texts(messages.map(\.origin)),
                .texts(messages.map(\.envelope)), .texts(messages.map(\.answer)), .integers(messages.map(\.status)),
                .texts(messages.map(\.decision)), .texts(messages.map(\.staffMember)),
                .texts(copies.map(\.messageID)), .texts(copies.map(\.address)), .texts(copies.map(\.party)),
                .texts(copies.map(\.personKey)), .reals(copies.map(\.at)), .texts(copies.map(\.dueDate)),
                .texts(refusals.map(\.messageID)), .texts(refusals.map(\.sender)), .texts(refusals.map(\.type)),
                .texts(refusals.map(\.code.rawValue)), .texts(refusals.map(\.detail)), .texts(refusals.map(\.maskedNINO)),
                .reals(refusals.map { $0.receivedAt.timeIntervalSince1970 }),
            ])
        changed.removeAll()
        changedSet.removeAll()
        messages.removeAll()
        copies.removeAll()
        refusals.removeAll()
        for change in blockedChanges {
            for timer in change.before where !change.after.contains(where: { $0.id == timer.id }) {
                try session.execute("DELETE FROM blocked_timer WHERE person_key = ? AND timer_id = ?", [.text(change.key), .text(timer.id)])
            }
            for timer in change.after where !change.before.contains(timer) {
                guard let reason = timer.blocked else { continue }
                try session.execute(
                    """
                    INSERT INTO blocked_timer (person_key, timer_id, kind, fire_date, reason) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (person_key, timer_id) DO UPDATE SET
                        kind = excluded.kind, fire_date = excluded.fire_date, reason = excluded.reason
                    """,
                    [.text(change.key), .text(timer.id), .text(timer.kind.rawValue), .text(timer.fireDate.description), .text(reason)])
            }
        }
    }

    private static func dueTimes(_ person: PersonRecord) -> Set<Double> {
        Set(person.timers.lazy.filter { $0.blocked == nil }.map(\.fireAt.timeIntervalSince1970))
    }
}

/// A message waiting in a transaction to be written.
private struct PendingMessage {
    let id: String
    let type: String
    let sender: String
    let personKey: String?
    let receivedAt: Double
    let origin: String
    let envelope: String
    let answer: String?
    let status: Int64?
    let decision: String?
    let staffMember: String?
}

/// A routed copy waiting in a transaction to be written, with its message's id.
private struct PendingCopy {
    let messageID: String
    let address: String
    let party: String
    let personKey: String?
    let at: Double
    let dueDate: String?
}
