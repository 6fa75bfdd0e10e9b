/// Community Work Placements rules (CATALOGUE.md "Community Work Placements"; S2).
extension CaseRules {
    private static let s2 = "HtW guidance"

    /// `cwp.referral`: opens (or, after a DNA/DNS, re-opens) a CWP case (S2 §33, §36, §71, §75, §81, §88–90, §123).
    func cwpReferral(_ s: inout Submission, _ referral: CWPReferral) throws -> (Decision, [Address]) {
        let provider = try referralTarget(s, kind: .cwp)
        try checkReferringJobcentre(s)
        let cwp = rules.communityWorkPlacements
        let existing = s.person.placement
        if let existing, existing.isOpen(on: s.receiptDate) {
            throw Refusal(.alreadyReferred, "the claimant already has an open CWP case, referred on \(existing.referralDate)")
        }
        if let existing, existing.barred {
            throw Refusal(.cwpRereferralBarred, "the claimant may not be referred to CWP again (S2 §36, §123)")
        }
        let referralDate = referral.referralDate
        // The case re-referred after a Did Not Attend or Did Not Start, when this is a re-referral.
        var earlier: PlacementCase?
        if referral.rereferral {
            guard let existing, existing.hadDidNotAttendOrStart else {
                throw Refusal(.rereferralNotAllowed, "a re-referral needs an earlier Did Not Attend or Did Not Start on this case (S2 §88–90)")
            }
            earlier = existing
        }
        // S2 §89: on a re-referral the original referral date decides the 8-week window.
        let originalReferralDate = earlier?.originalReferralDate ?? referralDate
        let wpciDate = earlier?.wpciDate ?? referral.wpciDate
        let windowCloses = wpciDate.adding(weeks: cwp.assessmentWindowWeeks)
        if originalReferralDate > windowCloses {
            throw Refusal(
                .assessmentWindowClosed,
                "the original referral date \(originalReferralDate) is more than \(cwp.assessmentWindowWeeks) weeks "
                    + "after the WPCI on \(wpciDate) (window closed \(windowCloses))")
        }
        let expectedEnd = referralDate.adding(weeks: cwp.placementWeeks)
        for (field, date) in referral.datesBeforeCompletion {
            if date < expectedEnd {
                throw Refusal(
                    .cannotComplete, "\(field) \(date) is before the placement's expected end \(expectedEnd) (S2 §71)",
                    errors: [FieldProblem(field: "body.\(field)", problem: "is before the expected end \(expectedEnd)")])
            }
        }
        var hours = cwp.placementHours
        var hoursExplanation = "\(hours) hours a week"
        if let available = referral.hoursAvailable {
            hours = max(0, min(cwp.placementHours, available - cwp.jobSearchHours))
            hoursExplanation = "\(hours) hours a week (\(available) available less \(cwp.jobSearchHours) for job search)"
        }
        s.person.jobcentre = s.sender.id
        if let existing { s.person.endTimers(ofCase: existing.id) }
        s.person.placement = PlacementCase(
            id: s.envelope.id, provider: provider.id, originalReferralDate: originalReferralDate,
            referralDate: referralDate, wpciDate: wpciDate, expectedEndDate: expectedEnd, startedOn: nil,
            hadDidNotAttendOrStart: false, barred: false, completion: nil, pendingFeedback: nil, ended: nil)
        let decision = Decision(
            outcome: "referred", rule: referral.rereferral ? "cwp.rereferral" : "cwp.referral",
            basis: ["\(Self.s2) §33", "\(Self.s2) §36", "\(Self.s2) §75", "\(Self.s2) §81"],
            explanation: "Referred to \(provider.id) within \(cwp.assessmentWindowWeeks) weeks of the WPCI on \(wpciDate); "
                + "\(cwp.placementWeeks) weeks to \(expectedEnd), \(hoursExplanation)",
            fields: ["expectedEndDate": .date(expectedEnd), "placementHours": .int(hours)])
        return (decision, [Address(provider.id, .spoc)])
    }

