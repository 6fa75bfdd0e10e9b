/// A claimant's Work Programme case (CATALOGUE.md "The case registry").
public struct WorkProgrammeCase: Sendable, Codable, Equatable {
    /// How the claimant came to the programme.
    public enum Kind: String, Sendable, Codable {
        case referral
        case informationSession = "info-session"
    }

    /// The id of the referral that opened the case.
    public var id: String
    public var prime: String
    public var kind: Kind
    public var referralDate: LocalDate
    public var benefit: String
    /// Participation once on the programme (S1 Annex A; `wp.referral`'s `mandatory`).
    public var participationMandatory: Bool
    /// Whether the information-session referral itself was mandatory (decides a DNA's outcome).
    public var sessionMandatory: Bool
    public var esaGroup: String?
    /// When the provider must attach the claimant by.
    public var attachmentDeadline: LocalDate?
    public var wp11FollowUpDate: LocalDate?
    public var attachedOn: LocalDate?
    /// The exit-report request waiting for its report, with its deadline.
    public var pendingExitReport: PendingRequest?
    public var ended: CaseEnding?

    /// Whether the case is still open.
    public var isOpen: Bool { ended == nil }
}

/// A request waiting for an answer: what asked, and by when.
public struct PendingRequest: Sendable, Codable, Equatable {
    public var requestID: String
    public var deadline: LocalDate
}

/// Why and when a case ended.
public struct CaseEnding: Sendable, Codable, Equatable {
    public enum Reason: String, Sendable, Codable {
        case withdrawn
        case didNotStart = "did-not-start"
        case didNotAttendOrStart = "did-not-attend-or-start"
        case noLongerOnJSA = "no-longer-on-jsa"
        case transferred
        case completed
        case superseded
    }

    public var reason: Reason
    public var date: LocalDate
}

extension CaseEnding: CustomStringConvertible {
    /// `on 2026-02-10 (withdrawn)`, for refusals' details.
    public var description: String { "on \(date) (\(reason.rawValue))" }
}
