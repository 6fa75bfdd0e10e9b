import Foundation
import GRDB
import LiaisonCore
import Logging

/// `liaison store copy`: moves an embedded SQLite store into an empty PostgreSQL database, while the daemon is
/// stopped: messages with their answers, copies with their states and every change of state, claimants'
/// records and timers, refusals, inboxes' pauses and holds, staff accounts and sessions, and the delivered
/// counts. All of it goes in one PostgreSQL transaction, so that a copy that fails leaves the target empty;
/// the queue's counters are made by the target's own triggers as the copies arrive. The result is checked
/// table by table, by counting both sides.
public enum StoreCopy {
    /// One table's rows on each side.
    public struct Count: Sendable, Equatable {
        public let table: String
        public let source: Int
        public let target: Int
    }

    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// The target holds Liaison's data already, table by table.
        case targetNotEmpty([String: Int])
        /// What was copied does not count the same on both sides.
        case countsDiffer([Count])

        public var description: String {
            switch self {
            case .targetNotEmpty(let counts):
                let held = counts.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                return "the target is not empty (\(held)): copy only into a database (or schema) with no Liaison data"
            case .countsDiffer(let counts):
                let differing = counts.filter { $0.source != $0.target }.map { "\($0.table): \($0.source) here, \($0.target) there" }
                return "the copy does not count the same as its source: \(differing.joined(separator: "; "))"
            }
        }
    }

    /// Rows read from the source and written to the target at a time.
    static let chunk = 5_000

    /// Copies the SQLite store at `source` into `target`, and counts both sides.
    /// - Parameter progress: told of each table as it is copied.
    /// - Throws: `Failure.targetNotEmpty` before writing anything; `Failure.countsDiffer` after; a store error.
    /// - Returns: each table's rows on both sides.
    @discardableResult
    public static func copy(
        from source: String, to target: PostgresSettings, logger: Logger = Store.quietLogger, progress: (String) -> Void = { _ in }
    ) throws -> [Count] {
        guard FileManager.default.fileExists(atPath: source) else { throw StoreError.missing(path: source) }
        // Opened as the daemon opens it: an older store is brought up to this version's layout first.
        let sqlite = try SQLiteCaseStore(path: source)
        let database = try PostgresDatabase(settings: target, logger: logger)
        defer { database.close() }
        try Store.checkDurable(database)
        try PostgresSchema.migrate(database)
        let held = try database.read { session in
            try Dictionary(
                uniqueKeysWithValues: tables.map { table in (table.name, try session.value("SELECT count(*) FROM \(table.name)")?.integer ?? 0) })
        }
        guard held.values.allSatisfy({ $0 == 0 }) else { throw Failure.targetNotEmpty(held) }

        try sqlite.pool.read { db in
            try database.transaction(attempts: 1) { session in
                for table in tables {
                    progress(table.name)
                    var offset = 0
                    while true {
                        let rows = try Row.fetchAll(db, sql: "\(table.select) LIMIT ? OFFSET ?", arguments: [chunk, offset])
                        guard !rows.isEmpty else { break }
                        _ = try session.query(table.insert, table.binds(rows))
                        offset += rows.count
                    }
                }
                // Sequences go on from the highest number copied.
                for (table, sequence) in [
                    ("message", "message_seq_seq"), ("copy", "copy_seq_seq"), ("copy_event", "copy_event_seq_seq"), ("refusal", "refusal_seq_seq"),
                ] {
                    _ = try session.rows("SELECT setval('\(sequence)', GREATEST((SELECT max(seq) FROM \(table)), 1))", [])
                }
            }
        }
        // Counted again, both sides: every table's rows, and the queue's counters against the copies' states.
        var counts: [Count] = []
        let sourceCounts = try sqlite.pool.read { db in
            try tables.map { table in try Int.fetchOne(db, sql: "SELECT count(*) FROM (\(table.select))") ?? 0 }
        }
        try database.read { session in
            for (table, sourceCount) in zip(tables, sourceCounts) {
                counts.append(
                    Count(table: table.name, source: sourceCount, target: try session.value("SELECT count(*) FROM \(table.name)")?.integer ?? 0))
            }
            let queued = try session.value("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM queue_count WHERE state <> 'delivered'")?.integer ?? 0
            let waiting = try sqlite.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM copy WHERE state <> 'delivered'") ?? 0 }
            counts.append(Count(table: "queue_count (copies not delivered)", source: waiting, target: queued))
        }
        guard counts.allSatisfy({ $0.source == $0.target }) else { throw Failure.countsDiffer(counts) }
        return counts
    }

    /// A table copied: what is read of it, and how its rows are written.
    struct Table: Sendable {
        let name: String
        let select: String
        let insert: String
        let binds: @Sendable ([Row]) -> [PostgresBind]
    }

    private static func texts(_ rows: [Row], _ column: String) -> PostgresBind { .texts(rows.map { $0[column] as String? }) }
    private static func integers(_ rows: [Row], _ column: String) -> PostgresBind { .integers(rows.map { $0[column] as Int64? }) }
    private static func reals(_ rows: [Row], _ column: String) -> PostgresBind { .reals(rows.map { $0[column] as Double? }) }

    /// Every table with data, in an order the foreign keys accept.
    static let tables: [Table] = [
        Table(
            name: "message",
            select: "SELECT seq, id, type, sender, person_key, received_at, origin, envelope, answer, status, staff_member FROM message ORDER BY seq",
            insert: """
                INSERT INTO message (seq, id, type, sender, person_key, received_at, origin, envelope, answer, status, decision, staff_member)
                SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::text[], $8::text[],
                    $9::text[], $10::int8[], $11::text[], $12::text[])
                """,
            binds: { rows in
                [
                    integers(rows, "seq"), texts(rows, "id"), texts(rows, "type"), texts(rows, "sender"), texts(rows, "person_key"),
                    reals(rows, "received_at"), texts(rows, "origin"), texts(rows, "envelope"), texts(rows, "answer"), integers(rows, "status"),
                    // The decision is kept in a column of its own, as the PostgreSQL store stores it.
                    .texts(rows.map { row in (row["answer"] as String?).flatMap { try? JSONValue.parse($0)["decision"]?.canonicalText } }),
                    texts(rows, "staff_member"),
                ]
            }),
        Table(
            name: "copy",
            select: """
                SELECT seq, message_seq, address, party, person_key, state, attempts, next_attempt_at, created_at, updated_at, last_error,
                    lifetime_from, due_date FROM copy ORDER BY seq
                """,
            insert: """
                INSERT INTO copy (seq, message_seq, address, party, person_key, state, attempts, next_attempt_at, created_at, updated_at,
                    last_error, lifetime_from, due_date)
                SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::float8[],
                    $9::float8[], $10::float8[], $11::text[], $12::float8[], $13::text[])
                """,
            binds: { rows in
                [
                    integers(rows, "seq"), integers(rows, "message_seq"), texts(rows, "address"), texts(rows, "party"), texts(rows, "person_key"),
                    texts(rows, "state"), integers(rows, "attempts"), reals(rows, "next_attempt_at"), reals(rows, "created_at"),
                    reals(rows, "updated_at"), texts(rows, "last_error"), reals(rows, "lifetime_from"), texts(rows, "due_date"),
                ]
            }),
        Table(
            name: "copy_event",
            select: "SELECT seq, copy_seq, at, state, reason, http_status, error FROM copy_event ORDER BY seq",
            insert: """
                INSERT INTO copy_event (seq, copy_seq, at, state, reason, http_status, error)
                SELECT * FROM unnest($1::int8[], $2::int8[], $3::float8[], $4::text[], $5::text[], $6::int8[], $7::text[])
                """,
            binds: { rows in
                [
                    integers(rows, "seq"), integers(rows, "copy_seq"), reals(rows, "at"), texts(rows, "state"), texts(rows, "reason"),
                    integers(rows, "http_status"), texts(rows, "error"),
                ]
            }),
        Table(
            name: "person", select: "SELECT key, CAST(record AS TEXT) AS record FROM person ORDER BY key",
            insert: "INSERT INTO person (key, record) SELECT * FROM unnest($1::text[], $2::text[])",
            binds: { rows in [texts(rows, "key"), texts(rows, "record")] }),
        Table(
            name: "timer", select: "SELECT fire_at, person_key FROM timer ORDER BY fire_at, person_key",
            insert: "INSERT INTO timer (fire_at, person_key) SELECT * FROM unnest($1::float8[], $2::text[])",
            binds: { rows in [reals(rows, "fire_at"), texts(rows, "person_key")] }),
        Table(
            name: "blocked_timer", select: "SELECT person_key, timer_id, kind, fire_date, reason FROM blocked_timer ORDER BY person_key, timer_id",
            insert: """
                INSERT INTO blocked_timer (person_key, timer_id, kind, fire_date, reason)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                """,
            binds: { rows in
                [texts(rows, "person_key"), texts(rows, "timer_id"), texts(rows, "kind"), texts(rows, "fire_date"), texts(rows, "reason")]
            }),
        Table(
            name: "refusal",
            select: "SELECT seq, message_id, sender, type, code, detail, masked_nino, received_at FROM refusal ORDER BY seq",
            insert: """
                INSERT INTO refusal (seq, message_id, sender, type, code, detail, masked_nino, received_at)
                SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[])
                """,
            binds: { rows in
                [
                    integers(rows, "seq"), texts(rows, "message_id"), texts(rows, "sender"), texts(rows, "type"), texts(rows, "code"),
                    texts(rows, "detail"), texts(rows, "masked_nino"), reals(rows, "received_at"),
                ]
            }),
        Table(
            name: "inbox_status",
            select: """
                SELECT address, last_error, last_error_at, paused_until, disabled_at, held_at, circuit_open_since FROM inbox_status
                ORDER BY address
                """,
            insert: """
                INSERT INTO inbox_status (address, last_error, last_error_at, paused_until, disabled_at, held_at, circuit_open_since)
                SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[])
                """,
            binds: { rows in
                [
                    texts(rows, "address"), texts(rows, "last_error"), reals(rows, "last_error_at"), reals(rows, "paused_until"),
                    reals(rows, "disabled_at"), reals(rows, "held_at"), reals(rows, "circuit_open_since"),
                ]
            }),
        Table(
            name: "delivered_hour", select: "SELECT address, hour, n, last_at FROM delivered_hour ORDER BY address, hour",
            insert: """
                INSERT INTO delivered_hour (address, hour, shard, n, last_at)
                SELECT a, h, 0, n, l FROM unnest($1::text[], $2::int8[], $3::int8[], $4::float8[]) AS d(a, h, n, l)
                """,
            binds: { rows in [texts(rows, "address"), integers(rows, "hour"), integers(rows, "n"), reals(rows, "last_at")] }),
        Table(
            name: "staff_member",
            select: """
                SELECT id, email, name, party, roles, password_hash, state, failed_sign_ins, locked_until, setup_token_hash, setup_expires_at,
                    created_at, updated_at FROM staff_member ORDER BY email
                """,
            insert: """
                INSERT INTO staff_member (id, email, name, party, roles, password_hash, state, failed_sign_ins, locked_until, setup_token_hash,
                    setup_expires_at, created_at, updated_at)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[],
                    $9::float8[], $10::text[], $11::float8[], $12::float8[], $13::float8[])
                """,
            binds: { rows in
                [
                    texts(rows, "id"), texts(rows, "email"), texts(rows, "name"), texts(rows, "party"), texts(rows, "roles"),
                    texts(rows, "password_hash"), texts(rows, "state"), integers(rows, "failed_sign_ins"), reals(rows, "locked_until"),
                    texts(rows, "setup_token_hash"), reals(rows, "setup_expires_at"), reals(rows, "created_at"), reals(rows, "updated_at"),
                ]
            }),
        Table(
            name: "staff_session", select: "SELECT token_hash, staff_id, csrf_token, created_at, last_seen_at FROM staff_session ORDER BY token_hash",
            insert: """
                INSERT INTO staff_session (token_hash, staff_id, csrf_token, created_at, last_seen_at)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[])
                """,
            binds: { rows in
                [
                    texts(rows, "token_hash"), texts(rows, "staff_id"), texts(rows, "csrf_token"), reals(rows, "created_at"),
                    reals(rows, "last_seen_at"),
                ]
            }),
    ]
}
