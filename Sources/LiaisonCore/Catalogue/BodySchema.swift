import Foundation

/// What one body field must hold.
public enum FieldKind: Sendable {
    /// `YYYY-MM-DD`.
    case date
    /// RFC 3339 date-time.
    case dateTime
    /// `YYYY-MM-DD` or an RFC 3339 date-time.
    case dateOrDateTime
    /// `YYYY-MM-DD`, a date of birth: in the past, not in the programmes' window.
    case birthDate
    case bool
    /// A non-empty string.
    case text
    /// A string that may be empty.
    case note
    /// One of these strings.
    case oneOf(Set<String>)
    /// A list whose elements are each one of these strings.
    case listOf(Set<String>)
    /// A whole number in the range.
    case integer(ClosedRange<Int>)
    /// A UUID.
    case uuid
}

/// One field of a body schema.
public struct FieldSpec: Sendable {
    public let name: String
    public let kind: FieldKind
    public let required: Bool
}

/// The body schema of one message type.
public struct BodySchema: Sendable {
    public let fields: [FieldSpec]
    /// The fields' names.
    private let known: Set<String>

    init(_ fields: [FieldSpec]) {
        self.fields = fields
        self.known = Set(fields.map(\.name))
    }
}

func required(_ name: String, _ kind: FieldKind) -> FieldSpec { FieldSpec(name: name, kind: kind, required: true) }
func optional(_ name: String, _ kind: FieldKind) -> FieldSpec { FieldSpec(name: name, kind: kind, required: false) }

/// A bad field: `{ "field": "body.from", "problem": "…" }` in an `invalid-message` answer.
public struct FieldProblem: Sendable, Hashable, Codable {
    public let field: String
    public let problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }
}

extension FieldProblem {
    /// The problems with fields the caller sent that a schema does not know (`problem` says why), in a
    /// stable order. A name is repeated only when it looks like a field name: a key is the caller's text,
    /// and might be a NINO or a note about a claimant, which no answer repeats. The others share one problem
    /// under `container` (`(message)`, or `body`).
    static func unknownFields(_ names: [String], under prefix: String?, _ problem: String) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        var unnamed = false
        for name in names.sorted() {
            if looksLikeFieldName(name) {
                problems.append(FieldProblem(field: prefix.map { "\($0).\(name)" } ?? name, problem: problem))
            } else {
                unnamed = true
            }
        }
        if unnamed {
            problems.append(
                FieldProblem(
                    field: prefix ?? "(message)",
                    problem: "has a field whose name is not repeated here (it does not look like a field name) and \(problem)"))
        }
        return problems
    }

    /// A name of ASCII letters, digits and underscores, starting with a letter, of at most 40 characters and
    /// with at most three digits (a NINO has six).
    static func looksLikeFieldName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard (1...40).contains(bytes.count), let first = bytes.first, isLetter(first) else { return false }
        var digits = 0
        for byte in bytes {
            if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                digits += 1
            } else if !isLetter(byte), byte != UInt8(ascii: "_") {
                return false
            }
        }
        return digits <= 3
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}

/// The enumerations of CATALOGUE.md that the body schemas use, from the typed bodies' own cases.
public enum CatalogueValues {
    public static let wpInappropriateReasons = WorkProgrammeInappropriateReason.names
    public static let alerts = ReferralAlert.names
    public static let evidence = AbsenceEvidence.names
    public static let failures = PlacementFailure.names
    public static let cwpChanges = PlacementChange.names
}

