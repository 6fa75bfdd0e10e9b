import Foundation

/// The PostgreSQL store's tables, created and upgraded by numbered migrations of its own (the SQLite store
/// has its own, `SQLiteSchema`). Instances that start together on an empty database take turns: each
/// migrates under an advisory lock, and one that finds the work done does nothing.
///
/// The layout follows the SQLite store's, with what several instances on one database need:
/// - a claimant's row in `person` is what its messages are judged one at a time by (`SELECT … FOR UPDATE`);
///   a claimant with no record yet has a row with none, so that two instances cannot both create one;
/// - the counters behind `queue status` are split into shards, one per connection, so that instances
///   committing at once never queue behind one another on a counter's row; a read sums them;
/// - copies a claimant's later ones must wait behind (in flight, deferred, held) are found through a partial
///   index rather than a table kept by triggers, and an inbox's copies through the state index alone (each
///   index costs every accepted copy an insert);
/// - a copy in flight to a push inbox carries which instance sent it and until when (`claimed_by`,
///   `next_attempt_at`), so that another takes it over if that instance dies;
/// - a message's decision is kept beside its answer, so that a delivery reads it without parsing JSON.
enum PostgresSchema {
    /// Counter shards: a connection adds to one of these, chosen from a random start per process.
    static let counterShards = 256

    /// The key of the advisory lock migrations hold (any fixed number unlikely to be another program's).
    static let migrationLock: Int64 = 0x4C49_4149_534F_4E01

