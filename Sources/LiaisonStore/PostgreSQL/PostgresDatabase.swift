import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// A small pool of PostgreSQL connections used synchronously, from the store's own threads (the group
/// committer's, the deliverer's, the thread pool request handlers hand store work to): the store's interfaces
/// stay synchronous on both engines, and postgres-nio's futures are waited on there, never on an event loop.
///
/// A connection that breaks is dropped; the next use makes a new one. After a failed attempt to connect, uses
/// in the next second fail at once with the same failure rather than each wait for a timeout: while the
/// database is down, requests are answered 503 quickly, and it is reached again by itself once it is back.
final class PostgresDatabase: SQLDatabase, Sendable {
    let settings: PostgresSettings
    private let logger: Logger
    private let tls: PostgresConnection.Configuration.TLS
    private let slots: DispatchSemaphore

    private struct State {
        var idle: [PostgresConnection] = []
        var lastFailure: (at: Date, failure: PostgresFailure)?
        var nextID = 1
        var closed = false
    }

    private let state = Mutex(State())
    /// Where this process's connections start among the counter shards: at random, so that two instances'
    /// connections seldom share one.
    static let shardBase = Int.random(in: 0..<PostgresSchema.counterShards)
    /// How long a failure to connect is answered again without trying.
    static let reconnectPause: TimeInterval = 1

    var dialect: SQLDialect { .postgres }

    /// - Throws: `PostgresFailure` when the TLS settings cannot be used (a CA file that cannot be read).
    init(settings: PostgresSettings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        slots = DispatchSemaphore(value: max(1, settings.poolSize))
        tls = try Self.tls(settings)
    }