extension BodySchema {
    /// The schema of a submittable type, with the enumerations the rules configure.
    public static func of(_ type: MessageType, rules: RuleSet) -> BodySchema? {
        let wp = rules.workProgramme
        let groups = wp.mandatableGroups.union(wp.voluntaryGroups)
        switch type {
        case .wpReferral:
            return BodySchema([
                required("referralDate", .date), required("benefit", .oneOf(wp.benefits)), required("mandatory", .bool),
            ])
        case .wpAttachment:
            return BodySchema([required("attachmentDate", .date)])
        case .wpInfoSessionReferral:
            return BodySchema([
                required("referralDate", .date), required("mandatory", .bool), required("esaGroup", .oneOf(groups)),
            ])
        case .wpInfoSessionAttended, .wpInfoSessionDNA:
            return BodySchema([required("sessionDate", .date)])
        case .wpWP11:
            return BodySchema([required("followUpDate", .date)])
        case .wpComplianceDoubt:
            return BodySchema([required("activity", .text), required("failureDate", .date), optional("detail", .note)])
        case .wpReengagement:
            return BodySchema([required("date", .date)])
        case .wpTrainingAllowance:
            return BodySchema([required("courseStart", .date), required("course", .text)])
        case .wpChangeOfCircumstances:
            return BodySchema([required("change", .text), required("effectiveDate", .date), optional("detail", .note)])
        case .wpExitReportRequest:
            return BodySchema([
                optional("requestDate", .date), required("benefit", .oneOf(wp.benefits)), required("endDate", .date),
            ])
        case .wpExitReport:
            return BodySchema([
                optional("title", .text), required("surname", .text), required("otherNames", .text),
                required("dateOfBirth", .birthDate), required("actionsAgreed", .text),
                required("furtherInformation", .text), required("nextSteps", .text), required("adviserName", .text),
            ])
        case .wpInappropriateReferral:
            return BodySchema([required("reason", .oneOf(CatalogueValues.wpInappropriateReasons)), optional("detail", .note)])
        case .cwpReferral:
            return BodySchema([
                required("referralDate", .date), required("wpciDate", .date), required("engagementMeeting", .dateTime),
                optional("hoursAvailable", .integer(rules.communityWorkPlacements.hoursAvailable)),
                required("restrictions", .note), required("alerts", .listOf(CatalogueValues.alerts)),
                optional("expectedConfinementDate", .date), optional("confirmedJobStartDate", .date),
                optional("rereferral", .bool),
            ])
        case .cwpStart:
            return BodySchema([required("startDate", .date)])
        case .cwpAbsence:
            return BodySchema([
                required("reported", .bool), required("reason", .oneOf(Set(rules.absences.reasons.keys))),
                required("from", .date), required("to", .date),
                optional("evidence", .oneOf(CatalogueValues.evidence)), optional("detail", .note),
            ])
        case .cwpAbsenceAdvice:
            return BodySchema([required("inReplyTo", .uuid), required("treatAsAvailable", .bool), optional("note", .note)])
        case .cwpDMAReferral:
            return BodySchema([
                required("failure", .oneOf(CatalogueValues.failures)), required("failureDate", .date),
                optional("detail", .note),
            ])
        case .cwpChangeOfCircumstances:
            return BodySchema([
                required("change", .oneOf(CatalogueValues.cwpChanges)), required("effectiveDate", .date),
                optional("detail", .note),
            ])
        case .cwpClaimTransfer:
            return BodySchema([
                required("newJobcentre", .text), required("transferDate", .date), required("withinCpa", .bool),
                required("withinTravelDistance", .bool), optional("providerCanDeliver", .bool),
            ])
        case .cwpUnacceptableBehaviour:
            return BodySchema([required("incidentDate", .date), optional("detail", .note)])
        case .cwpInappropriateReferral:
            return BodySchema([required("reason", .text), optional("detail", .note)])
        case .cwpReengagement:
            return BodySchema([required("reclaimDate", .date), optional("appointment", .dateOrDateTime)])
        case .cwpCompletion:
            return BodySchema([required("completionDate", .date), required("onBenefit", .bool)])
        case .cwpFeedbackReport:
            return BodySchema([required("participationSummary", .text)])
        case .cwpFeedbackReportRequest:
            return BodySchema([required("reclaimDate", .date)])
        case .wpAttachmentOverdue, .wpInfoSessionOverdue, .wpInfoSessionCancel, .wpExitReportReminder,
            .wpExitReportEscalation, .cwpAbsenceAdviceOverdue, .cwpFeedbackReportReminder, .clericalTask:
            return nil
        }
    }

    /// Every problem with `body` against this schema, each under `body.<field>`; with `window`, dates outside
    /// it too.
    public func problems(in body: [String: JSONValue], window: DatesAllowed? = nil) -> [FieldProblem] {
        var problems = FieldProblem.unknownFields(
            body.keys.filter { !known.contains($0) }, under: "body", "is not a field of this message type")
        for field in fields {
            guard let value = body[field.name], value != .null else {
                if field.required { problems.append(FieldProblem(field: "body.\(field.name)", problem: "is required")) }
                continue
            }
            if let problem = field.kind.problem(with: value) ?? window?.problem(with: value, kind: field.kind) {
                problems.append(FieldProblem(field: "body.\(field.name)", problem: problem))
            }
        }
        return problems
    }
}