    /// Each migration's statements, run in order in one transaction (one statement per round trip: PostgreSQL
    /// takes one statement per extended query).
    static let migrations: [(name: String, statements: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE message (
                    seq bigserial PRIMARY KEY,
                    id text NOT NULL UNIQUE,
                    type text NOT NULL,
                    sender text NOT NULL,
                    person_key text,
                    received_at double precision NOT NULL,
                    origin text NOT NULL CHECK (origin IN ('submitted', 'generated')),
                    envelope text NOT NULL,
                    answer text,
                    status integer,
                    decision text,
                    staff_member text
                )
                """,
                """
                CREATE INDEX message_by_person ON message (person_key, seq) WHERE person_key IS NOT NULL
                """,
                """
                CREATE INDEX message_clerical_task_regarding ON message ((envelope::json -> 'body' ->> 'regarding'))
                    WHERE type = 'clerical-task'
                """,
                """
                CREATE TABLE copy (
                    seq bigserial PRIMARY KEY,
                    message_seq bigint NOT NULL REFERENCES message (seq),
                    address text NOT NULL,
                    party text NOT NULL,
                    person_key text,
                    state text NOT NULL,
                    attempts integer NOT NULL DEFAULT 0,
                    next_attempt_at double precision,
                    created_at double precision NOT NULL,
                    updated_at double precision NOT NULL,
                    last_error text,
                    lifetime_from double precision,
                    due_date text,
                    claimed_by text
                )
                """,
                """
                CREATE INDEX copy_by_state ON copy (state, address, seq)
                """,
                """
                CREATE INDEX copy_by_address ON copy (address, seq)
                """,
                """
                CREATE INDEX copy_by_message ON copy (message_seq)
                """,
                """
                CREATE INDEX copy_by_next_attempt ON copy (address, next_attempt_at) WHERE state = 'deferred'
                """,
                """
                CREATE INDEX copy_in_flight ON copy (address, next_attempt_at) WHERE state = 'in-flight'
                """,
                """
                CREATE INDEX copy_waiting ON copy (address, person_key, seq)
                    WHERE person_key IS NOT NULL AND state IN ('in-flight', 'deferred', 'held')
                """,
                """
                CREATE INDEX copy_due ON copy (address, due_date) WHERE due_date IS NOT NULL
                """,
                """
                CREATE INDEX copy_by_person ON copy (person_key, address) WHERE person_key IS NOT NULL
                """,
                """
                CREATE TABLE copy_event (
                    seq bigserial PRIMARY KEY,
                    copy_seq bigint NOT NULL,
                    at double precision NOT NULL,
                    state text NOT NULL,
                    reason text,
                    http_status integer,
                    error text
                )
                """,
                """
                CREATE INDEX copy_event_by_copy ON copy_event (copy_seq)
                """,
                """
                CREATE TABLE queue_count (
                    address text NOT NULL, state text NOT NULL, shard integer NOT NULL, n bigint NOT NULL,
                    PRIMARY KEY (address, state, shard)
                )
                """,
                """
                CREATE TABLE delivered_hour (
                    address text NOT NULL, hour bigint NOT NULL, shard integer NOT NULL, n bigint NOT NULL,
                    PRIMARY KEY (address, hour, shard)
                )
                """,
                """
                CREATE TABLE inbox_status (
                    address text PRIMARY KEY,
                    last_error text,
                    last_error_at double precision,
                    paused_until double precision,
                    disabled_at double precision,
                    held_at double precision
                )
                """,
                """
                CREATE TABLE person (key text PRIMARY KEY, record text)
                """,
                """
                CREATE TABLE timer (
                    fire_at double precision NOT NULL,
                    person_key text NOT NULL,
                    PRIMARY KEY (fire_at, person_key)
                )
                """,
                """
                CREATE TABLE blocked_timer (
                    person_key text NOT NULL,
                    timer_id text NOT NULL,
                    kind text NOT NULL,
                    fire_date text NOT NULL,
                    reason text NOT NULL,
                    PRIMARY KEY (person_key, timer_id)
                )
                """,
                """
                CREATE TABLE refusal (
                    seq bigserial PRIMARY KEY,
                    message_id text,
                    sender text NOT NULL,
                    type text,
                    code text NOT NULL,
                    detail text NOT NULL,
                    masked_nino text,
                    received_at double precision NOT NULL
                )
                """,
                """
                CREATE TABLE store_probe (id integer PRIMARY KEY CHECK (id = 1), at double precision NOT NULL)
                """,
                """
                CREATE TABLE staff_member (
                    id text PRIMARY KEY,
                    email text NOT NULL UNIQUE,
                    name text NOT NULL,
                    party text NOT NULL,
                    roles text NOT NULL,
                    password_hash text,
                    state text NOT NULL CHECK (state IN ('invited', 'active', 'disabled')),
                    failed_sign_ins integer NOT NULL DEFAULT 0,
                    locked_until double precision,
                    setup_token_hash text,
                    setup_expires_at double precision,
                    created_at double precision NOT NULL,
                    updated_at double precision NOT NULL
                )
                """,
                """
                CREATE UNIQUE INDEX staff_member_setup ON staff_member (setup_token_hash) WHERE setup_token_hash IS NOT NULL
                """,
                """
                CREATE TABLE staff_session (
                    token_hash text PRIMARY KEY,
                    staff_id text NOT NULL REFERENCES staff_member (id),
                    csrf_token text NOT NULL,
                    created_at double precision NOT NULL,
                    last_seen_at double precision NOT NULL
                )
                """,
                """
                CREATE INDEX staff_session_by_member ON staff_session (staff_id)
                """,
                """
                -- The connection's counter shard (PostgresDatabase sets it on each connection).
                CREATE FUNCTION liaison_shard() RETURNS integer LANGUAGE sql STABLE AS
                    $$ SELECT COALESCE(NULLIF(current_setting('liaison.counter_shard', true), ''), '0')::integer $$
                """,
                """
                -- New copies and changes of state counted once per statement, over all the rows it touched, in a
                -- fixed order (so that two transactions that share a shard cannot deadlock within one statement).
                CREATE FUNCTION copy_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO queue_count (address, state, shard, n)
                        SELECT address, state, liaison_shard(), count(*) FROM new_copies GROUP BY address, state ORDER BY address, state
                    ON CONFLICT (address, state, shard) DO UPDATE SET n = queue_count.n + excluded.n;
                    RETURN NULL;
                END $$
                """,
                """
                CREATE TRIGGER copy_inserted AFTER INSERT ON copy REFERENCING NEW TABLE AS new_copies
                    FOR EACH STATEMENT EXECUTE FUNCTION copy_inserted()
                """,
                """
                CREATE FUNCTION copy_moved() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO queue_count (address, state, shard, n)
                        SELECT address, state, liaison_shard(), sum(d)::bigint FROM (
                            SELECT o.address, o.state, -1 AS d FROM old_copies o JOIN new_copies n ON n.seq = o.seq WHERE o.state <> n.state
                            UNION ALL
                            SELECT n.address, n.state, 1 FROM old_copies o JOIN new_copies n ON n.seq = o.seq WHERE o.state <> n.state
                        ) moves GROUP BY address, state ORDER BY address, state
                    ON CONFLICT (address, state, shard) DO UPDATE SET n = queue_count.n + excluded.n;
                    INSERT INTO delivered_hour (address, hour, shard, n)
                        SELECT n.address, floor(n.updated_at / 3600)::bigint, liaison_shard(), count(*)
                        FROM old_copies o JOIN new_copies n ON n.seq = o.seq
                        WHERE n.state = 'delivered' AND o.state <> 'delivered' GROUP BY 1, 2 ORDER BY 1, 2
                    ON CONFLICT (address, hour, shard) DO UPDATE SET n = delivered_hour.n + excluded.n;
                    RETURN NULL;
                END $$
                """,
                """
                CREATE TRIGGER copy_moved AFTER UPDATE ON copy REFERENCING OLD TABLE AS old_copies NEW TABLE AS new_copies
                    FOR EACH STATEMENT EXECUTE FUNCTION copy_moved()
                """,
            ]
        ),
        (
            // A shared commit in two calls instead of a dozen statements: one that locks the batch's claimants
            // (in key order, making a row for one with none) and reads them with the messages stored under the
            // batch's ids; one that writes what was decided. Each is one round trip, and PL/pgSQL keeps the
            // plans of the statements inside it, so they are not parsed and planned for every batch.
            "v2",
            [
                // Each costs every accepted copy work that nothing needs: an inbox's copies are found through the
                // state index, and a copy's message is the one stored beside it in the same call (checked below).
                "DROP INDEX copy_by_address",
                "ALTER TABLE copy DROP CONSTRAINT copy_message_seq_fkey",
                """
                CREATE FUNCTION liaison_lock(keys text[], ids text[]) RETURNS TABLE (
                    kind text, key text, origin text, sender text, content text, status integer, answer text
                ) LANGUAGE plpgsql SET enable_seqscan = off SET enable_hashjoin = off AS $$
                #variable_conflict use_column
                DECLARE
                    created text[];
                BEGIN
                    IF cardinality(keys) > 0 THEN
                        -- A claimant's row made here is this transaction's until it commits: any other that would
                        -- make it waits for this one. The rows that were there already are locked, in key order.
                        WITH made AS (
                            INSERT INTO person (key) SELECT k FROM unnest(keys) AS k ORDER BY k ON CONFLICT (key) DO NOTHING RETURNING key
                        ) SELECT coalesce(array_agg(key), '{}') INTO created FROM made;
                        RETURN QUERY SELECT 'person'::text, k, NULL::text, NULL::text, NULL::text, NULL::integer, NULL::text
                            FROM unnest(created) AS k;
                        RETURN QUERY SELECT 'person'::text, p.key, NULL::text, NULL::text, p.record, NULL::integer, NULL::text
                            FROM person p WHERE p.key = ANY(keys) AND NOT p.key = ANY(created) ORDER BY p.key FOR UPDATE;
                    END IF;
                    IF cardinality(ids) > 0 THEN
                        RETURN QUERY SELECT 'message'::text, m.id, m.origin, m.sender, m.envelope, m.status, m.answer
                            FROM message m WHERE m.id = ANY(ids);
                    END IF;
                END $$
                """,
                """
                CREATE FUNCTION liaison_store(
                    p_keys text[], p_records text[],
                    removed_at float8[], removed_keys text[], added_at float8[], added_keys text[],
                    m_id text[], m_type text[], m_sender text[], m_person text[], m_received float8[], m_origin text[],
                    m_envelope text[], m_answer text[], m_status int8[], m_decision text[], m_staff text[],
                    c_message text[], c_address text[], c_party text[], c_person text[], c_at float8[], c_due text[],
                    r_message text[], r_sender text[], r_type text[], r_code text[], r_detail text[], r_nino text[], r_at float8[]
                ) RETURNS void LANGUAGE plpgsql
                -- Each statement finds its rows by index whatever the tables' statistics say: a plan kept from when a
                -- table was small would otherwise scan it whole for every batch, as it grows.
                SET enable_seqscan = off SET enable_hashjoin = off
                AS $$
                DECLARE
                    stored_ids text[];
                    stored_seqs int8[];
                    copied integer;
                BEGIN
                    IF cardinality(p_keys) > 0 THEN
                        UPDATE person p SET record = u.record FROM unnest(p_keys, p_records) AS u(key, record) WHERE p.key = u.key;
                    END IF;
                    IF cardinality(removed_at) > 0 THEN
                        DELETE FROM timer t USING unnest(removed_at, removed_keys) AS d(fire_at, person_key)
                        WHERE t.fire_at = d.fire_at AND t.person_key = d.person_key;
                    END IF;
                    IF cardinality(added_at) > 0 THEN
                        INSERT INTO timer (fire_at, person_key) SELECT * FROM unnest(added_at, added_keys) ON CONFLICT DO NOTHING;
                    END IF;
                    IF cardinality(m_id) > 0 THEN
                        WITH stored AS (
                            INSERT INTO message (id, type, sender, person_key, received_at, origin, envelope, answer, status, decision,
                                staff_member)
                            SELECT m.id, m.type, m.sender, m.person_key, m.received_at, m.origin, m.envelope, m.answer, m.status,
                                m.decision, m.staff_member
                            FROM unnest(m_id, m_type, m_sender, m_person, m_received, m_origin, m_envelope, m_answer, m_status, m_decision,
                                m_staff) WITH ORDINALITY AS m(id, type, sender, person_key, received_at, origin, envelope, answer, status,
                                    decision, staff_member, ord)
                            ORDER BY m.ord
                            RETURNING id, seq
                        ) SELECT array_agg(id), array_agg(seq) INTO stored_ids, stored_seqs FROM stored;
                    END IF;
                    IF cardinality(c_message) > 0 THEN
                        -- In the order they were routed: a claimant's copies are delivered in the order of their seq. Each
                        -- copy's message was stored just above: its seq comes from there, not from a look-up.
                        INSERT INTO copy (message_seq, address, party, person_key, state, created_at, updated_at, due_date)
                        SELECT s.seq, c.address, c.party, c.person_key, 'queued', c.at, c.at, c.due_date
                        FROM unnest(c_message, c_address, c_party, c_person, c_at, c_due)
                            WITH ORDINALITY AS c(message_id, address, party, person_key, at, due_date, ord)
                        JOIN unnest(stored_ids, stored_seqs) AS s(id, seq) ON s.id = c.message_id
                        ORDER BY c.ord;
                        GET DIAGNOSTICS copied = ROW_COUNT;
                        IF copied <> cardinality(c_message) THEN
                            RAISE EXCEPTION 'liaison_store: % copies given, % stored with their message', cardinality(c_message), copied;
                        END IF;
                    END IF;
                    IF cardinality(r_sender) > 0 THEN
                        INSERT INTO refusal (message_id, sender, type, code, detail, masked_nino, received_at)
                        SELECT * FROM unnest(r_message, r_sender, r_type, r_code, r_detail, r_nino, r_at);
                    END IF;
                END $$
                """,
            ]
        ),
        (
            // An inbox's last successful delivery, for `queue status`: kept in the hour's delivered count that each
            // delivery updates anyway, so it costs no statement of its own.
            "v3",
            [
                "ALTER TABLE delivered_hour ADD COLUMN last_at double precision",
                """
                CREATE OR REPLACE FUNCTION copy_moved() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO queue_count (address, state, shard, n)
                        SELECT address, state, liaison_shard(), sum(d)::bigint FROM (
                            SELECT o.address, o.state, -1 AS d FROM old_copies o JOIN new_copies n ON n.seq = o.seq WHERE o.state <> n.state
                            UNION ALL
                            SELECT n.address, n.state, 1 FROM old_copies o JOIN new_copies n ON n.seq = o.seq WHERE o.state <> n.state
                        ) moves GROUP BY address, state ORDER BY address, state
                    ON CONFLICT (address, state, shard) DO UPDATE SET n = queue_count.n + excluded.n;
                    INSERT INTO delivered_hour (address, hour, shard, n, last_at)
                        SELECT n.address, floor(n.updated_at / 3600)::bigint, liaison_shard(), count(*), max(n.updated_at)
                        FROM old_copies o JOIN new_copies n ON n.seq = o.seq
                        WHERE n.state = 'delivered' AND o.state <> 'delivered' GROUP BY 1, 2 ORDER BY 1, 2
                    ON CONFLICT (address, hour, shard) DO UPDATE SET n = delivered_hour.n + excluded.n,
                        last_at = greatest(delivered_hour.last_at, excluded.last_at);
                    RETURN NULL;
                END $$
                """,
            ]
        ),
        (
            // Since when a push inbox's circuit breaker is open (copies wait, one probe at a time), for `queue status`.
            "v4",
            ["ALTER TABLE inbox_status ADD COLUMN circuit_open_since double precision"]
        ),
    ]

    /// Brings the schema up to date, under the advisory lock, in one transaction: all of a migration is
    /// applied, or none.
    static func migrate(_ database: PostgresDatabase) throws {
        try database.transaction { session in
            _ = try session.rows("SELECT pg_advisory_xact_lock(?)", [.integer(migrationLock)])
            if let schema = database.settings.schema { try session.execute("CREATE SCHEMA IF NOT EXISTS \(schema)") }
            try session.execute(
                "CREATE TABLE IF NOT EXISTS liaison_migration (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            let applied = Set(try session.rows("SELECT name FROM liaison_migration", []).compactMap { $0["name"].text })
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try session.execute(statement) }
                try session.execute("INSERT INTO liaison_migration (name) VALUES (?)", [.text(migration.name)])
            }
        }
    }
}
