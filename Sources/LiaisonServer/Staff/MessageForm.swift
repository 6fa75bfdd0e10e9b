import Foundation
import LiaisonCore

/// The form of one message type, built from the body schema that validation uses (so a field added to the
/// schema is on the form too), and the envelope a filled-in form makes: the same JSON a system would POST.
struct MessageForm {
    let type: MessageType
    let schema: BodySchema
    /// The parties a referral may be sent to (`to`), when the type is a referral.
    let recipients: [Party]

    init?(type: MessageType, rules: RuleSet, directory: PartyDirectory) {
        guard let schema = BodySchema.of(type, rules: rules) else { return nil }
        self.type = type
        self.schema = schema
        recipients = type.referredTo.map { kind in directory.all.filter { $0.kind == kind } } ?? []
    }

    /// The form name of a body field.
    static func name(of field: String) -> String { "body.\(field)" }

    /// The element id of a form name: dots are not welcome in fragment links.
    static func id(of name: String) -> String { name.replacingOccurrences(of: ".", with: "-") }

    // MARK: Fields

    /// The form's fields with the values given and each field's error.
    func fields(_ values: FormFields, errors: [String: String]) -> [FieldView] {
        var fields: [FieldView] = [
            FieldView(
                kind: .text, id: "nino", name: "nino", label: CatalogueWords.nino.label, hint: CatalogueWords.nino.hint,
                error: errors["nino"], value: values["nino"], widthClass: "govuk-input--width-10", autocomplete: "off")
        ]
        if recipients.isEmpty, let error = errors["to"] {
            // Filled in from the notice answered, and refused: shown, so that it can be put right.
            fields.append(
                FieldView(
                    kind: .text, id: "to", name: "to", label: CatalogueWords.recipient.label, hint: "The party's id, for example jcp-leeds",
                    error: error, value: values["to"], widthClass: "govuk-input--width-20"))
        }
        if !recipients.isEmpty {
            fields.append(
                FieldView(
                    kind: recipients.count > 6 ? .select : .radios, id: "to", name: "to", label: CatalogueWords.recipient.label,
                    error: errors["to"],
                    options: recipients.enumerated().map { index, party in
                        FieldView.Option(
                            optionID: index == 0 ? "to" : "to-\(index + 1)", optionValue: party.id, optionLabel: party.id,
                            optionSelected: values["to"] == party.id)
                    }))
        }
        for spec in schema.fields { fields.append(field(spec, values: values, error: errors[Self.name(of: spec.name)])) }
        return fields
    }

    private func field(_ spec: FieldSpec, values: FormFields, error: String?) -> FieldView {
        let name = Self.name(of: spec.name)
        let id = Self.id(of: name)
        let words = CatalogueWords.field(spec.name)
        let label = (words?.label ?? spec.name) + (spec.required ? "" : " (optional)")
        let hint = words?.hint
        func options(_ allowed: [String], multiple: Bool) -> [FieldView.Option] {
            let chosen = Set(values.all(name))
            return allowed.enumerated().map { index, value in
                FieldView.Option(
                    optionID: index == 0 ? id : "\(id)-\(index + 1)", optionValue: value, optionLabel: CatalogueWords.value(value),
                    optionSelected: multiple ? chosen.contains(value) : values[name] == value)
            }
        }
        switch spec.kind {
        case .date, .birthDate, .dateTime, .dateOrDateTime:
            var parts = [
                ("day", "Day", "govuk-input--width-2"), ("month", "Month", "govuk-input--width-2"), ("year", "Year", "govuk-input--width-4"),
            ]
            if case .dateTime = spec.kind { parts += [("hour", "Hour", "govuk-input--width-2"), ("minute", "Minute", "govuk-input--width-2")] }
            if case .dateOrDateTime = spec.kind {
                parts += [("hour", "Hour (optional)", "govuk-input--width-2"), ("minute", "Minute (optional)", "govuk-input--width-2")]
            }
            let isBirth = if case .birthDate = spec.kind { true } else { false }
            let example = spec.kind.isDateTime ? "For example, 27 3 2026, 14 30" : "For example, 27 3 2026"
            return FieldView(
                kind: .date, id: id, name: name, label: label, hint: [hint, example].compactMap { $0 }.joined(separator: ". "),
                error: error,
                parts: parts.map { part, partLabel, width in
                    FieldView.Part(
                        partID: "\(id)-\(part)", partName: "\(name)-\(part)", partLabel: partLabel, partValue: values["\(name)-\(part)"],
                        partWidth: width, partInvalid: error != nil,
                        partAutocomplete: isBirth && part != "hour" && part != "minute" ? "bday-\(part)" : nil)
                })
        case .bool:
            let choices = [("true", "Yes"), ("false", "No")]
            return FieldView(
                kind: .inlineRadios, id: id, name: name, label: label, hint: hint, error: error,
                options: choices.enumerated().map { index, choice in
                    FieldView.Option(
                        optionID: index == 0 ? id : "\(id)-2", optionValue: choice.0, optionLabel: choice.1, optionSelected: values[name] == choice.0)
                })
        case .text, .note:
            let multiline = words?.multiline ?? false
            return FieldView(kind: multiline ? .textarea : .text, id: id, name: name, label: label, hint: hint, error: error, value: values[name])
        case .oneOf(let allowed):
            let sorted = allowed.sorted()
            if sorted.count > 6 {
                let blank = FieldView.Option(optionID: "\(id)-none", optionValue: "", optionLabel: "Choose", optionSelected: values[name].isEmpty)
                return FieldView(
                    kind: .select, id: id, name: name, label: label, hint: hint, error: error,
                    options: [blank] + options(sorted, multiple: false))
            }
            return FieldView(kind: .radios, id: id, name: name, label: label, hint: hint, error: error, options: options(sorted, multiple: false))
        case .listOf(let allowed):
            return FieldView(
                kind: .checkboxes, id: id, name: name, label: label, hint: hint, error: error, options: options(allowed.sorted(), multiple: true))
        case .integer:
            return FieldView(
                kind: .number, id: id, name: name, label: label, hint: hint, error: error, value: values[name], widthClass: "govuk-input--width-4")
        case .uuid:
            return FieldView(kind: .text, id: id, name: name, label: label, hint: hint, error: error, value: values[name])
        }
    }