    /// Every CWP type that needs an existing case.
    func placementRule(_ s: inout Submission, _ placement: PlacementCase) throws -> (Decision, [Address]) {
        var placement = placement
        defer { s.person.placement = placement }
        let jobcentre = jobcentre(of: s)
        let provider = Address(placement.provider, .spoc)
        let workCoach = Address(jobcentre, .workCoach)

        switch s.envelope.message {
        case .cwpStart(let started):
            let start = started.startDate
            if start < placement.referralDate {
                throw Refusal(.beforeReferral, "start date \(start) is before the referral on \(placement.referralDate)")
            }
            placement.startedOn = start
            return (
                Decision(
                    outcome: "started", rule: "cwp.start", basis: ["\(Self.s2) §36"],
                    explanation: "Placement started on \(start)"),
                [workCoach]
            )

        case .cwpAbsence(let absence):
            return try self.absence(absence, &s, &placement)

        case .cwpAbsenceAdvice(let advice):
            return try absenceAdvice(advice, &s, placement)

        case .cwpDMAReferral(let referral):
            let failure = referral.failure
            let failureDate = referral.failureDate
            if failureDate < placement.referralDate {
                throw Refusal(.beforeReferral, "failure date \(failureDate) is before the referral on \(placement.referralDate)")
            }
            if !placement.wasOpen(on: failureDate) {
                throw Refusal(
                    .caseEnded,
                    "the case had ended by the failure on \(failureDate) (it ended \(placement.ended.map(String.init(describing:)) ?? "")): "
                        + "no nugatory DMA action (S2 §116)")
            }
            let (weeks, sanctionExplanation) = recordFailure(&s, failure: failure.rawValue, date: failureDate)
            if failure.endsTheCase {
                placement.hadDidNotAttendOrStart = true
                if placement.isOpen(on: s.receiptDate) {
                    placement.ended = CaseEnding(reason: .didNotAttendOrStart, date: failureDate)
                    s.person.endTimers(ofCase: placement.id)
                }
                return (
                    Decision(
                        outcome: "rereferral-required", advice: "re-refer-unless-significant-change",
                        rule: "cwp.dma-referral.did-not-attend-or-start",
                        basis: ["\(Self.s2) §88-90", "\(Self.s2) §92"],
                        explanation: "\(failure.rawValue) on \(failureDate): the case ends and may be re-referred; \(sanctionExplanation)",
                        fields: ["indicativeSanctionWeeks": .int(weeks)]),
                    [Address(jobcentre, .dma), workCoach]
                )
            }
            return (
                Decision(
                    outcome: "referred-to-dma", rule: "cwp.dma-referral.\(failure.rawValue)",
                    basis: failure == .refusedEmployment ? ["\(Self.s2) §95"] : ["\(Self.s2) §92"],
                    explanation: "\(failure.rawValue) on \(failureDate) referred to the decision maker; \(sanctionExplanation)",
                    fields: ["indicativeSanctionWeeks": .int(weeks)]),
                [Address(jobcentre, .dma)]
            )

        case .cwpChangeOfCircumstances(let circumstances):
            let change = circumstances.change
            let effective = circumstances.effectiveDate
            if change == .noLongerOnJSA {
                placement.ended = CaseEnding(reason: .noLongerOnJSA, date: effective)
                // Timers end with the case: now if it has ended, else each one that falls due after the
                // effective date is dropped when it comes (a timer only fires for an open case).
                if effective <= s.receiptDate { s.person.endTimers(ofCase: placement.id) }
                return (
                    Decision(
                        outcome: "end-provision", advice: "update-prap-end-provision", rule: "cwp.change.no-longer-on-jsa",
                        basis: ["\(Self.s2) §118"],
                        explanation: "No longer on JSA from \(effective): provision ends"),
                    [provider]
                )
            }
            return (
                Decision(
                    outcome: "notified", rule: "cwp.change.\(change.rawValue)", basis: ["\(Self.s2) §116-117"],
                    explanation: "Change (\(change.rawValue)) effective \(effective) passed to the provider"),
                [provider]
            )

        case .cwpClaimTransfer(let transfer):
            return try claimTransfer(transfer, &s, &placement)

        case .cwpUnacceptableBehaviour(let behaviour):
            let incident = behaviour.incidentDate
            if s.sender.kind == .jobcentre {
                return (
                    Decision(
                        outcome: "notified", rule: "cwp.unacceptable-behaviour.jobcentre", basis: ["\(Self.s2) §124-125"],
                        explanation: "Unacceptable behaviour on \(incident) notified to the provider"),
                    [provider]
                )
            }
            return (
                Decision(
                    outcome: "referred-to-nominated-manager", rule: "cwp.unacceptable-behaviour.provider",
                    basis: ["\(Self.s2) §126"],
                    explanation: "Unacceptable behaviour on \(incident) referred to the nominated manager"),
                [Address(jobcentre, .nominatedManager)]
            )

        case .cwpInappropriateReferral:
            if s.sender.kind == .jobcentre {
                placement.ended = CaseEnding(reason: .withdrawn, date: s.receiptDate)
                s.person.endTimers(ofCase: placement.id)
                return (
                    Decision(
                        outcome: "referral-withdrawn", rule: "cwp.inappropriate-referral.jobcentre",
                        basis: ["\(Self.s2) §127", "\(Self.s2) §129"],
                        explanation: "Referral withdrawn by the Jobcentre; the case ends"),
                    [provider]
                )
            }
            return (
                Decision(
                    outcome: "referred-to-spoc", rule: "cwp.inappropriate-referral.provider", basis: ["\(Self.s2) §128"],
                    explanation: "Provider reports an inappropriate referral to the Jobcentre SPOC"),
                [Address(jobcentre, .spoc)]
            )

        case .cwpReengagement(let reengagement):
            let reclaim = reengagement.reclaimDate
            guard placement.startedOn != nil else {
                throw Refusal(.newReferralRequired, "the claimant never started the placement: a new referral is required (S2 §158)")
            }
            if placement.barred {
                throw Refusal(.caseEnded, "the placement ended \(placement.ended.map(String.init(describing:)) ?? "") and may not be resumed")
            }
            // The allotted time runs from the original referral, even after a re-referral (S2 §115, §159).
            let weeks = rules.communityWorkPlacements.placementWeeks
            let allottedEnd = placement.originalReferralDate.adding(weeks: weeks)
            if reclaim > allottedEnd {
                throw Refusal(
                    .allottedTimeExpired,
                    "reclaim on \(reclaim) is after the allotted time ended on \(allottedEnd), \(weeks) weeks from the original "
                        + "referral on \(placement.originalReferralDate) (S2 §159)")
            }
            placement.ended = nil
            placement.expectedEndDate = allottedEnd
            return (
                Decision(
                    outcome: "signposted-back", rule: "cwp.reengagement", basis: ["\(Self.s2) §115", "\(Self.s2) §159"],
                    explanation: "Reclaim on \(reclaim): back to the provider for the balance of the allotted time, to \(placement.expectedEndDate)",
                    fields: ["expectedEndDate": .date(placement.expectedEndDate)]),
                [provider]
            )

        case .cwpCompletion(let completed):
            let completion = completed.completionDate
            let onBenefit = completed.onBenefit
            placement.ended = CaseEnding(reason: .completed, date: completion)
            placement.barred = true
            placement.completion = PlacementCase.Completion(date: completion, onBenefit: onBenefit)
            s.person.endTimers(ofCase: placement.id)
            var fields: [String: JSONValue] = [:]
            var explanation = "Placement completed on \(completion)"
            if onBenefit {
                let days = rules.communityWorkPlacements.feedbackReportWorkingDays
                let deadline = try context.workingDays(days, after: completion, jobcentre: jobcentre, field: "body.completionDate")
                placement.pendingFeedback = PendingRequest(requestID: s.envelope.id, deadline: deadline)
                try setTimer(
                    .feedbackReport, on: &s.person, caseID: placement.id, regarding: s.envelope.id,
                    .workingDay(deadline), field: "body.completionDate")
                fields["deadline"] = .date(deadline)
                explanation += "; feedback report due within \(days) working days, by \(deadline)"
            }
            return (
                Decision(
                    outcome: "completed", rule: "cwp.completion", basis: ["\(Self.s2) §36", "\(Self.s2) §133"],
                    explanation: explanation, fields: fields),
                [workCoach]
            )

        case .cwpFeedbackReport:
            guard placement.completion != nil else {
                throw Refusal(.unknownCase, "no completed CWP case for this NINO")
            }
            var onTime = true
            var explanation = "Feedback report received"
            if let pending = placement.pendingFeedback {
                onTime = s.receiptDate <= pending.deadline
                explanation += onTime ? " by its deadline \(pending.deadline)" : " after its deadline \(pending.deadline)"
            }
            placement.pendingFeedback = nil
            s.person.endTimers(ofCase: placement.id, kinds: [.feedbackReport])
            return (
                Decision(
                    outcome: "received", rule: "cwp.feedback-report", basis: ["\(Self.s2) §133"],
                    explanation: explanation, fields: ["onTime": .bool(onTime)]),
                [workCoach]
            )

        case .cwpFeedbackReportRequest(let request):
            let reclaim = request.reclaimDate
            let months = rules.communityWorkPlacements.feedbackRequestMonths
            guard let completion = placement.completion, !completion.onBenefit else {
                throw Refusal(.requestWindowClosed, "a feedback report can be requested only after a completion off benefit (S2 §135)")
            }
            let windowEnds = completion.date.adding(months: months)
            if reclaim < completion.date || reclaim > windowEnds {
                throw Refusal(
                    .requestWindowClosed,
                    "reclaim on \(reclaim) is not within \(months) months of completion on \(completion.date) (to \(windowEnds)) (S2 §135)")
            }
            let days = rules.communityWorkPlacements.feedbackReportWorkingDays
            let deadline = try context.workingDays(days, after: s.receiptDate, jobcentre: jobcentre, field: "body.reclaimDate")
            placement.pendingFeedback = PendingRequest(requestID: s.envelope.id, deadline: deadline)
            try setTimer(
                .feedbackReport, on: &s.person, caseID: placement.id, regarding: s.envelope.id, .workingDay(deadline),
                field: "body.reclaimDate")
            return (
                Decision(
                    outcome: "requested", rule: "cwp.feedback-report.request", basis: ["\(Self.s2) §135"],
                    explanation: "Reclaim on \(reclaim), within \(months) months of completion on \(completion.date); "
                        + "report due by \(deadline)",
                    fields: ["deadline": .date(deadline)]),
                [provider]
            )

        default:
            throw Refusal(.unknownType, "\(s.type.rawValue) is not a CWP message")
        }
    }

