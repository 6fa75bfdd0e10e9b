import Foundation

/// Firing timers (CATALOGUE.md "Timers"). A timer fires once: it leaves the record in the same change that
/// stores what it emits, and it never fires for a case that has ended or moved on.
extension CaseRules {
    /// Fires every timer of `person` due at or before `now`, earliest first, including timers that firing
    /// sets and that are already due.
    /// - Returns: the messages emitted, one per address.
    public func fireDueTimers(_ person: inout PersonRecord, at now: Date) -> [GeneratedMessage] {
        var emitted: [GeneratedMessage] = []
        while let index = person.timers.indices
            .filter({ person.timers[$0].blocked == nil && person.timers[$0].fireAt <= now })
            .min(by: { person.timers[$0].fireAt < person.timers[$1].fireAt })
        {
            var timer = person.timers.remove(at: index)
            guard isLive(timer, in: person, at: now) else { continue }
            // Fired on a copy, kept only whole: a timer that cannot fire (a working day past the bank-holiday
            // data) leaves the record as it was, not with half of what firing would change (a request on
            // record that was never sent, say).
            var fired = person
            do {
                emitted += try fire(timer, &fired, at: now)
                person = fired
            } catch {
                timer.blocked = (error as? Refusal).map { $0.cause ?? $0.detail } ?? "\(error)"
                person.timers.append(timer)
            }
        }
        return emitted
    }

    /// Whether the timer's case is still the one it was set for, in the state it waits on.
    private func isLive(_ timer: CaseTimer, in person: PersonRecord, at now: Date) -> Bool {
        switch timer.kind {
        case .attachment, .attachmentAfterWP11:
            guard let wp = person.workProgramme, wp.id == timer.caseID else { return false }
            return wp.isOpen && wp.attachedOn == nil
        case .informationSession, .endOfProgramme:
            guard let wp = person.workProgramme, wp.id == timer.caseID else { return false }
            return wp.isOpen
        case .didNotStart:
            guard let wp = person.workProgramme, wp.id == timer.caseID else { return false }
            return wp.isOpen && wp.wp11FollowUpDate == nil
        case .exitReport, .escalation:
            // The chase of a case superseded before its exit report came goes on (`earlierWorkProgrammes`).
            guard let wp = person.workProgrammeCase(id: timer.caseID) else { return false }
            return wp.pendingExitReport?.requestID == timer.regarding
        case .spocAdvice:
            // Open on the day the advice fell overdue, however late the firing runs (after a restart, say).
            guard let placement = person.placement, placement.id == timer.caseID, placement.isOpen(on: timer.fireDate)
            else { return false }
            return person.absences.contains { $0.id == timer.absenceID && $0.state == .awaitingSPOC }
        case .feedbackReport:
            guard let placement = person.placement, placement.id == timer.caseID else { return false }
            return placement.pendingFeedback?.requestID == timer.regarding
        }
    }

    private func fire(_ timer: CaseTimer, _ person: inout PersonRecord, at now: Date) throws -> [GeneratedMessage] {
        guard let jobcentre = person.jobcentre else { return [] }
        let wp = rules.workProgramme
        var body: [String: JSONValue] = ["regarding": .string(timer.regarding), "date": .date(timer.fireDate)]
        if let deadline = timer.deadline { body["deadline"] = .date(deadline) }
        func message(_ type: MessageType, to addresses: [Address], body: [String: JSONValue]) -> [GeneratedMessage] {
            addresses.map {
                GeneratedMessage(id: context.makeID(), type: type, to: $0, nino: person.nino, sentAt: now, body: body)
            }
        }

        // `isLive` found the timer's case; should the record disagree, the timer is blocked with why, not trapped.
        let caseMissing = Refusal(.unknownCase, "the timer's case is not in the claimant's record")
        func workProgrammeCase() throws -> WorkProgrammeCase {
            guard let wpCase = person.workProgrammeCase(id: timer.caseID) else { throw caseMissing }
            return wpCase
        }

        switch timer.kind {
        case .attachment, .attachmentAfterWP11:
            let prime = try workProgrammeCase().prime
            return message(.wpAttachmentOverdue, to: [Address(prime, .contact), Address(jobcentre, .workCoach)], body: body)

        case .informationSession:
            return message(.wpInfoSessionOverdue, to: [Address(try workProgrammeCase().prime, .contact)], body: body)

        case .didNotStart:
            // S1 §5, §13: no WP11 within 21 days: cancel as Did Not Start; the case closes.
            var wpCase = try workProgrammeCase()
            wpCase.ended = CaseEnding(reason: .didNotStart, date: timer.fireDate)
            person.workProgramme = wpCase
            person.endTimers(ofCase: wpCase.id)
            body["advice"] = .string("cancel-referral-did-not-start")
            return message(.wpInfoSessionCancel, to: [Address(wpCase.prime, .contact)], body: body)

        case .endOfProgramme:
            // S3: at the end of the programme Liaison asks for the exit report itself.
            var wpCase = try workProgrammeCase()
            let requestDate = timer.fireDate
            let deadline = try countWorkingDays(wp.exitReportWorkingDays, after: requestDate, jobcentre: jobcentre)
            let requestID = context.makeID()
            wpCase.pendingExitReport = PendingRequest(requestID: requestID, deadline: deadline)
            person.workProgramme = wpCase
            try setTimer(
                .exitReport, on: &person, caseID: wpCase.id, regarding: requestID, .workingDay(deadline),
                field: "body.requestDate")
            body["requestDate"] = .date(requestDate)
            body["benefit"] = .string(wpCase.benefit)
            body["deadline"] = .date(deadline)
            return [
                GeneratedMessage(
                    id: requestID, type: .wpExitReportRequest, to: Address(wpCase.prime, .contact), nino: person.nino,
                    sentAt: now, body: body)
            ]

        case .exitReport:
            let wpCase = try workProgrammeCase()
            let escalationDeadline = try countWorkingDays(
                wp.exitReportReminderWorkingDays, after: timer.fireDate, jobcentre: jobcentre)
            try setTimer(
                .escalation, on: &person, caseID: wpCase.id, regarding: timer.regarding, .workingDay(escalationDeadline),
                field: "body.deadline")
            body["deadline"] = .date(escalationDeadline)
            return message(.wpExitReportReminder, to: [Address(wpCase.prime, .contact)], body: body)

        case .escalation:
            return message(.wpExitReportEscalation, to: [Address(jobcentre, .performance)], body: body)

        case .spocAdvice:
            // The SPOC asked, and its manager, even when the claim has moved to another jobcentre since.
            let asked = person.absences.first { $0.id == timer.absenceID }?.referredTo ?? jobcentre
            return message(
                .cwpAbsenceAdviceOverdue, to: [Address(asked, .spoc), Address(asked, .nominatedManager)], body: body)

        case .feedbackReport:
            guard let placement = person.placement else { throw caseMissing }
            return message(.cwpFeedbackReportReminder, to: [Address(placement.provider, .spoc)], body: body)
        }
    }

    private func countWorkingDays(_ count: Int, after date: LocalDate, jobcentre: String) throws -> LocalDate {
        try context.calendar(ofJobcentre: jobcentre).adding(workingDays: count, to: date)
    }
}
