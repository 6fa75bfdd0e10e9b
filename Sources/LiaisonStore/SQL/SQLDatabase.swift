import Foundation

/// A database the store's portable parts (operators' reports and actions, staff accounts and inbox pages)
/// read and write through, whichever engine holds it: SQLite through GRDB, or PostgreSQL through
/// postgres-nio. Their SQL is written once, with `?` placeholders and the few differences named by
/// `SQLDialect`; the paths that carry every message (the group commit, the deliverer's claims) have an
/// implementation per engine instead.
public protocol SQLDatabase: Sendable {
    var dialect: SQLDialect { get }
    /// Runs `work` with a consistent view of the database.
    @discardableResult
    func read<T>(_ work: (any SQLSession) throws -> T) throws -> T
    /// Runs `work` in one durable transaction: all of it is stored, or none.
    @discardableResult
    func write<T>(_ work: (any SQLSession) throws -> T) throws -> T
}

/// Statements run on one connection, inside `SQLDatabase.read` or `write`.
public protocol SQLSession {
    var dialect: SQLDialect { get }
    /// Runs a query and returns every row.
    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
    /// Runs a statement that returns no rows. - Returns: how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
}

extension SQLSession {
    /// The first row of a query, if any.
    public func row(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLRow? {
        try rows(sql, arguments).first
    }

    /// The first column of the first row of a query; nil when there is no row or it is NULL.
    public func value(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue? {
        guard let value = try rows(sql, arguments).first?.values.first, value != .null else { return nil }
        return value
    }

    /// Whether `table` has `column` (stores an older build made may lack what a later one added).
    public func hasColumn(_ column: String, in table: String) throws -> Bool {
        switch dialect {
        case .sqlite:
            return try rows("SELECT name FROM pragma_table_info(?)", [.text(table)]).contains { $0.values.first == .text(column) }
        case .postgres:
            return try value(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?",
                [.text(table), .text(column)])?.integer ?? 0 > 0
        }
    }

    /// Whether the store has `table`.
    public func hasTable(_ table: String) throws -> Bool {
        switch dialect {
        case .sqlite:
            return try value("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(table)])?.integer ?? 0 > 0
        case .postgres:
            return try value("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?", [.text(table)])?
                .integer ?? 0 > 0
        }
    }
}

/// Where the engines' SQL differs, for the portable parts.
public enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// A JSON document's scalar at `path` (keys from the top) as text, from a column holding JSON text.
    public func jsonText(_ column: String, _ path: String...) -> String {
        switch self {
        case .sqlite: "json_extract(\(column), '$.\(path.joined(separator: "."))')"
        case .postgres: "(\(column)::json #>> '{\(path.joined(separator: ","))}')"
        }
    }

    /// A stored message's decision as JSON text (nil for generated messages), with the message as `m`.
    public var decision: String {
        switch self {
        case .sqlite: "json_extract(m.answer, '$.decision')"
        // Kept in a column of its own when the message is stored.
        case .postgres: "m.decision"
        }
    }

    /// The larger of two values.
    public func greatest(_ a: String, _ b: String) -> String {
        switch self {
        case .sqlite: "MAX(\(a), \(b))"
        case .postgres: "GREATEST(\(a), \(b))"
        }
    }
}

/// A value bound to a statement or read from a row.
public enum SQLValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case bool(Bool)

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }

    public init(_ text: String?) { self = text.map { .text($0) } ?? .null }
    public init(_ number: Int?) { self = number.map { .integer(Int64($0)) } ?? .null }
    public init(_ number: Int64?) { self = number.map { .integer($0) } ?? .null }
    public init(_ number: Double?) { self = number.map { .real($0) } ?? .null }

    public var text: String? {
        if case .text(let text) = self { text } else { nil }
    }

    /// An integer, also from a real with no fraction (PostgreSQL's sums) or a boolean (SQLite's).
    public var integer: Int? {
        switch self {
        case .integer(let value): Int(value)
        case .real(let value): value.rounded() == value ? Int(value) : nil
        case .bool(let value): value ? 1 : 0
        default: nil
        }
    }

    public var real: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }

    /// A boolean: PostgreSQL's own, or SQLite's 0 and 1.
    public var bool: Bool? {
        switch self {
        case .bool(let value): value
        case .integer(let value): value != 0
        default: nil
        }
    }
}

/// One row of a result, its values by position and by column name.
public struct SQLRow: Sendable {
    public let values: [SQLValue]
    private let columns: [String: Int]

    public init(values: [SQLValue], names: [String]) {
        self.values = values
        var columns: [String: Int] = [:]
        for (index, name) in names.enumerated() where columns[name] == nil { columns[name] = index }
        self.columns = columns
    }

    public subscript(_ name: String) -> SQLValue {
        columns[name].map { values[$0] } ?? .null
    }

    /// A column that cannot be empty, as text. - Throws: `StoreError.corruptRecord` when it is.
    public func text(_ name: String) throws -> String {
        guard let value = self[name].text else { throw StoreError.corruptRecord("column \(name) is empty or not text") }
        return value
    }

    /// A column that cannot be empty, as an integer. - Throws: `StoreError.corruptRecord` when it is.
    public func integer(_ name: String) throws -> Int {
        guard let value = self[name].integer else { throw StoreError.corruptRecord("column \(name) is empty or not a number") }
        return value
    }

    /// A column that cannot be empty, as a real. - Throws: `StoreError.corruptRecord` when it is.
    public func real(_ name: String) throws -> Double {
        guard let value = self[name].real else { throw StoreError.corruptRecord("column \(name) is empty or not a number") }
        return value
    }
}
