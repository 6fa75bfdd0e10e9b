/// Every number and table the rules use, read from the rules file (`config/rules.yaml`). The defaults
/// there are CATALOGUE.md's; nothing here has a number of its own.
public struct RuleSet: Sendable {
    /// Work Programme timings (S0, S1, S3).
    public struct WorkProgramme: Sendable {
        /// S0 §7: working days from referral to attachment.
        public var attachmentWorkingDays: Int
        /// S0 §13: weeks a claimant stays on the programme, during which a new referral is refused.
        public var programmeWeeks: Int
        /// S3: calendar days from referral to the end-of-programme exit-report request.
        public var endOfProgrammeDays: Int
        /// S1 §2: calendar days from an information-session referral to the session.
        public var informationSessionDays: Int
        /// S1 §5, §13: calendar days after which a referral with no WP11 is cancelled as Did Not Start.
        public var didNotStartDays: Int
        /// S1 §12: the latest follow-up date for a WP11, in calendar days after the referral.
        public var wp11FollowUpDays: Int
        /// S1 §12: calendar days from referral to attachment after a WP11.
        public var attachmentAfterWP11Days: Int
        /// S3: working days a provider has to return an exit report.
        public var exitReportWorkingDays: Int
        /// S3: working days after the reminder before escalation.
        public var exitReportReminderWorkingDays: Int
        /// The benefits a referral may name.
        public var benefits: Set<String>
        /// The benefit that training allowance applies to (S0 §21).
        public var trainingAllowanceBenefit: String
        /// The benefit an information-session case is on.
        public var informationSessionBenefit: String
        /// S1 Annex A: ESA groups that may be mandated (participation mandatory).
        public var mandatableGroups: Set<String>
        /// S1 Annex A: ESA groups that may not be mandated (participation voluntary).
        public var voluntaryGroups: Set<String>
    }

    /// Community Work Placements timings (S2).
    public struct CommunityWorkPlacements: Sendable {
        /// S2 §33, §81, §89: weeks after the WPCI within which the original referral must be made.
        public var assessmentWindowWeeks: Int
        /// S2 §36: weeks of a placement.
        public var placementWeeks: Int
        /// S2 §75: weekly placement hours.
        public var placementHours: Int
        /// S2 §75: hours kept free for job search when availability is restricted.
        public var jobSearchHours: Int
        /// The range `hoursAvailable` may take.
        public var hoursAvailable: ClosedRange<Int>
        /// S2 §133: working days for the feedback report after completion.
        public var feedbackReportWorkingDays: Int
        /// S2 §135: months after completion in which a reclaim lets the jobcentre ask for the report.
        public var feedbackRequestMonths: Int
        /// S2 §65: working days the SPOC has to answer an absence referred to it.
        public var spocAdviceWorkingDays: Int
    }

    /// How an absence reason is judged (S2 §100–113).
    public enum AbsenceCategory: String, Sendable, CaseIterable {
        case sickness
        case emergency
        case homelessness
        case domesticViolence = "domestic-violence"
        case referToSPOC = "refer-to-spoc"
    }

    /// Limits of the treated-as-available test.
    public struct Absences: Sendable {
        /// The look-back window, in days, for "in the 12 months before".
        public var windowDays: Int
        /// The reason table: each reason a provider may give, and how it is judged.
        public var reasons: [String: AbsenceCategory]
        /// JSA reg 55: longest short period of sickness.
        public var shortSicknessMaximumDays: Int
        /// JSA reg 55: short periods allowed in the window.
        public var shortSicknessPeriodsAllowed: Int
        /// JSA reg 55ZA: longest extended period of sickness.
        public var extendedSicknessMaximumDays: Int
        /// JSA reg 55ZA: extended periods allowed in the window.
        public var extendedSicknessPeriodsAllowed: Int
        /// Longest domestic emergency and like absences.
        public var emergencyMaximumDays: Int
        /// Emergencies allowed in one 12-month period.
        public var emergenciesAllowed: Int
        /// Length of the emergency period, starting at the first granted one.
        public var emergencyPeriodDays: Int
        /// Longest homelessness absence.
        public var homelessnessMaximumDays: Int
        /// JSA reg 14A: longest domestic-violence absence without evidence.
        public var domesticViolenceMaximumDays: Int
        /// JSA reg 14A: longest domestic-violence absence with evidence.
        public var domesticViolenceWithEvidenceMaximumDays: Int
        /// Domestic-violence absences allowed in the window.
        public var domesticViolenceAllowed: Int
    }

    /// Indicative sanction lengths (S2 §92, §95).
    public struct Sanctions: Sendable {
        /// Lower level, first failure.
        public var lowerFirstWeeks: Int
        /// Lower level, a repeat failure.
        public var lowerRepeatWeeks: Int
        /// Lower level: an earlier failure counts if more than this many days before…
        public var lowerRepeatAfterDays: Int
        /// …and at most this many.
        public var lowerRepeatWithinDays: Int
        /// Higher level, first failure.
        public var higherFirstWeeks: Int
        /// Higher level: an earlier failure within this many days escalates.
        public var higherWindowDays: Int
        /// Higher level: an earlier failure within this many days gives the same length again.
        public var higherSameWithinDays: Int
        /// Higher level: the length that follows each length.
        public var higherEscalation: [Int: Int]
    }

