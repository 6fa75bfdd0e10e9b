import Foundation
import LiaisonCore
import Testing

@testable import LiaisonStore

/// A fresh temporary folder, removed afterwards.
final class TemporaryStore {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-store-\(UUID().uuidString)")
    var path: String { folder.appendingPathComponent("liaison.sqlite").path }

    init() {
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
    }
}

/// The engines the store tests run against: SQLite always, and PostgreSQL when `LIAISON_TEST_POSTGRES` names
/// a database (`scripts/test` starts a throwaway cluster and sets it).
enum StoreKind: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static var available: [StoreKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// The test database's URL, when there is one.
    static let postgresURL = ProcessInfo.processInfo.environment["LIAISON_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
}

/// A fresh, empty store of one kind: a SQLite file in a temporary folder, or a schema of its own in the
/// test database, removed afterwards. Reopened, it is the same store (a restart).
final class TestStore: @unchecked Sendable {
    // @unchecked: used from one test at a time.
    let kind: StoreKind
    let location: StoreLocation
    private let temporary = TemporaryStore()
    private var opened: [Store] = []
    /// The store as first opened.
    private(set) var store: Store!

    init(_ kind: StoreKind, instance: String = "test-instance") throws {
        self.kind = kind
        switch kind {
        case .sqlite:
            location = .file(temporary.path)
        case .postgres:
            let url = try #require(StoreKind.postgresURL, "LIAISON_TEST_POSTGRES is not set")
            let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
            location = .postgres(try PostgresSettings(url: url).inSchema(String(schema)))
        }
        store = try reopen(instance: instance)
    }

    /// The same store opened again, as a restarted daemon (or another instance) would.
    @discardableResult
    func reopen(instance: String = "test-instance") throws -> Store {
        let store = try Store.open(location, instance: instance, logger: Store.quietLogger)
        opened.append(store)
        return store
    }

    var cases: any ExchangeStore { store.cases }
    var queue: DeliveryQueue { store.queue }
    var operators: QueueOperator { store.operators }

    /// Rows of a query (portable SQL, `?` placeholders).
    func rows(_ sql: String, _ arguments: [SQLValue] = []) throws -> [SQLRow] {
        try store.database.read { try $0.rows(sql, arguments) }
    }

    /// The first column of each row, as integers.
    func integers(_ sql: String, _ arguments: [SQLValue] = []) throws -> [Int64] {
        try rows(sql, arguments).map { Int64(try #require($0.values.first?.integer)) }
    }

    /// The first column of each row, as text.
    func texts(_ sql: String, _ arguments: [SQLValue] = []) throws -> [String] {
        try rows(sql, arguments).map { try #require($0.values.first?.text) }
    }

    /// The first column of the first row, as an integer (0 for none).
    func integer(_ sql: String, _ arguments: [SQLValue] = []) throws -> Int {
        try rows(sql, arguments).first?.values.first?.integer ?? 0
    }

    /// Runs statements in one transaction.
    func execute(_ statements: String..., arguments: [SQLValue] = []) throws {
        try store.database.write { session in
            for statement in statements { try session.execute(statement, arguments) }
        }
    }

    deinit {
        if case .postgres(let settings) = location, let schema = settings.schema {
            _ = try? store.database.write { session in try session.execute("DROP SCHEMA \(schema) CASCADE", []) }
        }
        for store in opened { store.close() }
    }
}