    /// `cwp.absence`: unreported goes to the decision maker only (S2 §114); reported takes the
    /// treated-as-available test (S2 §100–113).
    private func absence(_ notice: CWPAbsence, _ s: inout Submission, _ placement: inout PlacementCase) throws
        -> (Decision, [Address])
    {
        let jobcentre = jobcentre(of: s)
        let (from, to, reason, evidence) = (notice.from, notice.to, notice.reason, notice.evidence.rawValue)
        if from < placement.referralDate {
            throw Refusal(.beforeReferral, "absence from \(from) is before the referral on \(placement.referralDate)")
        }
        if let clash = s.person.absences.first(where: { $0.overlaps(from: from, to: to) }) {
            throw Refusal(.overlappingAbsence, "overlaps the absence \(clash.from) to \(clash.to) already notified")
        }
        var adviceDue: LocalDate?
        var record = Absence(
            id: s.envelope.id, caseID: placement.id, reason: reason, from: from, to: to, evidence: evidence,
            state: .unreported, sicknessPeriod: nil)

        guard notice.reported else {
            s.person.absences.append(record)
            let (weeks, sanctionExplanation) = recordFailure(&s, failure: "fail-to-participate", date: from)
            return (
                Decision(
                    outcome: "referred-to-dma", rule: "cwp.absence.unreported", basis: ["\(Self.s2) §114", "\(Self.s2) §92"],
                    explanation: "Unreported absence from \(from) referred to the decision maker as a failure to participate; "
                        + sanctionExplanation,
                    fields: ["indicativeSanctionWeeks": .int(weeks)]),
                [Address(jobcentre, .dma)]
            )
        }

        let granted = s.person.absences.filter { $0.state == .granted }
        let judgement = TreatedAsAvailable(limits: rules.absences).judge(
            reason: reason, from: from, to: to, evidence: evidence, granted: granted)
        record.sicknessPeriod = judgement.sicknessPeriod
        switch judgement.outcome {
        case .treatAsAvailable: record.state = .granted
        case .notAvailable: record.state = .notAvailable
        case .referredToSPOC:
            record.state = .awaitingSPOC
            record.referredTo = jobcentre
            let deadline = try context.workingDays(
                rules.communityWorkPlacements.spocAdviceWorkingDays, after: s.receiptDate, jobcentre: jobcentre,
                field: "body.from")
            try setTimer(
                .spocAdvice, on: &s.person, caseID: placement.id, regarding: s.envelope.id, .workingDay(deadline),
                field: "body.from", absenceID: s.envelope.id)
            adviceDue = deadline
        }
        s.person.absences.append(record)
        var decision = absenceDecision(
            judgement.outcome, reason: reason, rule: judgement.rule, basis: judgement.basis, explanation: judgement.explanation)
        // S2 §65: the SPOC answers by the next working day; the provider and the SPOC see by when.
        if let adviceDue {
            decision.fields["adviceDueBy"] = .date(adviceDue)
            decision.explanation += "; the SPOC's advice is due by \(adviceDue)"
        }
        return (
            decision,
            [Address(jobcentre, .spoc)]
        )
    }