    /// The window every date and timestamp of a message must fall in; anything outside it is a slip of the
    /// keyboard or a probe, never a real notice, and is refused naming the field.
    public struct DateWindow: Sendable {
        /// No date before this: the programmes began in 2011.
        public var earliest: LocalDate
        /// No date more than this many years after the receipt date.
        public var latestYearsAhead: Int
        /// `sentAt` no more than this many seconds ahead of receipt (the sender's clock may run a little fast).
        public var sentAtAheadSeconds: Int
        /// No date of birth before this; none after the receipt date.
        public var earliestDateOfBirth: LocalDate

        /// The latest date a message received on `receiptDate` may name.
        public func latest(receivedOn receiptDate: LocalDate) -> LocalDate { receiptDate.adding(months: 12 * latestYearsAhead) }
    }

    public var workProgramme: WorkProgramme
    public var communityWorkPlacements: CommunityWorkPlacements
    public var dates: DateWindow
    public var absences: Absences
    public var sanctions: Sanctions
}

extension RuleSet {
    /// Reads the rule configuration.
    /// - Throws: `ConfigError` naming the first missing, malformed or unknown key.
    public init(document: JSONValue) throws {
        let log = ConfigProblemLog()
        try self.init(document: document, log: log)
        if let first = log.problems.first { throw first }
    }

    /// Every problem with a rule configuration, in the order found; empty when it reads.
    public static func problems(in document: JSONValue) -> [ConfigError] {
        let log = ConfigProblemLog()
        do {
            _ = try RuleSet(document: document, log: log)
        } catch {
            log.record(ConfigError(key: "(rules)", problem: "\(error)"))
        }
        return log.problems
    }

