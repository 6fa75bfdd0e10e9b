import GRDB
import GRDBSQLite

/// One of GRDB's cached statements run through SQLite's own interface: bound, stepped and reset directly.
///
/// For the writer's few statements per message (the idempotency and claimant lookups, the message, copy
/// and claimant writes), GRDB's general argument and row handling took about 17% of the writer's time in
/// a profile, more than some of the statements themselves. GRDB still prepares, caches and finalizes the
/// statement; only plain reads and writes go through here, never transaction or savepoint statements,
/// whose bookkeeping GRDB keeps.
struct DirectStatement {
    enum Value {
        case text(String)
        /// Text already encoded as UTF-8 (a record written as JSON bytes), bound without making a String.
        case utf8([UInt8])
        case integer(Int64)
        case real(Double)
        case null

        init(_ value: SQLValue) {
            switch value {
            case .null: self = .null
            case .integer(let number): self = .integer(number)
            case .real(let number): self = .real(number)
            case .text(let text): self = .text(text)
            case .bool(let flag): self = .integer(flag ? 1 : 0)
            }
        }
    }

    private let db: Database
    private let handle: SQLiteStatement
    private let sql: String

    init(_ db: Database, _ sql: String) throws {
        self.db = db
        self.sql = sql
        handle = try db.cachedStatement(sql: sql).sqliteStatement
        sqlite3_reset(handle)
    }

    /// Runs a statement that returns no rows.
    func execute(_ values: [Value]) throws {
        try bind(values)
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else { throw error(code) }
    }

    /// Runs a query and reads its first row, if any, with `read`.
    func first<T>(_ values: [Value], _ read: (Row) throws -> T) throws -> T? {
        try bind(values)
        defer { sqlite3_reset(handle) }
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return try read(Row(handle))
        case SQLITE_DONE: return nil
        case let code: throw error(code)
        }
    }

    /// Runs a query and reads every row with `read`.
    func all<T>(_ values: [Value], _ read: (Row) throws -> T) throws -> [T] {
        try bind(values)
        defer { sqlite3_reset(handle) }
        var rows: [T] = []
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: rows.append(try read(Row(handle)))
            case SQLITE_DONE: return rows
            case let code: throw error(code)
            }
        }
    }

    /// The columns of the current row.
    struct Row {
        fileprivate let handle: SQLiteStatement
        fileprivate init(_ handle: SQLiteStatement) { self.handle = handle }

        func text(_ column: Int32) -> String? {
            guard sqlite3_column_type(handle, column) != SQLITE_NULL, let bytes = sqlite3_column_text(handle, column) else {
                return nil
            }
            return String(
                decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
        }

        /// The bytes of a text column, without making a String.
        func bytes(_ column: Int32) -> [UInt8]? {
            guard sqlite3_column_type(handle, column) != SQLITE_NULL, let bytes = sqlite3_column_text(handle, column) else {
                return nil
            }
            return Array(UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column))))
        }

        func integer(_ column: Int32) -> Int64? {
            sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
        }

        func real(_ column: Int32) -> Double? {
            sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_double(handle, column)
        }
    }

    private func bind(_ values: [Value]) throws {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .text(let text):
                var text = text
                // SQLite copies the bytes (SQLITE_TRANSIENT), so the pointer need only live for the call.
                code = text.withUTF8 { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { characters in
                        // An empty string is still text, never NULL.
                        guard let start = characters.baseAddress, !characters.isEmpty else {
                            return sqlite3_bind_text(handle, index, "", 0, Self.transient)
                        }
                        return sqlite3_bind_text(handle, index, start, Int32(characters.count), Self.transient)
                    }
                }
            case .utf8(let bytes):
                code = bytes.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { characters in
                        guard let start = characters.baseAddress, !characters.isEmpty else {
                            return sqlite3_bind_text(handle, index, "", 0, Self.transient)
                        }
                        return sqlite3_bind_text(handle, index, start, Int32(characters.count), Self.transient)
                    }
                }
            case .integer(let number): code = sqlite3_bind_int64(handle, index, number)
            case .real(let number): code = sqlite3_bind_double(handle, index, number)
            case .null: code = sqlite3_bind_null(handle, index)
            }
            guard code == SQLITE_OK else {
                // The message first: the reset would replace it.
                let failure = error(code)
                sqlite3_reset(handle)
                throw failure
            }
        }
    }

    private func error(_ code: Int32) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }, sql: sql)
    }

    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
}