    // MARK: The envelope

    /// The message the form's values make, as a system would send it; validation and the rules judge it.
    func envelope(_ values: FormFields, id: String, sentAt: String) -> JSONValue {
        var envelope: [String: JSONValue] = [
            "id": .string(id), "type": .string(type.rawValue), "sentAt": .string(sentAt), "nino": .string(values["nino"]),
        ]
        if !values["to"].isEmpty { envelope["to"] = .string(values["to"]) }
        var body: [String: JSONValue] = [:]
        for spec in schema.fields {
            if let value = value(of: spec, values) { body[spec.name] = value }
        }
        envelope["body"] = .object(body)
        return .object(envelope)
    }

    /// A field's value as JSON, or nil when the form left it empty (an optional field left out).
    private func value(of spec: FieldSpec, _ values: FormFields) -> JSONValue? {
        let name = Self.name(of: spec.name)
        func part(_ suffix: String) -> String { values["\(name)-\(suffix)"] }
        switch spec.kind {
        case .date, .birthDate, .dateTime, .dateOrDateTime:
            let (day, month, year, hour, minute) = (part("day"), part("month"), part("year"), part("hour"), part("minute"))
            guard !(day + month + year + hour + minute).isEmpty else { return nil }
            let date = Self.date(day: day, month: month, year: year)
            let wantsTime = spec.kind.isDateTime || !(hour + minute).isEmpty
            guard wantsTime else { return .string(date) }
            // A date-time is a UK time: the offset in force then is written with it.
            guard let local = LocalDate(date), let h = Int(hour), let m = Int(minute), (0..<24).contains(h), (0..<60).contains(m)
            else { return .string("\(date)T\(hour):\(minute)") }
            return .string(Timestamp.format(UKTime.instant(on: local, hour: h, minute: m)))
        case .bool:
            switch values[name] {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: return nil
            }
        case .listOf:
            return .array(values.all(name).filter { !$0.isEmpty }.map(JSONValue.string))
        case .integer:
            let text = values[name]
            guard !text.isEmpty else { return nil }
            return Int(text).map(JSONValue.int) ?? .string(text)
        case .text, .note, .oneOf, .uuid:
            let text = values[name]
            // A required text left empty is sent empty, for validation to name; an optional one is left out.
            return text.isEmpty && !spec.required ? nil : .string(text)
        }
    }

    /// `YYYY-MM-DD` from the parts as typed (a day or month of one digit padded); what does not read as numbers
    /// is passed on as it is, for validation to refuse in its own words.
    static func date(day: String, month: String, year: String) -> String {
        func padded(_ text: String, _ width: Int) -> String {
            guard let number = Int(text), number >= 0 else { return text }
            return String(format: "%0\(width)d", number)
        }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
    }

    // MARK: Errors

    /// A refusal's bad fields as each field's message (its label and the API's words), and what belongs to no
    /// field of the form.
    func errors(_ refusal: Refusal) -> (byField: [String: String], summary: [String], items: [ErrorSummaryView.Item]) {
        var byField: [String: String] = [:]
        var items: [ErrorSummaryView.Item] = []
        var summary: [String] = []
        for problem in refusal.errors {
            let label: String?
            let target: String
            switch problem.field {
            case "nino": (label, target) = (CatalogueWords.nino.label, "nino")
            case "to": (label, target) = (CatalogueWords.recipient.label, "to")
            default:
                guard problem.field.hasPrefix("body."), let spec = schema.fields.first(where: { "body.\($0.name)" == problem.field }) else {
                    summary.append("\(problem.field) \(problem.problem)")
                    continue
                }
                let words = CatalogueWords.field(spec.name)
                label = words?.label ?? spec.name
                let id = Self.id(of: problem.field)
                switch spec.kind {
                case .date, .birthDate, .dateTime, .dateOrDateTime: target = "\(id)-day"
                default: target = id
                }
            }
            let message = "\(label ?? problem.field) \(problem.problem)"
            byField[problem.field] = message
            items.append(ErrorSummaryView.Item(message: message, target: target))
        }
        if refusal.errors.isEmpty || refusal.code != .invalidMessage && refusal.code != .invalidNINO {
            summary.insert(refusal.detail.prefix(1).uppercased() + refusal.detail.dropFirst(), at: 0)
        }
        return (byField, summary, items)
    }
}

extension FieldKind {
    /// Whether the field takes a time of day as well as a date.
    var isDateTime: Bool {
        if case .dateTime = self { true } else { false }
    }
}
