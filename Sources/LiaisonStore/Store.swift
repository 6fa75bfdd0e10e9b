import Foundation
import GRDB
import Logging

/// Where the store is: the embedded SQLite file (the default), or a PostgreSQL database that several
/// instances share.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case postgres(PostgresSettings)

    /// Reads a `store:` setting: a `postgresql://` URL, or the file's path.
    /// - Throws: `PostgresSettings.Problem` for a URL that cannot be read.
    public init(_ text: String) throws {
        self = PostgresSettings.isURL(text) ? .postgres(try PostgresSettings(url: text)) : .file(text)
    }

    /// The file's path, or the URL without its password.
    public var description: String {
        switch self {
        case .file(let path): path
        case .postgres(let settings): settings.redacted
        }
    }
}

/// The store, opened: every interface the daemon, the deliverer, the staff pages and the operator commands
/// read and write through, on whichever engine holds it.
public final class Store: Sendable {
    public let location: StoreLocation
    public let cases: any ExchangeStore
    public let queue: DeliveryQueue
    public let operators: QueueOperator
    public let staffAccounts: StaffAccounts
    public let staffInbox: StaffInbox
    private let engine: Engine

    private enum Engine: Sendable {
        case sqlite(SQLiteCaseStore, Checkpointer?)
        case postgres(PostgresDatabase)
    }

    private init(location: StoreLocation, cases: any ExchangeStore, database: any SQLDatabase, queue: any DeliveryBackend, engine: Engine) {
        self.location = location
        self.cases = cases
        self.queue = DeliveryQueue(backend: queue)
        operators = QueueOperator(database: database, cases: cases)
        staffAccounts = StaffAccounts(database: database)
        staffInbox = StaffInbox(database: database)
        self.engine = engine
    }

    /// Opens the store for the daemon (or a replay): a SQLite file is created if missing; either is brought up
    /// to this version's schema. A PostgreSQL server that cannot be reached yet is waited for, up to
    /// `waitForDatabase` seconds, so that instances started with the database (or during its restart) come up
    /// once it does.
    /// - Parameter instance: this instance's name, kept with the copies it claims for delivery.
    /// - Throws: `StoreError`, or `PostgresFailure` (unreachable, login refused, not durable, no rights).
    public static func open(
        _ location: StoreLocation, instance: String = ProcessInfo.processInfo.hostName, waitForDatabase: TimeInterval = 0,
        logger: Logger
    ) throws -> Store {
        switch location {
        case .file(let path):
            let cases = try SQLiteCaseStore(path: path)
            let checkpointer = try Checkpointer(path: path)
            return Store(
                location: location, cases: cases, database: SQLiteDatabase(pool: cases.pool), queue: SQLiteDeliveryQueue(pool: cases.pool),
                engine: .sqlite(cases, checkpointer))
        case .postgres(let settings):
            let database = try PostgresDatabase(settings: settings, logger: logger)
            let deadline = Date().addingTimeInterval(waitForDatabase)
            var waiting = false
            while true {
                do {
                    try checkDurable(database)
                    try PostgresSchema.migrate(database)
                    break
                } catch let failure as PostgresFailure where failure.isUnavailable && failure.kind != .loginRefused && Date() < deadline {
                    if !waiting { logger.warning("waiting for PostgreSQL", metadata: ["store": "\(settings.redacted)", "error": "\(failure)"]) }
                    waiting = true
                    Thread.sleep(forTimeInterval: PostgresDatabase.reconnectPause)
                }
            }
            return postgres(location, database, instance: instance)
        }
    }

