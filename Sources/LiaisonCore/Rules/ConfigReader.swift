/// Reads a configuration tree (parsed from YAML or JSON) strictly: every key the reader expects must be
/// there with the right kind of value, and a key it does not expect is a mistake (usually a typo), so
/// each problem names its full key.
public struct ConfigReader {
    private let fields: [String: JSONValue]
    /// The dotted key of this node, e.g. `absences.sickness`.
    public let path: String
    private var consumed: Set<String> = []

    /// A reader over `value`, which must be a mapping.
    /// - Throws: `ConfigError` when it is not.
    public init(_ value: JSONValue, path: String = "") throws {
        guard let fields = value.objectValue else {
            throw ConfigError(key: path.isEmpty ? "(top level)" : path, problem: "must be a mapping, not \(value.kindName)")
        }
        self.fields = fields
        self.path = path
    }

    /// The full key of a child.
    public func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// Whether the mapping has `name`.
    public func has(_ name: String) -> Bool { fields[name] != nil && fields[name] != .null }

    /// The raw value of `name`, marking it read.
    public mutating func value(_ name: String) throws -> JSONValue {
        consumed.insert(name)
        guard let value = fields[name], value != .null else { throw ConfigError(key: key(name), problem: "is missing") }
        return value
    }

    /// The value of `name` if present, marking it read.
    public mutating func optionalValue(_ name: String) -> JSONValue? {
        consumed.insert(name)
        guard let value = fields[name], value != .null else { return nil }
        return value
    }

    /// A whole number within `range`.
    public mutating func integer(_ name: String, in range: ClosedRange<Int> = 0...Int(Int32.max)) throws -> Int {
        let raw = try value(name)
        guard let number = raw.intValue else {
            throw ConfigError(key: key(name), problem: "must be a whole number, not \(raw.kindName) \(raw.canonicalText)")
        }
        guard range.contains(number) else {
            throw ConfigError(key: key(name), problem: "must be between \(range.lowerBound) and \(range.upperBound), not \(number)")
        }
        return number
    }

    /// A whole number within `range`, or nil when the key is absent.
    public mutating func optionalInteger(_ name: String, in range: ClosedRange<Int> = 0...Int(Int32.max)) throws -> Int? {
        guard has(name) else {
            consumed.insert(name)
            return nil
        }
        return try integer(name, in: range)
    }

    /// A string, or nil when the key is absent.
    public mutating func optionalString(_ name: String) throws -> String? {
        guard has(name) else {
            consumed.insert(name)
            return nil
        }
        return try string(name)
    }

    /// A string.
    public mutating func string(_ name: String) throws -> String {
        let raw = try value(name)
        guard let text = raw.stringValue, !text.isEmpty else {
            throw ConfigError(key: key(name), problem: "must be a non-empty string, not \(raw.kindName)")
        }
        return text
    }

    /// A list of non-empty strings.
    public mutating func strings(_ name: String) throws -> [String] {
        let raw = try value(name)
        guard let elements = raw.arrayValue else {
            throw ConfigError(key: key(name), problem: "must be a list, not \(raw.kindName)")
        }
        return try elements.enumerated().map { index, element in
            guard let text = element.stringValue, !text.isEmpty else {
                throw ConfigError(key: "\(key(name))[\(index)]", problem: "must be a non-empty string")
            }
            return text
        }
    }

    /// A nested mapping, or nil when the key is absent.
    public mutating func optionalSection(_ name: String) throws -> ConfigReader? {
        guard has(name) else {
            consumed.insert(name)
            return nil
        }
        return try section(name)
    }

    /// A nested mapping.
    public mutating func section(_ name: String) throws -> ConfigReader {
        try ConfigReader(try value(name), path: key(name))
    }

    /// The names of the nested mapping's keys, in sorted order, for tables keyed by name.
    public var keys: [String] { fields.keys.sorted() }

    /// - Throws: `ConfigError` for the first key that nothing read.
    public func rejectUnknownKeys() throws {
        if let first = unknownKeys().first { throw first }
    }

    /// Every key that nothing read, in sorted order.
    public func unknownKeys() -> [ConfigError] {
        fields.keys.sorted().filter { !consumed.contains($0) }.map { ConfigError(key: key($0), problem: "is not a known setting") }
    }
}

/// A configuration problem, naming its key.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The dotted key, e.g. `absences.sickness.shortMaximumDays`.
    public let key: String
    public let problem: String

    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String { "\(key): \(problem)" }
}
