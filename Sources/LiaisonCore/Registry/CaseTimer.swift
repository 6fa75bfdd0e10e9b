import Foundation

/// A timer kept with its case (CATALOGUE.md "Timers").
public struct CaseTimer: Sendable, Codable, Equatable {
    /// The nine timers of the catalogue.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case attachment
        case attachmentAfterWP11 = "attachment-after-wp11"
        case informationSession = "information-session"
        case didNotStart = "did-not-start"
        case endOfProgramme = "end-of-programme"
        case exitReport = "exit-report"
        case escalation
        case spocAdvice = "spoc-advice"
        case feedbackReport = "feedback-report"
    }

    public var id: String
    public var kind: Kind
    /// The case it belongs to; it never fires for another.
    public var caseID: String
    /// The message that started the chain, carried as `body.regarding`.
    public var regarding: String
    /// The deadline, when the timer has one.
    public var deadline: LocalDate?
    /// The UK date it fires on, at 00:00.
    public var fireDate: LocalDate
    /// The absence a SPOC-advice timer waits on.
    public var absenceID: String?
    /// Why the timer could not fire (e.g. a date past the bank-holiday data); it waits for an operator.
    public var blocked: String?

    /// The instant the timer fires: 00:00 UK time on `fireDate`.
    public var fireAt: Date { UKTime.midnight(of: fireDate) }
}
