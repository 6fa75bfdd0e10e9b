import Foundation

/// A body's fields, already checked against the type's `BodySchema`, read by name into typed values.
///
/// Each read that finds a field missing or of another shape throws `invalid-message` on that field rather
/// than trapping: the schema and a typed body that disagree answer 422, they never take the daemon down.
/// The names read are noted, so that a test can show every typed body reads every field of its schema.
public final class BodyFields {
    private let values: [String: JSONValue]
    /// The names read so far.
    private(set) var names: Set<String> = []

    public init(_ values: [String: JSONValue]) {
        self.values = values
    }

    private func value(_ name: String) -> JSONValue? {
        names.insert(name)
        guard let value = values[name], value != .null else { return nil }
        return value
    }

    private func missing(_ name: String, _ shape: String) -> Refusal {
        Refusal.invalid("body.\(name)", "is required as \(shape)")
    }

    public func date(_ name: String) throws -> LocalDate {
        guard let date = try optionalDate(name) else { throw missing(name, "a date") }
        return date
    }

    public func optionalDate(_ name: String) throws -> LocalDate? {
        guard let value = value(name) else { return nil }
        guard let date = value.stringValue.flatMap(LocalDate.init) else { throw missing(name, "a date") }
        return date
    }

    public func dateTime(_ name: String) throws -> Date {
        guard let text = value(name)?.stringValue, let instant = Timestamp.parse(text) else {
            throw missing(name, "a date-time")
        }
        return instant
    }

    public func flag(_ name: String) throws -> Bool {
        guard let flag = try optionalFlag(name) else { throw missing(name, "true or false") }
        return flag
    }

    public func optionalFlag(_ name: String) throws -> Bool? {
        guard let value = value(name) else { return nil }
        guard let flag = value.boolValue else { throw missing(name, "true or false") }
        return flag
    }

    public func text(_ name: String) throws -> String {
        guard let text = try optionalText(name) else { throw missing(name, "a string") }
        return text
    }

    public func optionalText(_ name: String) throws -> String? {
        guard let value = value(name) else { return nil }
        guard let text = value.stringValue else { throw missing(name, "a string") }
        return text
    }

    /// A string field that names one of `Choice`'s cases.
    public func choice<Choice: RawRepresentable<String>>(_ name: String, as type: Choice.Type = Choice.self) throws -> Choice {
        guard let choice = Choice(rawValue: try text(name)) else {
            throw missing(name, "one of its listed values")
        }
        return choice
    }

    /// An optional string field that names one of `Choice`'s cases.
    public func optionalChoice<Choice: RawRepresentable<String>>(_ name: String, as type: Choice.Type = Choice.self) throws
        -> Choice?
    {
        guard let text = try optionalText(name) else { return nil }
        guard let choice = Choice(rawValue: text) else { throw missing(name, "one of its listed values") }
        return choice
    }

    public func optionalInteger(_ name: String) throws -> Int? {
        guard let value = value(name) else { return nil }
        guard let number = value.intValue else { throw missing(name, "a whole number") }
        return number
    }

    public func textList(_ name: String) throws -> [String] {
        guard let elements = value(name)?.arrayValue else { throw missing(name, "a list") }
        return try elements.map { element in
            guard let text = element.stringValue else { throw missing(name, "a list of strings") }
            return text
        }
    }
}