    private static func tls(_ settings: PostgresSettings) throws -> PostgresConnection.Configuration.TLS {
        guard settings.sslMode != .disable, settings.socketFolder == nil else { return .disable }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        switch settings.sslMode {
        case .disable, .allow, .prefer, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        if let root = settings.sslRootCertificate { configuration.trustRoots = .file(root) }
        do {
            let context = try NIOSSLContext(configuration: configuration)
            // libpq's allow and prefer both try TLS and fall back to plain; require and the verifying modes never do.
            return [.allow, .prefer].contains(settings.sslMode) ? .prefer(context) : .require(context)
        } catch {
            throw PostgresFailure(.unreachable, "the TLS settings cannot be used: \(error)")
        }
    }

    @discardableResult
    func read<T>(_ work: (any SQLSession) throws -> T) throws -> T {
        try withSession { session in try work(session) }
    }

    /// Runs `work` in a transaction; one that loses a race with another instance's (a deadlock, a serialization
    /// failure) runs again, a few times.
    @discardableResult
    func write<T>(_ work: (any SQLSession) throws -> T) throws -> T {
        try transaction { session in try work(session) }
    }

    /// Runs `work` in a transaction on one connection, again (up to `attempts` times in all) when it loses a race
    /// with another instance's; `work` must be safe to run again.
    func transaction<T>(attempts: Int = 4, _ work: (PostgresSession) throws -> T) throws -> T {
        var attempt = 1
        while true {
            do {
                return try withSession { session in
                    try session.execute("BEGIN")
                    do {
                        let result = try work(session)
                        try session.execute("COMMIT")
                        return result
                    } catch {
                        if !session.isBroken { _ = try? session.execute("ROLLBACK") }
                        throw error
                    }
                }
            } catch let failure as PostgresFailure where failure.isRace && attempt < attempts {
                attempt += 1
                // A moment's wait, longer each time, so that the two sides do not collide again at once.
                Thread.sleep(forTimeInterval: Double.random(in: 0.001...0.005) * Double(attempt))
            }
        }
    }

    /// Runs `work` on a connection of the pool (autocommit unless it begins a transaction).
    @discardableResult
    func withSession<T>(_ work: (PostgresSession) throws -> T) throws -> T {
        guard slots.wait(timeout: .now() + settings.statementTimeout) == .success else {
            throw PostgresFailure(.busy, "no connection free for \(Int(settings.statementTimeout)) s (poolSize \(settings.poolSize))")
        }
        defer { slots.signal() }
        let connection = try take()
        let session = PostgresSession(connection: connection, timeout: settings.statementTimeout, logger: logger)
        defer { giveBack(connection, broken: session.isBroken) }
        return try work(session)
    }

    /// An idle connection, or a new one.
    private func take() throws -> PostgresConnection {
        let (idle, failure, id) = state.withLock { state -> (PostgresConnection?, PostgresFailure?, Int) in
            while let connection = state.idle.popLast() {
                if !connection.isClosed { return (connection, nil, 0) }
            }
            if let last = state.lastFailure, Date().timeIntervalSince(last.at) < Self.reconnectPause { return (nil, last.failure, 0) }
            defer { state.nextID += 1 }
            return (nil, nil, state.nextID)
        }
        if let idle { return idle }
        if let failure { throw failure }
        do {
            let connection = try connect(id: id)
            let recovered = state.withLock { state -> Bool in
                defer { state.lastFailure = nil }
                return state.lastFailure != nil
            }
            if recovered { logger.notice("PostgreSQL reached again", metadata: ["store": "\(settings.redacted)"]) }
            return connection
        } catch {
            let failure = PostgresFailure.from(error, connecting: true)
            let first = state.withLock { state -> Bool in
                defer { state.lastFailure = (Date(), failure) }
                return state.lastFailure == nil
            }
            if first { logger.error("cannot connect to PostgreSQL", metadata: ["store": "\(settings.redacted)", "error": "\(failure)"]) }
            throw failure
        }
    }

    private func giveBack(_ connection: PostgresConnection, broken: Bool) {
        let keep =
            !broken && !connection.isClosed
            && state.withLock { state -> Bool in
                guard !state.closed else { return false }
                state.idle.append(connection)
                return true
            }
        if !keep { Self.close(connection) }
    }

    /// Makes a connection and readies it: its schema, and the counter shard its transactions add to.
    private func connect(id: Int) throws -> PostgresConnection {
        var configuration: PostgresConnection.Configuration
        let password = settings.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        if let folder = settings.socketFolder {
            configuration = .init(
                unixSocketPath: "\(folder)/.s.PGSQL.\(settings.port)", username: settings.user, password: password,
                database: settings.database)
        } else {
            configuration = .init(
                host: settings.host, port: settings.port, username: settings.user, password: password, database: settings.database,
                tls: tls)
        }
        configuration.options.connectTimeout = .milliseconds(Int64(settings.connectTimeout * 1000))
        configuration.options.additionalStartupParameters = [("application_name", "liaison")]
        let connection = try PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: id, logger: Self.quiet
        ).wait()
        let session = PostgresSession(connection: connection, timeout: settings.statementTimeout, logger: logger)
        do {
            if let schema = settings.schema { try session.execute("SET search_path TO \(schema)") }
            // Each connection adds to counters of its own, so that instances committing at once never wait for
            // one another on a counter's row (PostgresSchema: queue_count).
            try session.execute("SET liaison.counter_shard = '\((Self.shardBase + id) % PostgresSchema.counterShards)'")
        } catch {
            Self.close(connection)
            throw error
        }
        return connection
    }

    /// postgres-nio logs each connection's workings at debug and trace; the store logs what matters itself.
    private static let quiet = Logger(label: "liaison.postgres") { _ in SwiftLogNoOpLogHandler() }

