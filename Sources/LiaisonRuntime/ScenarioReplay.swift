import Foundation
import LiaisonCore
import LiaisonStore

/// Runs a scenario (`../shared/spec/scenarios/README.md`) through the same `SubmissionDesk` and store code as the
/// daemon, on a fresh store (a temporary SQLite file, or a schema of its own in PostgreSQL), with a clock that
/// moves only when the scenario says.
public struct ScenarioReplay {
    /// A scenario file that cannot be run.
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    let rules: RuleSet
    let calendars: CalendarSet

    public init(rules: RuleSet, calendars: CalendarSet) {
        self.rules = rules
        self.calendars = calendars
    }

    /// Replays the scenario and returns one JSON object per step.
    /// - Throws: `FormatError` for a malformed scenario, or a store error.
    public func run(scenario document: JSONValue, store: Store) throws -> [JSONValue] {
        guard let partyList = document["parties"]?.arrayValue, let steps = document["steps"]?.arrayValue else {
            throw FormatError(description: "a scenario needs 'parties' and 'steps' lists")
        }
        let parties = try partyList.enumerated().map { index, entry -> Party in
            guard let id = entry["id"]?.stringValue, let kindName = entry["kind"]?.stringValue,
                let kind = PartyKind(rawValue: kindName)
            else { throw FormatError(description: "parties[\(index)] needs an id and a kind") }
            let calendar = entry["calendar"]?.stringValue.flatMap(CalendarRegion.init(rawValue:))
            return Party(id: id, kind: kind, calendar: calendar)
        }
        let directory: PartyDirectory
        do {
            directory = try PartyDirectory(parties)
        } catch {
            throw FormatError(description: "\(error)")
        }
        let router = SubmissionDesk(context: RuleContext(directory: directory, rules: rules, calendars: calendars))
        let store = store.cases

        var lines: [JSONValue] = []
        for (number, step) in steps.enumerated() {
            if let advance = step["advance"]?.stringValue {
                guard let now = Timestamp.parse(advance) else {
                    throw FormatError(description: "steps[\(number)].advance is not an RFC 3339 time")
                }
                let emitted = try store.transaction { try router.fireDueTimers(at: now, in: $0) }
                lines.append(.object(["step": .int(number), "emitted": .array(emitted.map(\.json))]))
                continue
            }
            guard let at = step["at"]?.stringValue, let now = Timestamp.parse(at), let sender = step["as"]?.stringValue,
                var send = step["send"]?.objectValue
            else {
                throw FormatError(description: "steps[\(number)] needs 'advance', or 'at', 'as' and 'send'")
            }
            if send["sentAt"] == nil { send["sentAt"] = .string(at) }
            let (answer, due) = try store.transaction { transaction in
                let due = try router.fireDueTimers(at: now, in: transaction)
                return (try router.submit(.object(send), from: sender, at: now, in: transaction), due)
            }
            lines.append(
                .object([
                    "step": .int(number),
                    "status": .int(answer.status),
                    "response": answer.response,
                    "emitted": .array((due + answer.emitted).map(\.json)),
                ]))
        }
        return lines
    }
}
