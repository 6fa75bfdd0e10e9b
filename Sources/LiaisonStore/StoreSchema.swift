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
                        content TEXT,
                        envelope TEXT NOT NULL,
                        decision TEXT,
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
