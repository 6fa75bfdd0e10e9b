/// What the recipient of a copy is waiting for, and by when, where the catalogue sets a date: the SPOC's
/// advice on an absence (S2 §65), an attachment (S0 §7, S1 §12), an exit report (S3) or a feedback report
/// (S2 §133, §135). Staff inboxes show it, and mark it overdue once the date has passed.
public struct AnswerDue: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case spocAdvice = "spoc-advice"
        case attachment
        case exitReport = "exit-report"
        case feedbackReport = "feedback-report"

        /// What is due, in words.
        public var words: String {
            switch self {
            case .spocAdvice: "SPOC advice due"
            case .attachment: "Attachment due"
            case .exitReport: "Exit report due"
            case .feedbackReport: "Feedback report due"
            }
        }
    }

    public let kind: Kind
    public let date: LocalDate

    public init(kind: Kind, date: LocalDate) {
        self.kind = kind
        self.date = date
    }

    /// What a message of `type` with this `decision` (accepted messages) or `body` (what Liaison generates) is
    /// waiting for, or nil when the catalogue sets no date for an answer to it.
    public static func of(_ type: MessageType, decision: JSONValue?, body: JSONValue?) -> AnswerDue? {
        func date(_ value: JSONValue?) -> LocalDate? { value?.stringValue.flatMap(LocalDate.init) }
        guard let kind = kind(of: type) else { return nil }
        let due: LocalDate? =
            switch type {
            case .cwpAbsence: date(decision?["adviceDueBy"])
            case .wpExitReportRequest: date(decision?["deadline"]) ?? date(body?["deadline"])
            case .wpExitReportReminder: date(body?["deadline"])
            default: date(decision?["deadline"])
            }
        return due.map { AnswerDue(kind: kind, date: $0) }
    }

    /// What a message of `type` may be waiting for, whatever its date.
    public static func kind(of type: MessageType) -> Kind? {
        switch type {
        case .cwpAbsence: .spocAdvice
        case .wpReferral, .wpWP11: .attachment
        case .wpExitReportRequest, .wpExitReportReminder: .exitReport
        case .cwpCompletion, .cwpFeedbackReportRequest: .feedbackReport
        default: nil
        }
    }
}
