/// What Liaison decided about an accepted message (PROTOCOL.md "Answer to POST /v1/messages").
public struct Decision: Sendable, Equatable {
    public var outcome: String
    public var advice: String?
    public var actions: [String]?
    /// The rule applied, e.g. `absence.sickness.short-period`.
    public var rule: String
    /// The guidance paragraphs it rests on.
    public var basis: [String]
    /// A sentence for people, with the counts used.
    public var explanation: String
    /// The type's own fields: `deadline`, `onTime`, `expectedEndDate`, `placementHours`, `wpParticipation`,
    /// `indicativeSanctionWeeks`.
    public var fields: [String: JSONValue]

    public init(
        outcome: String, advice: String? = nil, actions: [String]? = nil, rule: String, basis: [String],
        explanation: String, fields: [String: JSONValue] = [:]
    ) {
        self.outcome = outcome
        self.advice = advice
        self.actions = actions
        self.rule = rule
        self.basis = basis
        self.explanation = explanation
        self.fields = fields
    }

    /// The decision as the JSON object of the answer.
    public var json: JSONValue {
        var object = fields
        object["outcome"] = .string(outcome)
        if let advice { object["advice"] = .string(advice) }
        if let actions { object["actions"] = .array(actions.map(JSONValue.string)) }
        object["rule"] = .string(rule)
        object["basis"] = .array(basis.map(JSONValue.string))
        object["explanation"] = .string(explanation)
        return .object(object)
    }
}

extension JSONValue {
    /// A date as its `YYYY-MM-DD` string.
    public static func date(_ date: LocalDate) -> JSONValue { .string(date.description) }

    /// A whole number.
    public static func int(_ value: Int) -> JSONValue { .number(Double(value)) }
}