    /// `cwp.absence.advice`: the SPOC's answer to an absence referred to it (S2 §65).
    private func absenceAdvice(_ advice: CWPAbsenceAdvice, _ s: inout Submission, _ placement: PlacementCase) throws
        -> (Decision, [Address])
    {
        let inReplyTo = advice.inReplyTo
        guard
            let index = s.person.absences.firstIndex(where: {
                $0.id.lowercased() == inReplyTo && $0.caseID == placement.id && $0.state == .awaitingSPOC
            })
        else {
            throw Refusal(.nothingToAnswer, "no absence of this case is waiting for the SPOC under id \(inReplyTo)")
        }
        let treat = advice.treatAsAvailable
        s.person.absences[index].state = treat ? .granted : .notAvailable
        let absence = s.person.absences[index]
        s.person.timers.removeAll { $0.kind == .spocAdvice && $0.absenceID == absence.id }
        let outcome: TreatedAsAvailable.Outcome = treat ? .treatAsAvailable : .notAvailable
        return (
            absenceDecision(
                outcome, reason: absence.reason, rule: "cwp.absence.advice", basis: ["\(Self.s2) §65"],
                explanation: "The SPOC advises the absence from \(absence.from) to \(absence.to) "
                    + (treat ? "is treated as available" : "is not treated as available")),
            [Address(placement.provider, .spoc)]
        )
    }

