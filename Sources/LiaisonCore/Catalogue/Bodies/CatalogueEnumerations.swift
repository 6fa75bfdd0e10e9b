/// A failure a CWP provider refers to the decision maker (`cwp.dma-referral`, S2 §88–95).
public enum PlacementFailure: String, Sendable, CaseIterable {
    case didNotAttendEngagement = "did-not-attend-engagement"
    case didNotStart = "did-not-start"
    case failToParticipate = "fail-to-participate"
    case refusedEmployment = "refused-employment"

    /// A Did Not Attend or Did Not Start, after which the case ends and may be re-referred (S2 §88–90).
    public var endsTheCase: Bool { self == .didNotAttendEngagement || self == .didNotStart }
}

/// A change of circumstances a jobcentre tells a CWP provider of (S2 §116–118).
public enum PlacementChange: String, Sendable, CaseIterable {
    case noLongerOnJSA = "no-longer-on-jsa"
    case availability
    case caring
    case health
    case address
    case other
}

/// The evidence given with a reported absence (S2 §100–113).
public enum AbsenceEvidence: String, Sendable, CaseIterable {
    case selfDeclared = "self-declared"
    case fitNote = "fit-note"
    case none
}

/// An alert on a CWP referral.
public enum ReferralAlert: String, Sendable, CaseIterable {
    case restrictedAvailability = "restricted-availability"
    case careRequirements = "care-requirements"
    case disabilitySupport = "disability-support"
    case criminalJustice = "criminal-justice"
}

/// Why a Work Programme referral is inappropriate.
public enum WorkProgrammeInappropriateReason: String, Sendable, CaseIterable {
    case ineligible
    case wrongOpportunity = "wrong-opportunity"
    case duplicateReferral = "duplicate-referral"
    case multipleProviders = "multiple-providers"
    case wrongInterviewType = "wrong-interview-type"
    case other
}

extension CaseIterable where Self: RawRepresentable<String> {
    /// Every case's text, for a schema's `oneOf`.
    static var names: Set<String> { Set(allCases.map(\.rawValue)) }
}
