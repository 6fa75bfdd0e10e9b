import Foundation

@testable import LiaisonStore

/// The store of a daemon under test, opened as an operator's command opens it.
func operators(atPath path: String) throws -> QueueOperator {
    try Store.openExisting(.file(path), logger: Store.quietLogger).operators
}

/// Rows of a query on a store (portable SQL), opened as an operator's command opens it.
func storeRows(_ location: StoreLocation, _ sql: String, _ arguments: [SQLValue] = []) throws -> [SQLRow] {
    try Store.openExisting(location, logger: Store.quietLogger).database.read { try $0.rows(sql, arguments) }
}

/// Rows of a query on a SQLite store file.
func storeRows(atPath path: String, _ sql: String, _ arguments: [SQLValue] = []) throws -> [SQLRow] {
    try storeRows(.file(path), sql, arguments)
}

extension SQLiteCaseStore {
    /// The operators' view of this store.
    var operators: QueueOperator { QueueOperator(database: SQLiteDatabase(pool: pool), cases: self) }
}
