import Foundation
import LiaisonCore
import Yams

/// Finds and reads the rule configuration and bank-holiday data the daemon ships with (`config/`).
public enum RuleFiles {
    /// The rules file's name inside the configuration folder.
    public static let rulesFileName = "rules.yaml"
    /// The bank-holiday data's name inside the configuration folder.
    public static let holidaysFileName = "uk-bank-holidays.json"

    /// Reads a YAML (or JSON) file into a configuration tree.
    /// - Throws: `ConfigError` naming the file when it cannot be read or parsed.
    public static func readTree(at url: URL) throws -> JSONValue {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigError(key: url.path, problem: "cannot be read: \(error.localizedDescription)")
        }
        do {
            return try YAMLDecoder().decode(JSONValue.self, from: text)
        } catch {
            throw ConfigError(key: url.path, problem: "is not valid YAML: \(yamlProblem(error))")
        }
    }

    /// What is wrong with a YAML text and where, without quoting the text: a configuration file holds bearer
    /// tokens and signing secrets, and Yams's own descriptions repeat the lines around the problem.
    static func yamlProblem(_ error: any Error) -> String {
        // Yams's decoder wraps the parser's error.
        if case DecodingError.dataCorrupted(let context) = error, let underlying = context.underlyingError {
            return yamlProblem(underlying)
        }
        switch error as? YamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return "\(problem) at line \(mark.line), column \(mark.column)"
        case .reader(let problem, _, _, _):
            return problem
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "the key \(duplicates.sorted().joined(separator: ", ")) is repeated in the mapping at line \(context.mark.line)"
        default:
            return "it cannot be read as a YAML document"
        }
    }

    /// Reads and checks a rules file.
    /// - Throws: `ConfigError` naming the file and the first bad key.
    public static func loadRules(at url: URL) throws -> RuleSet {
        do {
            return try RuleSet(document: try readTree(at: url))
        } catch let error as ConfigError where !error.key.hasPrefix("/") {
            throw ConfigError(key: error.key, problem: "\(error.problem) (in \(url.path))")
        }
    }

    /// Every problem with a rules file and bank-holiday data, each naming its key (and the rules file).
    public static func problems(rulesAt rules: URL, holidaysAt holidays: URL) -> [ConfigError] {
        var problems: [ConfigError]
        do {
            problems = RuleSet.problems(in: try readTree(at: rules)).map { ConfigError(key: $0.key, problem: "\($0.problem) (in \(rules.path))") }
        } catch let error as ConfigError {
            problems = [error]
        } catch {
            problems = [ConfigError(key: rules.path, problem: "\(error)")]
        }
        do {
            _ = try loadCalendars(at: holidays)
        } catch let error as ConfigError {
            problems.append(error)
        } catch {
            problems.append(ConfigError(key: holidays.path, problem: "\(error)"))
        }
        return problems
    }

    /// How long before the bank-holiday data runs out operators are warned (at start-up and by
    /// `config check`), in days: about the time GOV.UK publishes the next year's dates ahead.
    public static let holidayDataWarningDays = 183

    /// A warning when the bank-holiday data ends within `holidayDataWarningDays` of `today`: a working-day
    /// count past its end cannot be made, so a message that needs one is answered 503 and a timer that needs
    /// one is blocked until the data is refreshed.
    public static func holidayDataWarning(_ calendars: CalendarSet, today: LocalDate) -> String? {
        guard let end = LocalDate(year: calendars.lastYear, month: 12, day: 31),
            end.dayNumber - today.dayNumber < holidayDataWarningDays
        else { return nil }
        return """
            the bank-holiday data ends with \(calendars.lastYear): refresh \(holidaysFileName) from GOV.UK and restart; \
            until then messages that need working days past it are answered 503, and timers that need them are blocked \
            until `liaison queue timers --retry` after the refresh
            """
    }

    /// Reads the bank-holiday data.
    /// - Throws: `ConfigError` when it cannot be read or is not GOV.UK's format.
    public static func loadCalendars(at url: URL) throws -> CalendarSet {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ConfigError(key: url.path, problem: "cannot be read")
        }
        do {
            return try CalendarSet(govUKJSON: [UInt8](data))
        } catch {
            throw ConfigError(key: url.path, problem: "\(error)")
        }
    }
}
