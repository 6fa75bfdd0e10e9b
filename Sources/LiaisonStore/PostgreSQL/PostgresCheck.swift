import Foundation
import Logging

/// What `liaison config check` says of a store, beside the configuration's own problems.
public struct StoreReport: Sendable {
    /// What stops the daemon from using the store as configured.
    public var problems: [String] = []
    /// What an operator should know of it.
    public var notes: [String] = []

    public init() {}
}

extension Store {
    /// Checks that the daemon could use the store: for PostgreSQL, that the server can be reached and logs the
    /// role in, keeps commits durably, and gives the role the rights Liaison needs (to create its tables in its
    /// schema the first time, and to read and write them after). A SQLite file needs nothing more than the
    /// file checks the configuration makes.
    public static func check(_ location: StoreLocation, timeout: Double = 5) -> StoreReport {
        guard case .postgres(var settings) = location else { return StoreReport() }
        settings.connectTimeout = min(settings.connectTimeout, timeout)
        settings.poolSize = 1
        var report = StoreReport()
        let place = settings.socketFolder.map { "the socket in \($0)" } ?? "\(settings.host):\(settings.port)"
        do {
            let database = try PostgresDatabase(settings: settings, logger: Store.quietLogger)
            defer { database.close() }
            try database.read { session in
                let version = try session.value("SHOW server_version")?.text ?? "?"
                let schema = try session.value("SELECT current_schema()")?.text
                let synchronousCommit = try session.value("SHOW synchronous_commit")?.text ?? "?"
                let fsync = try session.value("SHOW fsync")?.text ?? "?"
                let standbys = try session.value("SHOW synchronous_standby_names")?.text ?? ""
                report.notes.append(
                    "store: PostgreSQL \(version) at \(place), database \(settings.database), schema \(schema ?? settings.schema ?? "(none)"), as \(settings.user)"
                )
                if fsync != "on" { report.problems.append("store: fsync is \(fsync) on the server: commits would not be durable") }
                if synchronousCommit == "off" {
                    report.problems.append(
                        "store: synchronous_commit is off for \(settings.user) on \(settings.database): an acknowledged message could be lost; set it to on (ALTER ROLE \(settings.user) SET synchronous_commit = on)"
                    )
                } else {
                    report.notes.append("store: synchronous_commit is \(synchronousCommit)")
                }
                if standbys.isEmpty {
                    report.notes.append(
                        "store: synchronous_standby_names is empty: a commit waits for this server's disk only; with a replica, name it there so that an acknowledged message survives a failover"
                    )
                } else {
                    report.notes.append("store: commits also wait for the standbys \(standbys)")
                }
                let rights = try rightsProblems(session, settings: settings, schema: schema)
                report.problems += rights
                if let schema, rights.isEmpty, try session.hasTable("liaison_migration") {
                    let applied = try session.rows("SELECT name FROM liaison_migration ORDER BY name", []).compactMap { $0["name"].text }
                    report.notes.append("store: Liaison's tables are in \(schema) (migrations \(applied.joined(separator: ", ")))")
                } else if rights.isEmpty {
                    report.notes.append("store: Liaison's tables are not there yet: the daemon creates them when it first starts")
                }
            }
        } catch let failure as PostgresFailure {
            switch failure.kind {
            case .unreachable: report.problems.append("store: cannot reach PostgreSQL at \(place): \(failure.message)")
            case .loginRefused: report.problems.append("store: PostgreSQL at \(place) refused the login of \(settings.user): \(failure.message)")
            default: report.problems.append("store: \(failure)")
            }
        } catch {
            report.problems.append("store: \(error)")
        }
        return report
    }

    /// The tables Liaison reads and writes, for the rights check.
    static let tables = [
        "message", "copy", "copy_event", "queue_count", "delivered_hour", "inbox_status", "person", "timer", "blocked_timer",
        "refusal", "store_probe", "staff_member", "staff_session",
    ]

    /// What the role may not do that Liaison needs.
    private static func rightsProblems(_ session: any SQLSession, settings: PostgresSettings, schema: String?) throws -> [String] {
        guard let schema else {
            if let wanted = settings.schema {
                let canCreate = try session.value("SELECT has_database_privilege(current_database(), 'CREATE')")?.bool ?? false
                return canCreate
                    ? []
                    : [
                        "store: schema \(wanted) does not exist and \(settings.user) may not create it (GRANT CREATE ON DATABASE \(settings.database) TO \(settings.user), or create it for the role)"
                    ]
            }
            return ["store: no schema on \(settings.user)'s search_path exists: create one the role owns, or name it with ?schema= in the URL"]
        }
        guard try session.hasTable("liaison_migration") else {
            let canCreate = try session.value("SELECT has_schema_privilege(current_schema(), 'CREATE')")?.bool ?? false
            return canCreate
                ? []
                : [
                    "store: \(settings.user) may not create tables in schema \(schema), as the daemon must when it first starts (GRANT CREATE ON SCHEMA \(schema) TO \(settings.user))"
                ]
        }
        var missing: [String] = []
        for table in tables {
            // Each right on its own: given several, has_table_privilege is true if any one is held.
            let allowed =
                try session.value(
                    """
                    SELECT has_table_privilege(t, 'SELECT') AND has_table_privilege(t, 'INSERT') AND has_table_privilege(t, 'UPDATE')
                        AND has_table_privilege(t, 'DELETE') FROM (SELECT current_schema() || '.' || ? AS t) named
                    """, [.text(table)])?.bool ?? false
            if !allowed { missing.append(table) }
        }
        for sequence in ["message_seq_seq", "copy_seq_seq", "copy_event_seq_seq", "refusal_seq_seq"] {
            let allowed = try session.value("SELECT has_sequence_privilege(current_schema() || '.' || ?, 'USAGE')", [.text(sequence)])?.bool ?? false
            if !allowed { missing.append(sequence) }
        }
        return missing.isEmpty
            ? []
            : [
                "store: \(settings.user) may not read and write \(missing.joined(separator: ", ")) in \(schema) (GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \(schema) TO \(settings.user), and USAGE on its sequences)"
            ]
    }
}
