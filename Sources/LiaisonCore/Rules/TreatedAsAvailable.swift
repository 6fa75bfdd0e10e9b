/// The treated-as-available test for reported CWP absences (S2 §100–113; JSA regs 14A, 55, 55ZA).
public struct TreatedAsAvailable: Sendable {
    /// The three answers a reported absence can get.
    public enum Outcome: String, Sendable {
        case treatAsAvailable = "treat-as-available"
        case notAvailable = "not-available"
        case referredToSPOC = "referred-to-spoc"
    }

    /// The answer with its reasons.
    public struct Judgement: Sendable, Equatable {
        public var outcome: Outcome
        /// For sickness: the allowance it counts against once granted.
        public var sicknessPeriod: Absence.SicknessPeriod?
        public var rule: String
        public var basis: [String]
        public var explanation: String
    }

    let limits: RuleSet.Absences

    public init(limits: RuleSet.Absences) {
        self.limits = limits
    }

    /// Judges an absence of `reason` from `from` to `to`, given the claimant's absences granted so far.
    public func judge(reason: String, from: LocalDate, to: LocalDate, evidence: String, granted: [Absence]) -> Judgement {
        let length = to.days(since: from) + 1
        let windowStart = from.adding(days: -limits.windowDays)
        let earlier = granted.filter { $0.from >= windowStart && $0.from < from }
        func category(_ absence: Absence) -> RuleSet.AbsenceCategory? { limits.reasons[absence.reason] }

        switch limits.reasons[reason] ?? .referToSPOC {
        case .sickness:
            let sickness = earlier.filter { category($0) == .sickness }
            let shortUsed = sickness.filter { $0.sicknessPeriod == .short }.count
            let extendedUsed = sickness.filter { $0.sicknessPeriod == .extended }.count
            let window = "the \(limits.windowDays) days before \(from)"
            if length <= limits.shortSicknessMaximumDays, shortUsed < limits.shortSicknessPeriodsAllowed {
                return Judgement(
                    outcome: .treatAsAvailable, sicknessPeriod: .short, rule: "absence.sickness.short-period",
                    basis: ["HtW guidance §106-107", "JSA Regulations 1996 reg 55"],
                    explanation: "Short period of sickness (\(length) days), \(ordinal(shortUsed + 1)) of "
                        + "\(limits.shortSicknessPeriodsAllowed) allowed in \(window)")
            }
            let whyNotShort =
                length > limits.shortSicknessMaximumDays
                ? "longer than \(limits.shortSicknessMaximumDays) days"
                : "\(shortUsed) short periods already granted in \(window)"
            if length <= limits.extendedSicknessMaximumDays, extendedUsed < limits.extendedSicknessPeriodsAllowed {
                if evidence == "fit-note" {
                    return Judgement(
                        outcome: .treatAsAvailable, sicknessPeriod: .extended, rule: "absence.sickness.extended-period",
                        basis: ["HtW guidance §106-107", "JSA Regulations 1996 reg 55ZA"],
                        explanation: "Extended period of sickness (\(length) days, not a short period: \(whyNotShort)) "
                            + "with a fit note, \(ordinal(extendedUsed + 1)) of \(limits.extendedSicknessPeriodsAllowed) in \(window)")
                }
                return Judgement(
                    outcome: .referredToSPOC, sicknessPeriod: .extended, rule: "absence.sickness.extended-without-fit-note",
                    basis: ["HtW guidance §65", "HtW guidance §106-107", "JSA Regulations 1996 reg 55ZA"],
                    explanation: "Sickness of \(length) days is not a short period (\(whyNotShort)); an extended period "
                        + "is possible but there is no fit note, so the SPOC must advise")
            }
            let whyNotExtended =
                length > limits.extendedSicknessMaximumDays
                ? "longer than \(limits.extendedSicknessMaximumDays) days"
                : "\(extendedUsed) extended period already granted in \(window)"
            return Judgement(
                outcome: .notAvailable, sicknessPeriod: nil, rule: "absence.sickness.limit",
                basis: ["HtW guidance §108", "JSA Regulations 1996 regs 55, 55ZA"],
                explanation: "Sickness of \(length) days is neither a short period (\(whyNotShort)) nor an extended "
                    + "period (\(whyNotExtended))")

        case .emergency:
            if length > limits.emergencyMaximumDays {
                return Judgement(
                    outcome: .referredToSPOC, sicknessPeriod: nil, rule: "absence.emergency.too-long",
                    basis: ["HtW guidance §65", "HtW guidance §110-111"],
                    explanation: "\(reason) of \(length) days is longer than \(limits.emergencyMaximumDays) days; the SPOC must advise")
            }
            let emergencies = granted.filter { category($0) == .emergency && $0.from < from }.map(\.from).sorted()
            var periodStart: LocalDate?
            var used = 0
            for date in emergencies {
                if let start = periodStart, date.days(since: start) < limits.emergencyPeriodDays {
                    used += 1
                } else {
                    periodStart = date
                    used = 1
                }
            }
            if let start = periodStart, from.days(since: start) >= limits.emergencyPeriodDays {
                periodStart = nil
                used = 0
            }
            let period = periodStart.map { "the 12-month period from \($0)" } ?? "a new 12-month period from \(from)"
            if used < limits.emergenciesAllowed {
                return Judgement(
                    outcome: .treatAsAvailable, sicknessPeriod: nil, rule: "absence.emergency",
                    basis: ["HtW guidance §110-111"],
                    explanation: "\(reason) of \(length) days, \(ordinal(used + 1)) of \(limits.emergenciesAllowed) allowed in \(period)")
            }
            return Judgement(
                outcome: .notAvailable, sicknessPeriod: nil, rule: "absence.emergency.limit",
                basis: ["HtW guidance §112"],
                explanation: "\(limits.emergenciesAllowed) such absences already granted in \(period)")

        case .homelessness:
            if length <= limits.homelessnessMaximumDays {
                return Judgement(
                    outcome: .treatAsAvailable, sicknessPeriod: nil, rule: "absence.homelessness",
                    basis: ["HtW guidance §110-111"],
                    explanation: "Homelessness of \(length) days, within \(limits.homelessnessMaximumDays) days; "
                        + "it does not count toward the emergency limit")
            }
            return Judgement(
                outcome: .referredToSPOC, sicknessPeriod: nil, rule: "absence.homelessness.too-long",
                basis: ["HtW guidance §65"],
                explanation: "Homelessness of \(length) days is longer than \(limits.homelessnessMaximumDays) days; the SPOC must advise")

        case .domesticViolence:
            let earlierViolence = earlier.filter { category($0) == .domesticViolence }.count
            let maximum = evidence == "none" ? limits.domesticViolenceMaximumDays : limits.domesticViolenceWithEvidenceMaximumDays
            if earlierViolence < limits.domesticViolenceAllowed, length <= maximum {
                return Judgement(
                    outcome: .treatAsAvailable, sicknessPeriod: nil, rule: "absence.domestic-violence",
                    basis: ["HtW guidance §110-111", "JSA Regulations 1996 reg 14A"],
                    explanation: "Domestic violence, \(length) days within \(maximum) (evidence: \(evidence)); "
                        + "\(earlierViolence) granted in the \(limits.windowDays) days before")
            }
            return Judgement(
                outcome: .referredToSPOC, sicknessPeriod: nil, rule: "absence.domestic-violence.spoc",
                basis: ["HtW guidance §65", "JSA Regulations 1996 reg 14A"],
                explanation: "Domestic violence of \(length) days (limit \(maximum), evidence: \(evidence)) with "
                    + "\(earlierViolence) granted in the \(limits.windowDays) days before; the SPOC must advise")

        case .referToSPOC:
            return Judgement(
                outcome: .referredToSPOC, sicknessPeriod: nil, rule: "absence.refer-to-spoc",
                basis: ["HtW guidance §65"],
                explanation: "\(reason) is never decided automatically; the SPOC must advise")
        }
    }
}

/// "1st", "2nd", "3rd", "4th" …
func ordinal(_ number: Int) -> String {
    let suffix: String
    switch (number % 10, number % 100) {
    case (1, let hundred) where hundred != 11: suffix = "st"
    case (2, let hundred) where hundred != 12: suffix = "nd"
    case (3, let hundred) where hundred != 13: suffix = "rd"
    default: suffix = "th"
    }
    return "\(number)\(suffix)"
}
