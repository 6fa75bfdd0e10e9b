/// Work Programme rules (CATALOGUE.md "Work Programme"; S0, S1, S3).
extension CaseRules {
    private static let s0 = "WP guidance ch.1"
    private static let s1 = "WP guidance ch.19"
    private static let s3 = "memo WP LR 106"

    /// `wp.referral`: opens a WP case (S0 §7, §13).
    func wpReferral(_ s: inout Submission, _ referral: WPReferral) throws -> (Decision, [Address]) {
        let prime = try referralTarget(s, kind: .prime)
        try checkReferringJobcentre(s)
        let referralDate = referral.referralDate
        try refuseIfOnProgramme(s, referralDate: referralDate)
        let wp = rules.workProgramme
        s.person.jobcentre = s.sender.id
        replaceWorkProgrammeCase(&s.person, on: referralDate)
        let deadline = try context.workingDays(
            wp.attachmentWorkingDays, after: referralDate, jobcentre: s.sender.id, field: "body.referralDate")
        let mandatory = referral.mandatory
        s.person.workProgramme = WorkProgrammeCase(
            id: s.envelope.id, prime: prime.id, kind: .referral, referralDate: referralDate,
            benefit: referral.benefit, participationMandatory: mandatory, sessionMandatory: mandatory,
            esaGroup: nil, attachmentDeadline: deadline, wp11FollowUpDate: nil, attachedOn: nil,
            pendingExitReport: nil, ended: nil)
        try setTimer(
            .attachment, on: &s.person, caseID: s.envelope.id, regarding: s.envelope.id, .workingDay(deadline),
            field: "body.referralDate")
        try setTimer(
            .endOfProgramme, on: &s.person, caseID: s.envelope.id, regarding: s.envelope.id,
            .firesOn(referralDate.adding(days: wp.endOfProgrammeDays)), field: "body.referralDate")
        let decision = Decision(
            outcome: "referred", rule: "wp.referral", basis: ["\(Self.s0) §7", "\(Self.s0) §13"],
            explanation: "Referred to \(prime.id); attachment due within \(wp.attachmentWorkingDays) working days, by \(deadline)",
            fields: ["deadline": .date(deadline)])
        return (decision, [Address(prime.id, .contact)])
    }

    /// `wp.info-session.referral`: opens a WP case of kind info-session (S1 §2, Annex A).
    func wpInformationSessionReferral(_ s: inout Submission, _ referral: WPInformationSessionReferral) throws
        -> (Decision, [Address])
    {
        let prime = try referralTarget(s, kind: .prime)
        try checkReferringJobcentre(s)
        let wp = rules.workProgramme
        let group = referral.esaGroup
        let mandatory = referral.mandatory
        let mandatable = wp.mandatableGroups.contains(group)
        if mandatory, !mandatable {
            throw Refusal(.cannotMandate, "ESA group \(group) may not be mandated to an information session (S1 Annex A)")
        }
        let referralDate = referral.referralDate
        try refuseIfOnProgramme(s, referralDate: referralDate)
        s.person.jobcentre = s.sender.id
        replaceWorkProgrammeCase(&s.person, on: referralDate)
        let deadline = referralDate.adding(days: wp.informationSessionDays)
        s.person.workProgramme = WorkProgrammeCase(
            id: s.envelope.id, prime: prime.id, kind: .informationSession, referralDate: referralDate,
            benefit: wp.informationSessionBenefit, participationMandatory: mandatable, sessionMandatory: mandatory,
            esaGroup: group, attachmentDeadline: nil, wp11FollowUpDate: nil, attachedOn: nil,
            pendingExitReport: nil, ended: nil)
        try setTimer(
            .informationSession, on: &s.person, caseID: s.envelope.id, regarding: s.envelope.id,
            .calendarDay(deadline), field: "body.referralDate")
        try setTimer(
            .didNotStart, on: &s.person, caseID: s.envelope.id, regarding: s.envelope.id,
            .calendarDay(referralDate.adding(days: wp.didNotStartDays)), field: "body.referralDate")
        let participation = mandatable ? "mandatory" : "voluntary"
        let decision = Decision(
            outcome: "referred", rule: "wp.info-session.referral", basis: ["\(Self.s1) §2", "\(Self.s1) Annex A"],
            explanation: "Information session due within \(wp.informationSessionDays) days, by \(deadline); "
                + "group \(group) participates \(participation)ly",
            fields: ["deadline": .date(deadline), "wpParticipation": .string(participation)])
        return (decision, [Address(prime.id, .contact)])
    }