    /// The decision for a decided absence: advice and actions per outcome (S2 §100, §102, §107–108, §111–112).
    private func absenceDecision(
        _ outcome: TreatedAsAvailable.Outcome, reason: String, rule: String, basis: [String], explanation: String
    ) -> Decision {
        switch outcome {
        case .treatAsAvailable:
            let sickness = rules.absences.reasons[reason] == .sickness
            return Decision(
                outcome: outcome.rawValue, advice: "do-not-raise-participation-doubt",
                actions: sickness ? ["ES673", "JSA28"] : ["ES673"], rule: rule, basis: basis, explanation: explanation)
        case .notAvailable:
            return Decision(
                outcome: outcome.rawValue, advice: "instigate-dma-non-participation", actions: ["refer-availability-doubt"],
                rule: rule, basis: basis, explanation: explanation)
        case .referredToSPOC:
            return Decision(
                outcome: outcome.rawValue, advice: "await-spoc-advice", actions: [], rule: rule, basis: basis,
                explanation: explanation)
        }
    }

    /// `cwp.claim-transfer` (S2 §119–123): the case moves to the new jobcentre whatever else happens.
    private func claimTransfer(_ transfer: CWPClaimTransfer, _ s: inout Submission, _ placement: inout PlacementCase) throws
        -> (Decision, [Address])
    {
        let newJobcentre = transfer.newJobcentre
        guard let party = context.directory[newJobcentre], party.kind == .jobcentre else {
            throw Refusal.invalid("body.newJobcentre", "must name a jobcentre party")
        }
        let transferDate = transfer.transferDate
        let routes = [Address(placement.provider, .spoc), Address(party.id, .workCoach)]
        s.person.jobcentre = party.id
        let decision: Decision
        if placement.startedOn == nil {
            placement.ended = CaseEnding(reason: .transferred, date: transferDate)
            placement.hadDidNotAttendOrStart = true
            s.person.endTimers(ofCase: placement.id)
            decision = Decision(
                outcome: "record-did-not-start", advice: "update-prap-did-not-start", rule: "cwp.claim-transfer.not-started",
                basis: ["\(Self.s2) §119"],
                explanation: "Transferred to \(party.id) on \(transferDate) before starting: record Did Not Start")
        } else if transfer.withinTravelDistance {
            decision = Decision(
                outcome: "continue-placement", rule: "cwp.claim-transfer.within-travel", basis: ["\(Self.s2) §122"],
                explanation: "Transferred to \(party.id) on \(transferDate), within travel distance: the placement continues")
        } else if transfer.withinCpa || transfer.providerCanDeliver {
            decision = Decision(
                outcome: "source-new-placement", rule: "cwp.claim-transfer.new-placement", basis: ["\(Self.s2) §120-121"],
                explanation: "Transferred to \(party.id) on \(transferDate), beyond travel distance: the provider sources a new placement")
        } else {
            placement.ended = CaseEnding(reason: .transferred, date: transferDate)
            placement.barred = true
            s.person.endTimers(ofCase: placement.id)
            decision = Decision(
                outcome: "end-provision", advice: "update-prap-end-provision", rule: "cwp.claim-transfer.end-provision",
                basis: ["\(Self.s2) §123"],
                explanation: "Transferred to \(party.id) on \(transferDate), outside the CPA and the provider cannot deliver: "
                    + "provision ends and the claimant may not be referred again")
        }
        return (decision, routes)
    }

    /// Records a failure for sanctions and returns its indicative length.
    private func recordFailure(_ s: inout Submission, failure: String, date: LocalDate) -> (Int, String) {
        let level = IndicativeSanction.level(of: failure)
        let (weeks, explanation) = IndicativeSanction(limits: rules.sanctions).weeks(
            level: level, failureDate: date, earlier: s.person.failures)
        s.person.failures.append(
            SanctionableFailure(messageID: s.envelope.id, level: level, failureDate: date, weeks: weeks))
        return (weeks, "indicative sanction: \(explanation)")
    }
}
