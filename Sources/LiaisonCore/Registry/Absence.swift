/// A CWP absence notified by the provider, and how it was decided.
public struct Absence: Sendable, Codable, Equatable {
    /// Where the absence stands.
    public enum State: String, Sendable, Codable {
        /// Treated as available: counts toward the limits.
        case granted
        case notAvailable = "not-available"
        /// Waiting for the Jobcentre SPOC's advice.
        case awaitingSPOC = "awaiting-spoc"
        /// Not reported by the claimant: referred to the decision maker.
        case unreported
    }

    /// For sickness: which allowance it counts against once granted.
    public enum SicknessPeriod: String, Sendable, Codable {
        case short
        case extended
    }

    /// The id of the `cwp.absence` message.
    public var id: String
    public var caseID: String
    public var reason: String
    public var from: LocalDate
    public var to: LocalDate
    public var evidence: String
    public var state: State
    public var sicknessPeriod: SicknessPeriod?
    /// For an absence referred to a SPOC: the jobcentre whose SPOC was asked. The query stays with that SPOC,
    /// who has the absence, even when the claim moves to another jobcentre before the answer.
    public var referredTo: String?

    public init(
        id: String, caseID: String, reason: String, from: LocalDate, to: LocalDate, evidence: String, state: State,
        sicknessPeriod: SicknessPeriod?, referredTo: String? = nil
    ) {
        self.id = id
        self.caseID = caseID
        self.reason = reason
        self.from = from
        self.to = to
        self.evidence = evidence
        self.state = state
        self.sicknessPeriod = sicknessPeriod
        self.referredTo = referredTo
    }

    /// Length in calendar days, both ends counted.
    public var length: Int { to.days(since: from) + 1 }

    /// Whether the two absences share a day.
    public func overlaps(from otherFrom: LocalDate, to otherTo: LocalDate) -> Bool {
        from <= otherTo && otherFrom <= to
    }
}

/// A failure referred to a decision maker, kept for indicative sanctions (S2 §92, §95).
public struct SanctionableFailure: Sendable, Codable, Equatable {
    public enum Level: String, Sendable, Codable {
        case lower
        case higher
    }

    public var messageID: String
    public var level: Level
    public var failureDate: LocalDate
    public var weeks: Int

    public init(messageID: String, level: Level, failureDate: LocalDate, weeks: Int) {
        self.messageID = messageID
        self.level = level
        self.failureDate = failureDate
        self.weeks = weeks
    }
}