    /// S0 §13: no new referral while an open WP case is younger than the programme's length.
    private func refuseIfOnProgramme(_ s: Submission, referralDate: LocalDate) throws {
        guard let existing = s.person.workProgramme, existing.isOpen else { return }
        let ends = existing.referralDate.adding(weeks: rules.workProgramme.programmeWeeks)
        if referralDate < ends {
            throw Refusal(
                .alreadyOnProgramme,
                "an open Work Programme case referred on \(existing.referralDate) runs "
                    + "\(rules.workProgramme.programmeWeeks) weeks, to \(ends)")
        }
    }

    /// A new referral supersedes an open case past its programme length; its timers end, but for the chase of
    /// an exit report still awaited, which goes on beside the new case (`earlierWorkProgrammes`).
    private func replaceWorkProgrammeCase(_ person: inout PersonRecord, on date: LocalDate) {
        guard var old = person.workProgramme else { return }
        if old.isOpen {
            old.ended = CaseEnding(reason: .superseded, date: date)
            person.workProgramme = old
        }
        // An exit report still awaited is still owed (S3: only the report ends its chase): the old case is
        // kept beside the new one, with its reminder and escalation, and its prime may still send the report.
        if old.pendingExitReport != nil {
            person.endTimers(ofCase: old.id, kinds: Set(CaseTimer.Kind.allCases).subtracting([.exitReport, .escalation]))
            person.earlierWorkProgrammes = (person.earlierWorkProgrammes ?? []) + [old]
        } else {
            person.endTimers(ofCase: old.id)
        }
    }

