import Foundation

/// The fields of an `application/x-www-form-urlencoded` body (or a query string): each name with its values
/// in order, so that a group of checkboxes reads as a list.
struct FormFields: Sendable {
    private(set) var values: [String: [String]] = [:]

    init(_ values: [String: [String]] = [:]) {
        self.values = values
    }

    /// Parses `name=value&…`, `+` as a space and `%XX` as a byte; a pair that does not decode is left out.
    init(encoded text: String) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), let value = Self.decode(parts.count > 1 ? parts[1] : "") else { continue }
            values[name, default: []].append(value)
        }
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// The first value of `name`, trimmed of surrounding spaces; "" when absent.
    subscript(name: String) -> String {
        get { values[name]?.first?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }
        set { values[name] = [newValue] }
    }

    /// Every value of `name`.
    func all(_ name: String) -> [String] { values[name] ?? [] }

    mutating func set(_ name: String, _ list: [String]) { values[name] = list }
}