extension FieldKind {
    /// Why `value` does not fit, or nil when it does.
    func problem(with value: JSONValue) -> String? {
        switch self {
        case .date, .birthDate:
            guard let text = value.stringValue else { return "must be a date string (YYYY-MM-DD), not \(value.kindName)" }
            return LocalDate(text) == nil ? "must be a real date as YYYY-MM-DD" : nil
        case .dateTime:
            guard let text = value.stringValue else { return "must be an RFC 3339 date-time string, not \(value.kindName)" }
            return Timestamp.parse(text) == nil ? "must be an RFC 3339 date-time with an offset" : nil
        case .dateOrDateTime:
            guard let text = value.stringValue else { return "must be a date or date-time string, not \(value.kindName)" }
            return LocalDate(text) == nil && Timestamp.parse(text) == nil
                ? "must be YYYY-MM-DD or an RFC 3339 date-time" : nil
        case .bool:
            return value.boolValue == nil ? "must be true or false, not \(value.kindName)" : nil
        case .text:
            guard let text = value.stringValue else { return "must be a string, not \(value.kindName)" }
            return text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? "must not be empty" : nil
        case .note:
            return value.stringValue == nil ? "must be a string, not \(value.kindName)" : nil
        case .oneOf(let allowed):
            guard let text = value.stringValue else { return "must be a string, not \(value.kindName)" }
            return allowed.contains(text) ? nil : "must be one of \(allowed.sorted().joined(separator: ", "))"
        case .listOf(let allowed):
            guard let elements = value.arrayValue else { return "must be a list, not \(value.kindName)" }
            for (index, element) in elements.enumerated() {
                guard let text = element.stringValue, allowed.contains(text) else {
                    return "element \(index) must be one of \(allowed.sorted().joined(separator: ", "))"
                }
            }
            return Set(elements).count == elements.count ? nil : "must not repeat an element"
        case .integer(let range):
            guard let number = value.intValue else { return "must be a whole number, not \(value.kindName)" }
            return range.contains(number) ? nil : "must be between \(range.lowerBound) and \(range.upperBound)"
        case .uuid:
            guard let text = value.stringValue else { return "must be a UUID string, not \(value.kindName)" }
            return UUIDText.isValid(text) ? nil : "must be a UUID"
        }
    }
}

/// The dates a message received at one instant may name (`RuleSet.DateWindow`): a date outside them is a slip
/// of the keyboard or a probe, never a real notice.
public struct DatesAllowed: Sendable {
    public let earliest: LocalDate
    public let latest: LocalDate
    public let earliestDateOfBirth: LocalDate
    /// The UK date of receipt: no date of birth after it.
    public let receiptDate: LocalDate
    /// The latest `sentAt`.
    public let latestSentAt: Date

    public init(_ window: RuleSet.DateWindow, receivedAt: Date) {
        receiptDate = UKTime.localDate(at: receivedAt)
        earliest = window.earliest
        latest = window.latest(receivedOn: receiptDate)
        earliestDateOfBirth = window.earliestDateOfBirth
        latestSentAt = receivedAt.addingTimeInterval(TimeInterval(window.sentAtAheadSeconds))
    }

    /// Why a well-formed date or date-time `value` of `kind` falls outside the window, or nil.
    func problem(with value: JSONValue, kind: FieldKind) -> String? {
        guard let text = value.stringValue else { return nil }
        let date = LocalDate(text) ?? Timestamp.parse(text).map(UKTime.localDate(at:))
        guard let date else { return nil }
        switch kind {
        case .birthDate:
            return (earliestDateOfBirth...receiptDate).contains(date)
                ? nil : "must be a date of birth from \(earliestDateOfBirth) to the date of receipt \(receiptDate)"
        case .date, .dateTime, .dateOrDateTime:
            return (earliest...latest).contains(date) ? nil : "must fall from \(earliest) to \(latest)"
        default:
            return nil
        }
    }

    /// Why a `sentAt` of `instant` is not plausible, or nil.
    func sentAtProblem(_ instant: Date) -> String? {
        let date = UKTime.localDate(at: instant)
        if date < earliest { return "must not be before \(earliest)" }
        if instant > latestSentAt { return "must not be ahead of the time of receipt (by more than the clocks may differ)" }
        return nil
    }
}

/// UUID text as `8-4-4-4-12` hexadecimal digits.
public enum UUIDText {
    /// Whether `text` is a UUID in its canonical textual form (either case).
    public static func isValid(_ text: String) -> Bool {
        guard text.utf8.count == 36 else { return false }
        for (index, byte) in text.utf8.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                let isHex =
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
                guard isHex else { return false }
            }
        }
        return true
    }

    /// `text` in lower case when it is a UUID, which is the same UUID in either case (RFC 9562), so that
    /// ids are stored, looked up and compared in one form; anything else as it is.
    public static func normalised(_ text: String) -> String {
        guard isValid(text), text.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) }) else {
            return text
        }
        return text.lowercased()
    }
}