    /// Every WP type that needs an existing case.
    func workProgrammeRule(_ s: inout Submission, _ wpCase: WorkProgrammeCase) throws -> (Decision, [Address]) {
        var wpCase = wpCase
        let jobcentre = jobcentre(of: s)
        let workCoach = Address(jobcentre, .workCoach)
        let prime = Address(wpCase.prime, .contact)
        defer { s.person.update(wpCase) }
        let wp = rules.workProgramme

        switch s.envelope.message {
        case .wpAttachment(let attachment):
            let date = attachment.attachmentDate
            if wpCase.kind == .informationSession, wpCase.wp11FollowUpDate == nil {
                throw Refusal(
                    .attachmentWithoutWP11,
                    "an information-session referral cannot be attached without a WP11 (S1 §11, §14)")
            }
            wpCase.attachedOn = date
            s.person.endTimers(ofCase: wpCase.id, kinds: [.attachment, .attachmentAfterWP11])
            let deadline = wpCase.attachmentDeadline
            let onTime = deadline.map { date <= $0 } ?? true
            let explanation = deadline.map { "Attached on \(date); due by \($0)" } ?? "Attached on \(date)"
            return (
                Decision(
                    outcome: "attached", rule: "wp.attachment", basis: ["\(Self.s0) §7", "\(Self.s1) §12"],
                    explanation: explanation, fields: ["onTime": .bool(onTime)]),
                [workCoach]
            )

        case .wpInfoSessionAttended(let outcome), .wpInfoSessionDNA(let outcome):
            guard wpCase.kind == .informationSession else {
                throw Refusal(.unknownCase, "no open information-session case for this NINO")
            }
            s.person.endTimers(ofCase: wpCase.id, kinds: [.informationSession])
            let session = outcome.sessionDate
            if s.type == .wpInfoSessionAttended {
                return (
                    Decision(
                        outcome: "recorded", rule: "wp.info-session.attended", basis: ["\(Self.s1) §2"],
                        explanation: "Attended the information session on \(session)"),
                    [workCoach]
                )
            }
            if wpCase.sessionMandatory {
                return (
                    Decision(
                        outcome: "sanction-referral-possible", rule: "wp.info-session.dna.mandatory",
                        basis: ["\(Self.s1) Mandatory participant does not attend"],
                        explanation: "Mandatory participant did not attend the session on \(session)"),
                    [workCoach]
                )
            }
            return (
                Decision(
                    outcome: "not-required", rule: "wp.info-session.dna.voluntary", basis: ["\(Self.s1) §6"],
                    explanation: "Voluntary participant did not attend on \(session); no Jobcentre action is required"),
                []
            )

        case .wpWP11(let wp11):
            guard wpCase.kind == .informationSession else {
                throw Refusal(.unknownCase, "no open information-session case for this NINO")
            }
            let followUp = wp11.followUpDate
            let latest = wpCase.referralDate.adding(days: wp.wp11FollowUpDays)
            if followUp > latest {
                throw Refusal(
                    .newReferralRequired,
                    "follow-up date \(followUp) is later than \(wp.wp11FollowUpDays) days after the referral (\(latest))")
            }
            let deadline = wpCase.referralDate.adding(days: wp.attachmentAfterWP11Days)
            wpCase.wp11FollowUpDate = followUp
            wpCase.attachmentDeadline = deadline
            s.person.endTimers(ofCase: wpCase.id, kinds: [.informationSession, .didNotStart])
            try setTimer(
                .attachmentAfterWP11, on: &s.person, caseID: wpCase.id, regarding: s.envelope.id,
                .calendarDay(deadline), field: "body.followUpDate")
            return (
                Decision(
                    outcome: "volunteered", rule: "wp.wp11", basis: ["\(Self.s1) §12"],
                    explanation: "WP11 with follow-up on \(followUp); attachment due by \(deadline)",
                    fields: ["deadline": .date(deadline)]),
                [prime]
            )

        case .wpComplianceDoubt(let doubt):
            if !wpCase.participationMandatory {
                throw Refusal(
                    .voluntaryParticipant, "participation is voluntary: no compliance doubt can be raised (S1 §17–18)")
            }
            return (
                Decision(
                    outcome: "referred-to-dma", rule: "wp.compliance-doubt", basis: ["\(Self.s0) §21"],
                    explanation: "Compliance doubt for failure on \(doubt.failureDate) referred to the decision maker"),
                [Address(jobcentre, .dma)]
            )

        case .wpReengagement(let reengagement):
            return (
                Decision(
                    outcome: "recorded", rule: "wp.reengagement", basis: ["\(Self.s0) key responsibilities"],
                    explanation: "Re-engagement on \(reengagement.date) recorded for the decision maker"),
                [Address(jobcentre, .dma)]
            )

        case .wpTrainingAllowance(let training):
            if wpCase.benefit != wp.trainingAllowanceBenefit {
                throw Refusal(.notJSA, "training allowance applies to \(wp.trainingAllowanceBenefit) only; the case is on \(wpCase.benefit) (S0 §21)")
            }
            return (
                Decision(
                    outcome: "recorded", rule: "wp.training-allowance", basis: ["\(Self.s0) §21"],
                    explanation: "Training from \(training.courseStart) recorded"),
                [workCoach]
            )

        case .wpChangeOfCircumstances(let change):
            let target = s.sender.kind == .jobcentre ? prime : workCoach
            return (
                Decision(
                    outcome: "notified", rule: "wp.change-of-circumstances", basis: ["\(Self.s0) §21"],
                    explanation: "Change effective \(change.effectiveDate) passed to \(target)"),
                [target]
            )

        case .wpExitReportRequest(let request):
            let requestDate = request.requestDate ?? s.receiptDate
            let deadline = try context.workingDays(
                wp.exitReportWorkingDays, after: requestDate, jobcentre: jobcentre, field: "body.requestDate")
            wpCase.pendingExitReport = PendingRequest(requestID: s.envelope.id, deadline: deadline)
            s.person.endTimers(ofCase: wpCase.id, kinds: [.endOfProgramme, .exitReport, .escalation])
            try setTimer(
                .exitReport, on: &s.person, caseID: wpCase.id, regarding: s.envelope.id, .workingDay(deadline),
                field: "body.requestDate")
            return (
                Decision(
                    outcome: "requested", rule: "wp.exit-report.request", basis: [Self.s3],
                    explanation: "Exit report requested on \(requestDate); due within \(wp.exitReportWorkingDays) working days, by \(deadline)",
                    fields: ["deadline": .date(deadline)]),
                [prime]
            )

        case .wpExitReport:
            var onTime = true
            var explanation = "Exit report received"
            if let pending = wpCase.pendingExitReport {
                onTime = s.receiptDate <= pending.deadline
                explanation += onTime ? " within its deadline \(pending.deadline)" : " after its deadline \(pending.deadline)"
            }
            wpCase.pendingExitReport = nil
            s.person.endTimers(ofCase: wpCase.id, kinds: [.endOfProgramme, .exitReport, .escalation])
            return (
                Decision(
                    outcome: "received", rule: "wp.exit-report", basis: [Self.s3], explanation: explanation,
                    fields: ["onTime": .bool(onTime)]),
                [workCoach]
            )

        case .wpInappropriateReferral(let inappropriate):
            let reason = inappropriate.reason.rawValue
            if s.sender.kind == .jobcentre {
                wpCase.ended = CaseEnding(reason: .withdrawn, date: s.receiptDate)
                s.person.endTimers(ofCase: wpCase.id)
                return (
                    Decision(
                        outcome: "referral-withdrawn", rule: "wp.inappropriate-referral.jobcentre", basis: ["\(Self.s0) §21"],
                        explanation: "Referral withdrawn by the Jobcentre (\(reason)); the case is closed"),
                    [prime]
                )
            }
            return (
                Decision(
                    outcome: "referred-to-spoc", rule: "wp.inappropriate-referral.provider", basis: ["\(Self.s0) §21"],
                    explanation: "Provider reports an inappropriate referral (\(reason)) to the Jobcentre SPOC"),
                [Address(jobcentre, .spoc)]
            )

        default:
            throw Refusal(.unknownType, "\(s.type.rawValue) is not a Work Programme message")
        }
    }
}
