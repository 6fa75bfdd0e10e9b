/// A registry record kept in the store as JSON, written and read field by field.
///
/// The writer stores one claimant record per accepted message and reads one back for each message about a
/// known claimant. Through `Codable` (synthesized `encode(to:)` and `init(from:)`, with `JSONEncoder` or
/// `JSONDecoder`) every field goes through existential containers and generic metadata lookups: in a profile
/// under load, encoding alone took about a tenth of the writer's time. Records written here are the same JSON
/// documents that `JSONEncoder` writes (key order aside), so `JSONDecoder` still reads them and records written
/// by earlier builds read back here; `StoredRecordTests` checks both against the `Codable` conformances.
public protocol StoredRecord {
    /// Writes the record's fields, in declaration order, leaving out nil optionals as `JSONEncoder` does.
    func write(to record: inout StoredRecordWriter)

    /// Reads the record from its JSON object.
    /// - Throws: `StoredRecordError` when a field is missing or of the wrong kind.
    init(stored fields: StoredFields) throws
}

extension StoredRecord {
    /// The record as compact JSON text.
    public var storedJSON: [UInt8] {
        var writer = StoredRecordWriter()
        writer.object(self)
        return writer.bytes
    }

    /// Reads a record from its stored JSON text.
    /// - Throws: `JSONValue.ParseError` for text that is not JSON, `StoredRecordError` for a document that is
    ///   not this record.
    public init(storedJSON bytes: [UInt8]) throws {
        let document = try JSONValue.parse(bytes)
        guard case .object(let fields) = document else { throw StoredRecordError.notAnObject(path: "") }
        try self.init(stored: StoredFields(fields, path: ""))
    }
}

/// Why a stored record could not be read.
public enum StoredRecordError: Error, Sendable, Equatable, CustomStringConvertible {
    case missing(path: String)
    case wrongKind(path: String, expected: String)
    case notAnObject(path: String)

    public var description: String {
        switch self {
        case .missing(let path): "\(path) is missing"
        case .wrongKind(let path, let expected): "\(path) is not \(expected)"
        case .notAnObject(let path): "\(path.isEmpty ? "the record" : path) is not an object"
        }
    }
}

/// Writes one JSON object's fields into a shared byte buffer.
public struct StoredRecordWriter {
    public fileprivate(set) var bytes: [UInt8] = []
    /// Whether the object being written has no field yet.
    private var empty = true

    init() {
        bytes.reserveCapacity(1024)
    }

    /// Writes `record` as an object.
    mutating func object(_ record: some StoredRecord) {
        bytes.append(UInt8(ascii: "{"))
        empty = true
        record.write(to: &self)
        bytes.append(UInt8(ascii: "}"))
        empty = false
    }

    /// Starts a field: the separator and the key. Keys are plain identifiers and need no escaping.
    private mutating func key(_ name: StaticString) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        JSONValue.writeString(value, to: &bytes)
    }

    public mutating func field(_ name: StaticString, _ value: String?) {
        if let value { field(name, value) }
    }

    public mutating func field(_ name: StaticString, _ value: LocalDate) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        value.write(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func field(_ name: StaticString, _ value: LocalDate?) {
        if let value { field(name, value) }
    }

    public mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func field(_ name: StaticString, _ value: Int) {
        key(name)
        bytes.appendDecimal(value, width: 1)
    }

    public mutating func field<Value: RawRepresentable<String>>(_ name: StaticString, _ value: Value) {
        field(name, value.rawValue)
    }

    public mutating func field<Value: RawRepresentable<String>>(_ name: StaticString, _ value: Value?) {
        if let value { field(name, value.rawValue) }
    }

    public mutating func field(_ name: StaticString, _ value: (some StoredRecord)?) {
        guard let value else { return }
        key(name)
        object(value)
    }

    /// An optional list: left out when nil, as `JSONEncoder` leaves it.
    public mutating func field(_ name: StaticString, _ values: [some StoredRecord]?) {
        if let values { field(name, values) }
    }

    public mutating func field(_ name: StaticString, _ values: [some StoredRecord]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            object(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }
}

/// One stored JSON object's fields, read with the kinds `JSONDecoder` would accept: an optional field may be
/// absent or null; unknown fields are ignored.
public struct StoredFields {
    private let fields: [String: JSONValue]
    /// Where this object is in the record, for errors.
    private let path: String

    init(_ fields: [String: JSONValue], path: String) {
        self.fields = fields
        self.path = path
    }

    private func at(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// The value of a field that must be present.
    private func required(_ name: String) throws -> JSONValue {
        guard let value = fields[name], value != .null else { throw StoredRecordError.missing(path: at(name)) }
        return value
    }

    /// The value of an optional field, nil when absent or null.
    private func optional(_ name: String) -> JSONValue? {
        guard let value = fields[name], value != .null else { return nil }
        return value
    }

    private func string(_ value: JSONValue, _ name: String) throws -> String {
        guard case .string(let text) = value else { throw StoredRecordError.wrongKind(path: at(name), expected: "a string") }
        return text
    }

    private func date(_ value: JSONValue, _ name: String) throws -> LocalDate {
        guard case .string(let text) = value, let date = LocalDate(text) else {
            throw StoredRecordError.wrongKind(path: at(name), expected: "a YYYY-MM-DD date")
        }
        return date
    }

    private func value<Value: RawRepresentable<String>>(_ value: JSONValue, _ name: String) throws -> Value {
        guard case .string(let text) = value, let known = Value(rawValue: text) else {
            throw StoredRecordError.wrongKind(path: at(name), expected: "one of \(Value.self)'s values")
        }
        return known
    }

    private func record<Record: StoredRecord>(_ value: JSONValue, _ name: String) throws -> Record {
        guard case .object(let fields) = value else { throw StoredRecordError.notAnObject(path: at(name)) }
        return try Record(stored: StoredFields(fields, path: at(name)))
    }

    public func string(_ name: String) throws -> String { try string(required(name), name) }

    public func string(_ name: String) throws -> String? { try optional(name).map { try string($0, name) } }

    public func date(_ name: String) throws -> LocalDate { try date(required(name), name) }

    public func date(_ name: String) throws -> LocalDate? { try optional(name).map { try date($0, name) } }

    public func bool(_ name: String) throws -> Bool {
        guard case .bool(let flag) = try required(name) else {
            throw StoredRecordError.wrongKind(path: at(name), expected: "a Boolean")
        }
        return flag
    }

    public func int(_ name: String) throws -> Int {
        guard let number = try required(name).intValue else {
            throw StoredRecordError.wrongKind(path: at(name), expected: "an integer")
        }
        return number
    }

    public func value<Value: RawRepresentable<String>>(_ name: String) throws -> Value { try value(required(name), name) }

    public func value<Value: RawRepresentable<String>>(_ name: String) throws -> Value? {
        try optional(name).map { try value($0, name) }
    }

    public func record<Record: StoredRecord>(_ name: String) throws -> Record? {
        try optional(name).map { try record($0, name) }
    }

    /// The list `name`; with `orEmpty`, a list left out (by a record stored before the field existed) or
    /// null reads as empty.
    public func records<Record: StoredRecord>(_ name: String, orEmpty: Bool = false) throws -> [Record] {
        if orEmpty, optional(name) == nil { return [] }
        guard case .array(let elements) = try required(name) else {
            throw StoredRecordError.wrongKind(path: at(name), expected: "a list")
        }
        return try elements.enumerated().map { index, element in try record(element, "\(name)[\(index)]") }
    }
}