    /// Reads the rule configuration, recording every problem in `log` and going on with stand-in values;
    /// checks between settings run only when their part of the file read cleanly, so that a stand-in never
    /// makes a problem up.
    private init(document: JSONValue, log: ConfigProblemLog) throws {
        var root = try ConfigReader(document, log: log)
        /// Whether nothing was recorded since `count` problems.
        func clean(since count: Int) -> Bool { log.problems.count == count }

        var wp = try root.section("workProgramme")
        var groups = try wp.section("informationSessionGroups")
        workProgramme = WorkProgramme(
            attachmentWorkingDays: try wp.integer("attachmentWorkingDays", in: 1...365),
            programmeWeeks: try wp.integer("programmeWeeks", in: 1...520),
            endOfProgrammeDays: try wp.integer("endOfProgrammeDays", in: 1...3650),
            informationSessionDays: try wp.integer("informationSessionDays", in: 1...365),
            didNotStartDays: try wp.integer("didNotStartDays", in: 1...365),
            wp11FollowUpDays: try wp.integer("wp11FollowUpDays", in: 1...365),
            attachmentAfterWP11Days: try wp.integer("attachmentAfterWP11Days", in: 1...365),
            exitReportWorkingDays: try wp.integer("exitReportWorkingDays", in: 1...365),
            exitReportReminderWorkingDays: try wp.integer("exitReportReminderWorkingDays", in: 1...365),
            benefits: Set(try wp.strings("benefits")),
            trainingAllowanceBenefit: try wp.string("trainingAllowanceBenefit"),
            informationSessionBenefit: try wp.string("informationSessionBenefit"),
            mandatableGroups: Set(try groups.strings("mandatable")),
            voluntaryGroups: Set(try groups.strings("voluntary"))
        )
        try groups.rejectUnknownKeys()
        try wp.rejectUnknownKeys()
        if let both = workProgramme.mandatableGroups.intersection(workProgramme.voluntaryGroups).sorted().first {
            try root.report(ConfigError(key: groups.key("voluntary"), problem: "\(both) is also listed as mandatable"))
        }

        let beforeHours = log.problems.count
        var cwp = try root.section("communityWorkPlacements")
        var hours = try cwp.section("hoursAvailable")
        var minimumHours = try hours.integer("minimum", in: 0...168)
        var maximumHours = try hours.integer("maximum", in: 0...168)
        try hours.rejectUnknownKeys()
        if clean(since: beforeHours), minimumHours > maximumHours {
            try root.report(ConfigError(key: hours.key("minimum"), problem: "must not exceed \(hours.key("maximum"))"))
        }
        if minimumHours > maximumHours { (minimumHours, maximumHours) = (maximumHours, minimumHours) }
        communityWorkPlacements = CommunityWorkPlacements(
            assessmentWindowWeeks: try cwp.integer("assessmentWindowWeeks", in: 0...520),
            placementWeeks: try cwp.integer("placementWeeks", in: 1...520),
            placementHours: try cwp.integer("placementHours", in: 1...168),
            jobSearchHours: try cwp.integer("jobSearchHours", in: 0...168),
            hoursAvailable: minimumHours...maximumHours,
            feedbackReportWorkingDays: try cwp.integer("feedbackReportWorkingDays", in: 1...365),
            feedbackRequestMonths: try cwp.integer("feedbackRequestMonths", in: 1...120),
            spocAdviceWorkingDays: try cwp.integer("spocAdviceWorkingDays", in: 1...365)
        )
        try cwp.rejectUnknownKeys()

        var window = try root.section("dates")
        dates = DateWindow(
            earliest: try window.date("earliest"),
            latestYearsAhead: try window.integer("latestYearsAhead", in: 0...100),
            sentAtAheadSeconds: try window.integer("sentAtAheadSeconds", in: 0...86_400),
            earliestDateOfBirth: try window.date("earliestDateOfBirth"))
        try window.rejectUnknownKeys()

        let beforeReasons = log.problems.count
        var absence = try root.section("absences")
        var reasonTable = try absence.section("reasons")
        var reasons: [String: AbsenceCategory] = [:]
        for reason in reasonTable.keys {
            let category = try reasonTable.string(reason)
            guard let parsed = AbsenceCategory(rawValue: category) else {
                let known = AbsenceCategory.allCases.map(\.rawValue).joined(separator: ", ")
                if !category.isEmpty {
                    try root.report(ConfigError(key: reasonTable.key(reason), problem: "must be one of \(known), not \(category)"))
                }
                continue
            }
            reasons[reason] = parsed
        }
        if reasons.isEmpty, clean(since: beforeReasons) { try root.report(ConfigError(key: reasonTable.path, problem: "lists no reasons")) }
        var sickness = try absence.section("sickness")
        var emergency = try absence.section("emergency")
        var homelessness = try absence.section("homelessness")
        var violence = try absence.section("domesticViolence")
        absences = Absences(
            windowDays: try absence.integer("windowDays", in: 1...3650),
            reasons: reasons,
            shortSicknessMaximumDays: try sickness.integer("shortMaximumDays", in: 1...3650),
            shortSicknessPeriodsAllowed: try sickness.integer("shortPeriodsAllowed", in: 0...365),
            extendedSicknessMaximumDays: try sickness.integer("extendedMaximumDays", in: 1...3650),
            extendedSicknessPeriodsAllowed: try sickness.integer("extendedPeriodsAllowed", in: 0...365),
            emergencyMaximumDays: try emergency.integer("maximumDays", in: 1...3650),
            emergenciesAllowed: try emergency.integer("allowedPerPeriod", in: 0...365),
            emergencyPeriodDays: try emergency.integer("periodDays", in: 1...3650),
            homelessnessMaximumDays: try homelessness.integer("maximumDays", in: 1...3650),
            domesticViolenceMaximumDays: try violence.integer("maximumDays", in: 1...3650),
            domesticViolenceWithEvidenceMaximumDays: try violence.integer("maximumDaysWithEvidence", in: 1...3650),
            domesticViolenceAllowed: try violence.integer("allowedInWindow", in: 0...365)
        )
        for section in [sickness, emergency, homelessness, violence, reasonTable] { try section.rejectUnknownKeys() }
        try absence.rejectUnknownKeys()

        let beforeSanctions = log.problems.count
        var sanction = try root.section("sanctions")
        var lower = try sanction.section("lowerLevel")
        var higher = try sanction.section("higherLevel")
        var escalationTable = try higher.section("escalation")
        var escalation: [Int: Int] = [:]
        for from in escalationTable.keys {
            guard let weeks = Int(from), weeks > 0 else {
                _ = escalationTable.optionalValue(from)  // read, and wrong: not also an unknown setting
                try root.report(ConfigError(key: escalationTable.key(from), problem: "must be a number of weeks"))
                continue
            }
            escalation[weeks] = try escalationTable.integer(from, in: 1...1000)
        }
        try escalationTable.rejectUnknownKeys()
        sanctions = Sanctions(
            lowerFirstWeeks: try lower.integer("firstWeeks", in: 0...1000),
            lowerRepeatWeeks: try lower.integer("repeatWeeks", in: 0...1000),
            lowerRepeatAfterDays: try lower.integer("repeatAfterDays", in: 0...3650),
            lowerRepeatWithinDays: try lower.integer("repeatWithinDays", in: 0...3650),
            higherFirstWeeks: try higher.integer("firstWeeks", in: 1...1000),
            higherWindowDays: try higher.integer("windowDays", in: 0...3650),
            higherSameWithinDays: try higher.integer("sameWithinDays", in: 0...3650),
            higherEscalation: escalation
        )
        if clean(since: beforeSanctions) {
            for weeks in Set([sanctions.higherFirstWeeks] + escalation.values).sorted() where escalation[weeks] == nil {
                try root.report(
                    ConfigError(key: escalationTable.key(String(weeks)), problem: "is missing: every length needs a next length"))
            }
        }
        try lower.rejectUnknownKeys()
        try higher.rejectUnknownKeys()
        try sanction.rejectUnknownKeys()
        try root.rejectUnknownKeys()
    }
}