    /// Opens an existing store for an operator's command: nothing is created or migrated, and a SQLite file
    /// is opened with `synchronous=FULL`, so that an operator's action is as durable as an accepted message.
    /// - Throws: `StoreError.missing` when there is no store there yet (the daemon makes it when it first starts).
    public static func openExisting(_ location: StoreLocation, logger: Logger) throws -> Store {
        switch location {
        case .file(let path):
            guard FileManager.default.fileExists(atPath: path) else { throw StoreError.missing(path: path) }
            WALBuffer.install()
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            let pool = try DatabasePool(path: path, configuration: configuration)
            try pool.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            let cases = SQLiteCaseStore(existing: pool)
            return Store(
                location: location, cases: cases, database: SQLiteDatabase(pool: pool), queue: SQLiteDeliveryQueue(pool: pool),
                engine: .sqlite(cases, nil))
        case .postgres(let settings):
            let database = try PostgresDatabase(settings: settings, logger: logger)
            let migrated = try database.read { session in try session.hasTable("liaison_migration") }
            guard migrated else { throw StoreError.missing(path: settings.redacted) }
            return postgres(location, database, instance: "operator@\(ProcessInfo.processInfo.hostName)")
        }
    }

    private static func postgres(_ location: StoreLocation, _ database: PostgresDatabase, instance: String) -> Store {
        Store(
            location: location, cases: PostgresCaseStore(database: database), database: database,
            queue: PostgresDeliveryQueue(database: database, instance: instance), engine: .postgres(database))
    }

    /// Refuses a server that would acknowledge commits it could lose: `fsync` off, or `synchronous_commit` off.
    /// (`local`, `remote_write`, `on` and `remote_apply` all wait for the local disk.)
    static func checkDurable(_ database: PostgresDatabase) throws {
        try database.read { session in
            let fsync = try session.value("SHOW fsync")?.text ?? "?"
            let synchronousCommit = try session.value("SHOW synchronous_commit")?.text ?? "?"
            guard fsync == "on" else { throw PostgresFailure(.notDurable, "fsync is \(fsync)") }
            guard synchronousCommit != "off" else {
                throw PostgresFailure(.notDurable, "synchronous_commit is off for this role or database: commits would not be durable")
            }
        }
    }

    /// The engine's name, for logs and reports.
    public var engineName: String {
        switch engine {
        case .sqlite: "SQLite"
        case .postgres: "PostgreSQL"
        }
    }

    /// The portable SQL interface, for tests that look inside the store and for `liaison store copy`.
    var database: any SQLDatabase {
        switch engine {
        case .sqlite(let cases, _): SQLiteDatabase(pool: cases.pool)
        case .postgres(let database): database
        }
    }

    /// Starts the engine's background upkeep: SQLite's checkpointer (PostgreSQL keeps itself).
    public func startMaintenance() {
        if case .sqlite(_, let checkpointer?) = engine { checkpointer.start() }
    }

    /// Stops the upkeep and lets go of the engine's connections.
    public func close() {
        switch engine {
        case .sqlite(_, let checkpointer): checkpointer?.stop()
        case .postgres(let database): database.close()
        }
    }

    /// A logger that says nothing, for the operator commands: what goes wrong comes back as an error.
    public static let quietLogger = Logger(label: "liaison.store") { _ in SwiftLogNoOpLogHandler() }

    /// Runs `work` on a fresh, empty store of the same kind as `location`, removed afterwards: a temporary
    /// SQLite file, or a schema of its own in the PostgreSQL database (`liaison replay`, and tests).
    public static func withScratch<T>(like location: StoreLocation, logger: Logger = quietLogger, _ work: (Store) throws -> T) throws -> T {
        let name = "liaison_scratch_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        switch location {
        case .file:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(String(name))
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let store = try open(.file(folder.appendingPathComponent("scratch.sqlite").path), logger: logger)
            defer { store.close() }
            return try work(store)
        case .postgres(let settings):
            let scratch = settings.inSchema(String(name))
            let store = try open(.postgres(scratch), logger: logger)
            defer {
                if case .postgres(let database) = store.engine {
                    _ = try? database.withSession { session in try session.execute("DROP SCHEMA \(scratch.schema ?? "") CASCADE") }
                }
                store.close()
            }
            return try work(store)
        }
    }

    /// Whether a store error means the store cannot be reached just now (a request is answered 503 with
    /// Retry-After, and the daemon tries again by itself) rather than something it refused.
    public static func isUnavailable(_ error: any Error) -> Bool {
        (error as? PostgresFailure)?.isUnavailable ?? false
    }
}
