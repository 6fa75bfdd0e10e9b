import Foundation
import GRDB

/// The SQLite store file as an `SQLDatabase`, through GRDB's pool: reads on a reader connection (they never
/// wait for the writer), writes in an immediate transaction on the one writer.
struct SQLiteDatabase: SQLDatabase {
    let pool: DatabasePool

    var dialect: SQLDialect { .sqlite }

    @discardableResult
    func read<T>(_ work: (any SQLSession) throws -> T) throws -> T {
        try pool.read { db in try work(SQLiteSession(db: db)) }
    }

    @discardableResult
    func write<T>(_ work: (any SQLSession) throws -> T) throws -> T {
        try pool.write { db in try work(SQLiteSession(db: db)) }
    }
}

/// Statements on one of GRDB's connections.
struct SQLiteSession: SQLSession {
    let db: Database

    var dialect: SQLDialect { .sqlite }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let statement = try db.cachedStatement(sql: sql)
        let names = statement.columnNames
        return try Row.fetchAll(statement, arguments: Self.arguments(arguments)).map { row in
            SQLRow(values: (0..<row.count).map { Self.value(row[$0] as DatabaseValue) }, names: names)
        }
    }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
        return db.changesCount
    }

    static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(
            values.map { value -> DatabaseValue in
                switch value {
                case .null: .null
                case .integer(let number): number.databaseValue
                case .real(let number): number.databaseValue
                case .text(let text): text.databaseValue
                case .bool(let flag): (flag ? 1 : 0).databaseValue
                }
            })
    }

    static func value(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: .null
        case .int64(let number): .integer(number)
        case .double(let number): .real(number)
        case .string(let text): .text(text)
        case .blob(let data): .text(String(decoding: data, as: UTF8.self))
        }
    }
}
