import GRDB

/// The store's tables, created and upgraded by numbered migrations.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Every accepted and generated message, in acceptance order (seq).
            try db.execute(
                sql: """
                    CREATE TABLE message (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        type TEXT NOT NULL,
                        sender TEXT NOT NULL,
                        person_key TEXT,
                        received_at REAL NOT NULL,
                        origin TEXT NOT NULL CHECK (origin IN ('submitted', 'generated')),
                        envelope TEXT NOT NULL,  -- canonical JSON: what is delivered and compared on resubmission
                        answer TEXT,
                        status INTEGER
                    );
                    -- One routed copy per address: the unit of delivery.
                    CREATE TABLE copy (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        message_seq INTEGER NOT NULL REFERENCES message(seq),
                        address TEXT NOT NULL,
                        party TEXT NOT NULL,
                        person_key TEXT,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL,
                        last_error TEXT
                    );
                    CREATE INDEX copy_by_state ON copy(state, address, seq);
                    CREATE INDEX copy_by_address ON copy(address, seq);
                    CREATE INDEX copy_by_person ON copy(address, person_key, seq);
                    CREATE INDEX copy_by_next_attempt ON copy(state, address, next_attempt_at);
                    -- Every change of a copy's state, with its time, reason, HTTP status or curl error.
                    CREATE TABLE copy_event (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        copy_seq INTEGER NOT NULL,
                        at REAL NOT NULL,
                        state TEXT NOT NULL,
                        reason TEXT,
                        http_status INTEGER,
                        error TEXT
                    );
                    CREATE INDEX copy_event_by_copy ON copy_event(copy_seq);
                    -- Counters kept by triggers so that queue status costs the same at ten copies or a million.
                    CREATE TABLE queue_count (
                        address TEXT NOT NULL, state TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (address, state)
                    ) WITHOUT ROWID;
                    CREATE TABLE delivered_hour (
                        address TEXT NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (address, hour)
                    ) WITHOUT ROWID;
                    CREATE TABLE inbox_status (
                        address TEXT PRIMARY KEY, last_error TEXT, last_error_at REAL, paused_until REAL
                    );
                    CREATE TRIGGER copy_created AFTER INSERT ON copy BEGIN
                        INSERT INTO queue_count (address, state, n) VALUES (NEW.address, NEW.state, 1)
                            ON CONFLICT (address, state) DO UPDATE SET n = n + 1;
                        INSERT INTO copy_event (copy_seq, at, state, reason) VALUES (NEW.seq, NEW.created_at, NEW.state, 'accepted');
                    END;
                    CREATE TRIGGER copy_moved AFTER UPDATE OF state ON copy WHEN OLD.state <> NEW.state BEGIN
                        UPDATE queue_count SET n = n - 1 WHERE address = OLD.address AND state = OLD.state;
                        INSERT INTO queue_count (address, state, n) VALUES (NEW.address, NEW.state, 1)
                            ON CONFLICT (address, state) DO UPDATE SET n = n + 1;
                    END;
                    CREATE TRIGGER copy_delivered AFTER UPDATE OF state ON copy
                        WHEN NEW.state = 'delivered' AND OLD.state <> 'delivered' BEGIN
                        INSERT INTO delivered_hour (address, hour, n) VALUES (NEW.address, CAST(NEW.updated_at / 3600 AS INTEGER), 1)
                            ON CONFLICT (address, hour) DO UPDATE SET n = n + 1;
                    END;
                    CREATE INDEX copy_by_message ON copy(message_seq);
                    CREATE TABLE person (key TEXT PRIMARY KEY, record TEXT NOT NULL);
                    CREATE TABLE timer (
                        id TEXT PRIMARY KEY,
                        person_key TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        fire_at REAL NOT NULL
                    );
                    CREATE INDEX timer_by_due ON timer(fire_at);
                    CREATE INDEX timer_by_person ON timer(person_key);
                    -- Refused messages: who, what and why, never the body.
                    CREATE TABLE refusal (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        message_id TEXT,
                        sender TEXT NOT NULL,
                        type TEXT,
                        code TEXT NOT NULL,
                        detail TEXT NOT NULL,
                        masked_nino TEXT,
                        received_at REAL NOT NULL
                    );
                    """)
        }
        return migrator
    }
}
