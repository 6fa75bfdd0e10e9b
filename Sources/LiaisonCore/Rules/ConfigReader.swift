/// Reads a configuration tree (parsed from YAML or JSON) strictly: every key the reader expects must be
/// there with the right kind of value, and a key it does not expect is a mistake (usually a typo), so
/// each problem names its full key.
///
/// A reader either throws the first problem, or, given a `ConfigProblemLog`, records every problem there
/// and goes on with a stand-in value (the bottom of a range, an empty string or list, an empty section),
/// so that a whole file is checked at once. A section that is missing or not a mapping is recorded once;
/// nothing under it is.
public struct ConfigReader {
    private let fields: [String: JSONValue]
    /// The dotted key of this node, e.g. `absences.sickness`.
    public let path: String
    private var consumed: Set<String> = []
    private let log: ConfigProblemLog?
    /// A section already recorded as missing or malformed: reading in it records nothing more.
    private let absent: Bool

    /// A reader over `value`, which must be a mapping.
    /// - Throws: `ConfigError` when it is not (and no log records it instead).
    public init(_ value: JSONValue, path: String = "", log: ConfigProblemLog? = nil) throws {
        try self.init(value, path: path, log: log, missingRecorded: false)
    }

    /// - Parameter missingRecorded: whether a null `value` is a section already recorded as missing where
    ///   it was looked up (or one under such a section), not to be recorded again.
    private init(_ value: JSONValue, path: String, log: ConfigProblemLog?, missingRecorded: Bool) throws {
        self.path = path
        self.log = log
        if let fields = value.objectValue {
            self.fields = fields
            absent = false
        } else {
            let problem = ConfigError(key: path.isEmpty ? "(top level)" : path, problem: "must be a mapping, not \(value.kindName)")
            guard let log else { throw problem }
            if !(missingRecorded && value == .null) { log.record(problem) }
            fields = [:]
            absent = true
        }
    }

    /// `problem`, thrown, or recorded (unless in an absent section) and `standIn` returned.
    private func fail<T>(_ problem: ConfigError, _ standIn: T) throws -> T {
        guard let log else { throw problem }
        if !absent { log.record(problem) }
        return standIn
    }

    /// The full key of a child.
    public func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// Whether the mapping has `name`.
    public func has(_ name: String) -> Bool { fields[name] != nil && fields[name] != .null }

    /// The raw value of `name`, marking it read; null (recorded as missing) when it is absent and logged.
    public mutating func value(_ name: String) throws -> JSONValue {
        consumed.insert(name)
        guard let value = fields[name], value != .null else { return try fail(ConfigError(key: key(name), problem: "is missing"), .null) }
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
        if raw == .null { return range.lowerBound }
        guard let number = raw.intValue else {
            return try fail(
                ConfigError(key: key(name), problem: "must be a whole number, not \(raw.kindName) \(raw.canonicalText)"), range.lowerBound)
        }
        guard range.contains(number) else {
            return try fail(
                ConfigError(key: key(name), problem: "must be between \(range.lowerBound) and \(range.upperBound), not \(number)"),
                range.lowerBound)
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
        if raw == .null { return "" }
        guard let text = raw.stringValue, !text.isEmpty else {
            return try fail(ConfigError(key: key(name), problem: "must be a non-empty string, not \(raw.kindName)"), "")
        }
        return text
    }

    /// A date as `YYYY-MM-DD`.
    public mutating func date(_ name: String) throws -> LocalDate {
        let standIn = LocalDate(dayNumber: 0)
        let text = try string(name)
        if text.isEmpty { return standIn }
        guard let date = LocalDate(text) else {
            return try fail(ConfigError(key: key(name), problem: "must be a date as YYYY-MM-DD"), standIn)
        }
        return date
    }

    /// A list of non-empty strings.
    public mutating func strings(_ name: String) throws -> [String] {
        let raw = try value(name)
        if raw == .null { return [] }
        guard let elements = raw.arrayValue else {
            return try fail(ConfigError(key: key(name), problem: "must be a list, not \(raw.kindName)"), [])
        }
        var texts: [String] = []
        for (index, element) in elements.enumerated() {
            guard let text = element.stringValue, !text.isEmpty else {
                try fail(ConfigError(key: "\(key(name))[\(index)]", problem: "must be a non-empty string"), ())
                continue
            }
            texts.append(text)
        }
        return texts
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
        let raw = try value(name)
        // Under an absent section, so is this one: nothing under it is recorded either.
        return try ConfigReader(absent ? .null : raw, path: key(name), log: log, missingRecorded: true)
    }

    /// The names of the nested mapping's keys, in sorted order, for tables keyed by name.
    public var keys: [String] { fields.keys.sorted() }

    /// - Throws: `ConfigError` for the first key that nothing read (or records every such key).
    public func rejectUnknownKeys() throws {
        for problem in unknownKeys() { try fail(problem, ()) }
    }

    /// Every key that nothing read, in sorted order.
    public func unknownKeys() -> [ConfigError] {
        fields.keys.sorted().filter { !consumed.contains($0) }.map { ConfigError(key: key($0), problem: "is not a known setting") }
    }

    /// Records (or throws) a problem found by the caller's own checks, such as two settings that disagree.
    public func report(_ problem: ConfigError) throws {
        try fail(problem, ())
    }
}

/// Where a reader in collecting mode records the problems it finds, in the order found.
public final class ConfigProblemLog {
    public var problems: [ConfigError] = []
    /// Whether the files a configuration names must be readable now (checked by the reader of the daemon's
    /// configuration; the core reads no file).
    public var checksFiles: Bool

    public init(checksFiles: Bool = true) {
        self.checksFiles = checksFiles
    }

    public func record(_ problem: ConfigError) { problems.append(problem) }

    /// Runs `work`, recording what it throws (a `ConfigError` as it is, anything else under `(config)`) and
    /// going on: so every problem is found, not just the first. Work that records problems of its own may run
    /// here too. - Returns: what it returned, or nil when it threw.
    @discardableResult
    public func attempt<T>(_ work: () throws -> T?) -> T? {
        do {
            return try work()
        } catch let error as ConfigError {
            problems.append(error)
        } catch {
            problems.append(ConfigError(key: "(config)", problem: "\(error)"))
        }
        return nil
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