    /// Closes a connection, holding on to it until it is closed (postgres-nio requires a connection closed
    /// before it is let go).
    static func close(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    deinit {
        for connection in state.withLock({ $0.idle }) { try? connection.close().wait() }
    }

    /// Closes the idle connections; those in use close as they come back.
    func close() {
        let idle = state.withLock { state -> [PostgresConnection] in
            state.closed = true
            defer { state.idle.removeAll() }
            return state.idle
        }
        for connection in idle { try? connection.close().wait() }
    }
}

/// Statements on one connection, waited for on the calling thread. A statement that takes longer than the
/// timeout closes the connection (the server may be unreachable: a TCP connection can hang for minutes).
final class PostgresSession: SQLSession {
    let connection: PostgresConnection
    private let timeout: TimeAmount
    private let logger: Logger
    /// Whether the connection broke: it is not given back to the pool.
    private(set) var isBroken = false

    init(connection: PostgresConnection, timeout: Double, logger: Logger) {
        self.connection = connection
        self.timeout = .milliseconds(Int64(timeout * 1000))
        self.logger = logger
    }

    var dialect: SQLDialect { .postgres }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try query(Self.numbered(sql), arguments.map(PostgresBind.value)).rows.map(Self.row)
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try query(Self.numbered(sql), arguments.map(PostgresBind.value)).metadata.rows ?? 0
    }

    @discardableResult
    func execute(_ sql: String) throws -> Int {
        try query(sql, []).metadata.rows ?? 0
    }

    /// Runs a statement written with `$1`, `$2`… and its binds (arrays among them, for statements over many rows).
    func query(_ sql: String, _ binds: [PostgresBind]) throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds { bind.append(to: &bindings) }
        let future = connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: PostgresDatabase.silentLogger)
        let connection = self.connection
        let timer = connection.eventLoop.scheduleTask(in: timeout) { PostgresDatabase.close(connection) }
        defer { timer.cancel() }
        do {
            return try future.wait()
        } catch {
            let failure = PostgresFailure.from(error)
            // A statement the server refused leaves the connection usable (its transaction is rolled back); any
            // other failure, or a server going away, does not.
            switch failure.kind {
            case .server(let state): if state.hasPrefix("08") || state.hasPrefix("57P") || connection.isClosed { isBroken = true }
            default: isBroken = true
            }
            throw failure
        }
    }

    /// Rows read back as values: integers, reals, text (JSON and names included) and booleans.
    static func row(_ row: PostgresRow) -> SQLRow {
        let cells = row.makeRandomAccess()
        var values: [SQLValue] = []
        var names: [String] = []
        values.reserveCapacity(cells.count)
        for index in 0..<cells.count {
            let cell = cells[index]
            names.append(cell.columnName)
            values.append(value(cell))
        }
        return SQLRow(values: values, names: names)
    }

    static func value(_ cell: PostgresCell) -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return (try? cell.decode(Int64.self)).map { .integer($0) } ?? .null
        case .float4, .float8: return (try? cell.decode(Double.self)).map { .real($0) } ?? .null
        case .numeric:
            guard let decimal = try? cell.decode(Decimal.self) else { return .null }
            let number = NSDecimalNumber(decimal: decimal)
            return number.doubleValue.rounded() == number.doubleValue && abs(number.doubleValue) < 9e15
                ? .integer(number.int64Value) : .real(number.doubleValue)
        case .bool: return (try? cell.decode(Bool.self)).map { .bool($0) } ?? .null
        default: return (try? cell.decode(String.self)).map { .text($0) } ?? .null
        }
    }

    /// `?` placeholders numbered as PostgreSQL has them (`$1`, `$2`…). The portable SQL holds no `?` of its own
    /// in a string literal.
    static func numbered(_ sql: String) -> String {
        guard sql.contains("?") else { return sql }
        var result = ""
        result.reserveCapacity(sql.count + 16)
        var number = 0
        for character in sql {
            if character == "?" {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        return result
    }
}

extension PostgresDatabase {
    /// The logger handed to postgres-nio for each query: it says nothing (its errors come back to the caller).
    static let silentLogger = Logger(label: "liaison.postgres.query") { _ in SwiftLogNoOpLogHandler() }
}
