import Foundation
import GRDB
import Synchronization

/// Which parts of this version's layout a store has, read once from the migrations applied to it. Operators'
/// commands and the staff pages may read a store that no daemon of this version has upgraded yet (the daemon
/// upgrades at start; a queue command does not): each asks here, in one place, what it may read, and leaves
/// out what the store lacks rather than fail.
public struct StoreLayout: Sendable, Equatable {
    /// The migrations applied, by name (`v1`…, per engine).
    public let migrations: Set<String>
    let dialect: SQLDialect

    /// The layout of the store `session` reads.
    static func read(_ session: any SQLSession) throws -> StoreLayout {
        let table = session.dialect == .postgres ? "liaison_migration" : "grdb_migrations"
        let column = session.dialect == .postgres ? "name" : "identifier"
        guard try session.hasTable(table) else { return StoreLayout(migrations: [], dialect: session.dialect) }
        let names = try session.rows("SELECT \(column) AS name FROM \(table)", []).compactMap { $0["name"].text }
        return StoreLayout(migrations: Set(names), dialect: session.dialect)
    }

    /// Whether every migration of this version has been applied: then nothing is left out, and nothing will
    /// be (migrations are never undone), so the layout need not be read again.
    var isCurrent: Bool {
        switch dialect {
        case .sqlite: Set(SQLiteSchema.migrator.migrations).isSubset(of: migrations)
        case .postgres: Set(PostgresSchema.migrations.map(\.name)).isSubset(of: migrations)
        }
    }

    /// The layout read once a store is current, and read again until it is: the daemon's store is current from
    /// its start, so its pages and lookups do not ask the database each time; an operator's command on a store
    /// not yet upgraded still sees what it lacks.
    final class Cache: Sendable {
        private let current = Mutex<StoreLayout?>(nil)

        func read(_ session: any SQLSession) throws -> StoreLayout {
            if let layout = current.withLock({ $0 }) { return layout }
            let layout = try StoreLayout.read(session)
            if layout.isCurrent { current.withLock { $0 = layout } }
            return layout
        }
    }

    /// Whether the migration that brought a part in has been applied: `sqlite` names SQLite's, `postgres`
    /// PostgreSQL's (nil: it was there from PostgreSQL's first).
    private func has(sqlite: String, postgres: String? = nil) -> Bool {
        switch dialect {
        case .sqlite: migrations.contains(sqlite)
        case .postgres: postgres.map(migrations.contains) ?? true
        }
    }

    /// Timers that cannot fire, kept for operators (`blocked_timer`).
    var blockedTimers: Bool { has(sqlite: "v4") }
    /// A copy's lifetime restarted by an operator (`copy.lifetime_from`).
    var lifetimes: Bool { has(sqlite: "v5") }
    /// Whole inboxes held by an operator (`inbox_status.held_at`).
    var inboxHolds: Bool { has(sqlite: "v8") }
    /// Staff accounts and sessions, and who sent a message from the staff pages.
    var staff: Bool { has(sqlite: "v9") }
    /// The time of each inbox's last delivery (`delivered_hour.last_at`).
    var deliveryTimes: Bool { has(sqlite: "v10", postgres: "v3") }
    /// Circuit breakers kept for `queue status` (`inbox_status.circuit_open_since`).
    var circuits: Bool { has(sqlite: "v11", postgres: "v4") }
}
