import LiaisonCore
import Testing

/// The nine timers of CATALOGUE.md: when each fires, what it emits, what ends it, and that none fires twice
/// or for a case that has ended.
@Suite struct TimerTests {
    /// A `wp.exit-report` body with every required field.
    private let exitReport: [String: JSONValue] = [
        "surname": .string("Smith"), "otherNames": .string("Alex"), "dateOfBirth": .string("1980-04-01"),
        "actionsAgreed": .string("a"), "furtherInformation": .string("b"), "nextSteps": .string("c"),
        "adviserName": .string("d"),
    ]

    private func types(_ messages: [GeneratedMessage]) -> [String] { messages.map { "\($0.type.rawValue) -> \($0.to)" }.sorted() }

    /// The overdue SPOC advice chase, as `types` lists it: to a jobcentre's SPOC and its nominated manager.
    private func spocChase(at jobcentre: String) -> [String] {
        ["cwp.absence.advice.overdue -> \(jobcentre)/nominated-manager", "cwp.absence.advice.overdue -> \(jobcentre)/spoc"]
    }

    @Test func attachmentOverdueGoesToTheProviderAndTheWorkCoach() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        #expect(harness.advance(to: "2024-12-23T23:59:00Z").isEmpty)
        let fired = harness.advance(to: "2024-12-24T00:00:00Z")
        #expect(types(fired) == ["wp.attachment.overdue -> jcp-leeds/work-coach", "wp.attachment.overdue -> prime-a/contact"])
        #expect(fired.allSatisfy { $0.body["date"] == .string("2024-12-24") && $0.body["deadline"] == .string("2024-12-23") })
        #expect(fired.allSatisfy { $0.nino?.value == "AB123456C" && $0.json["from"] == .string("liaison") })
        #expect(Set(fired.map(\.id)).count == 2)
        #expect(harness.advance(to: "2024-12-30T00:00:00Z").isEmpty)
    }

    @Test func anAttachmentEndsTheAttachmentTimer() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        harness.send("wp.attachment", as: "prime-a", at: "2024-12-23T17:00:00Z", body: ["attachmentDate": .string("2024-12-23")])
        #expect(harness.advance(to: "2025-01-31T00:00:00Z").isEmpty)
    }

    @Test func informationSessionOverdueAndDidNotStart() {
        let harness = Harness()
        harness.referToInformationSession(on: "2026-02-02", group: "esa-credits-only", mandatory: false)
        #expect(harness.advance(to: "2026-02-17T23:00:00Z").isEmpty)
        let overdue = harness.advance(to: "2026-02-18T00:00:00Z")
        #expect(types(overdue) == ["wp.info-session.overdue -> prime-a/contact"])
        let cancel = harness.advance(to: "2026-02-24T00:00:00Z")
        #expect(types(cancel) == ["wp.info-session.cancel -> prime-a/contact"])
        #expect(cancel[0].body["advice"] == .string("cancel-referral-did-not-start"))
        #expect(harness.person()?.workProgramme?.isOpen == false)
        #expect(harness.person()?.timers.isEmpty == true)
    }

    @Test func aWP11EndsTheSessionTimersAndSetsTheAttachmentAfterWP11() {
        let harness = Harness()
        harness.referToInformationSession(on: "2026-02-02")
        harness.send("wp.wp11", as: "jcp-leeds", at: "2026-02-05T09:00:00Z", body: ["followUpDate": .string("2026-02-09")])
        #expect(harness.advance(to: "2026-03-02T23:00:00Z").isEmpty)
        let fired = harness.advance(to: "2026-03-03T00:00:00Z")
        #expect(types(fired) == ["wp.attachment.overdue -> jcp-leeds/work-coach", "wp.attachment.overdue -> prime-a/contact"])
    }

    @Test func theEndOfProgrammeAsksForTheExitReportAndStartsTheChase() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        harness.send("wp.attachment", as: "prime-a", at: "2024-12-09T09:00:00Z", body: ["attachmentDate": .string("2024-12-09")])
        // referral + 714 days = 2026-11-16, at 00:00 UK time.
        #expect(harness.advance(to: "2026-11-15T23:59:00Z").isEmpty)
        let request = harness.advance(to: "2026-11-16T00:00:00Z")
        #expect(types(request) == ["wp.exit-report.request -> prime-a/contact"])
        #expect(request[0].body["requestDate"] == .string("2026-11-16"))
        #expect(request[0].body["deadline"] == .string("2026-11-30"))
        let reminder = harness.advance(to: "2026-12-01T00:00:00Z")
        #expect(types(reminder) == ["wp.exit-report.reminder -> prime-a/contact"])
        #expect(reminder[0].body["regarding"] == .string(request[0].id))
        // 2026-12-01 + 7 WD, past Christmas Day and Boxing Day (observed 28th): 2026-12-10.
        #expect(reminder[0].body["deadline"] == .string("2026-12-10"))
        let escalation = harness.advance(to: "2026-12-11T00:00:00Z")
        #expect(types(escalation) == ["wp.exit-report.escalation -> jcp-leeds/performance"])
        #expect(harness.advance(to: "2027-06-01T00:00:00Z").isEmpty)
    }

    /// A claimant referred on 1 January 2024 whose exit report is requested on 15 December 2025 (due the
    /// 31st) and chased on 2 January 2026, then referred again that day, to another prime.
    private func reReferredWhileTheExitReportIsAwaited() -> (Harness, request: GeneratedMessage?) {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-01-01")
        harness.send("wp.attachment", as: "prime-a", at: "2024-01-08T09:00:00Z", body: ["attachmentDate": .string("2024-01-08")])
        let request = harness.advance(to: "2025-12-15T00:00:00Z").first
        #expect(types(harness.advance(to: "2026-01-02T00:00:00Z")) == ["wp.exit-report.reminder -> prime-a/contact"])
        let referral = harness.send(
            "wp.referral", as: "jcp-leeds", at: "2026-01-02T09:00:00Z", to: "prime-b",
            body: ["referralDate": .string("2026-01-02"), "benefit": .string("JSA"), "mandatory": .bool(true)]
        ).answer
        #expect(referral.outcome == "referred")
        return (harness, request)
    }

    @Test func aNewReferralLeavesTheEarlierCasesExitReportChaseRunning() {
        let (harness, request) = reReferredWhileTheExitReportIsAwaited()
        // The reminder's deadline, 13 January, passes unanswered: the escalation goes, regarding the request.
        let escalation = harness.advance(to: "2026-01-14T00:00:00Z")
        #expect(types(escalation) == ["wp.exit-report.escalation -> jcp-leeds/performance"])
        #expect(escalation.first?.body["regarding"] == request.map { .string($0.id) })
        #expect(harness.person()?.workProgramme?.prime == "prime-b")
    }

    @Test func theEarlierPrimeMayStillSendItsExitReportAfterANewReferral() {
        let (harness, _) = reReferredWhileTheExitReportIsAwaited()
        let report = harness.send(
            "wp.exit-report", as: "prime-a", at: "2026-01-05T09:00:00Z",
            body: exitReport
        ).answer
        #expect(report.outcome == "received")
        #expect(report.decision("onTime") == .bool(false))
        #expect(report.routedTo == ["jcp-leeds/work-coach"])
        // The earlier case awaits nothing more and is let go; the new case is untouched and its chase stops.
        let record = harness.person()
        #expect(record?.earlierWorkProgrammes == nil)
        #expect(record?.workProgramme?.prime == "prime-b")
        #expect(record?.workProgramme?.isOpen == true)
        #expect(harness.advance(to: "2026-01-14T00:00:00Z").isEmpty)
    }

    @Test func everyEarlierCaseKeepsItsOwnExitReportAndARequestSentAgainReachesIt() {
        let (harness, _) = reReferredWhileTheExitReportIsAwaited()
        let request: [String: JSONValue] = ["benefit": .string("JSA"), "endDate": .string("2025-12-15")]
        // The jobcentre asks the earlier prime again: the request is for the earlier case, not the new one.
        let again = harness.send("wp.exit-report.request", as: "jcp-leeds", at: "2026-01-05T09:00:00Z", to: "prime-a", body: request)
        #expect(again.answer.routedTo == ["prime-a/contact"])
        #expect(harness.person()?.earlierWorkProgrammes?.first?.pendingExitReport?.requestID == again.answer.messageID)
        #expect(harness.person()?.workProgramme?.pendingExitReport == nil)
        // The new case is asked for its report too, then withdrawn, and a third referral supersedes it: both
        // earlier cases are kept, oldest first, each for its own prime's report.
        harness.send("wp.exit-report.request", as: "jcp-leeds", at: "2026-01-06T09:00:00Z", to: "prime-b", body: request)
        harness.send("wp.inappropriate-referral", as: "jcp-leeds", at: "2026-01-07T09:00:00Z", body: ["reason": .string("duplicate-referral")])
        #expect(harness.referToWorkProgramme(on: "2026-01-08", nino: "AB123456C").outcome == "referred")
        #expect(harness.person()?.earlierWorkProgrammes?.map(\.prime) == ["prime-a", "prime-b"])
        for prime in ["prime-b", "prime-a"] {
            let report = harness.send("wp.exit-report", as: prime, at: "2026-01-09T09:00:00Z", body: exitReport).answer
            #expect(report.outcome == "received")
            #expect(report.decision("onTime") == .bool(true))
        }
        #expect(harness.person()?.earlierWorkProgrammes == nil)
        #expect(harness.person()?.workProgramme?.isOpen == true)
    }

    @Test func anExitReportStopsTheChaseAtAnyStage() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        harness.send(
            "wp.exit-report.request", as: "jcp-leeds", at: "2026-03-16T09:00:00Z",
            body: ["benefit": .string("JSA"), "endDate": .string("2026-12-01")])
        #expect(harness.advance(to: "2026-03-31T12:00:00Z").count == 1)
        let report = harness.send(
            "wp.exit-report", as: "prime-a",
            body: exitReport.merging(["title": .string("Mx")]) { $1 }
        ).answer
        #expect(report.decision("onTime") == .bool(false))
        #expect(harness.advance(to: "2026-12-31T12:00:00Z").isEmpty)
    }

    @Test func theSPOCAdviceTimerCountsInTheJobcentresCalendar() {
        let harness = Harness()
        harness.startPlacement()
        // Received Thursday 2026-04-02: deadline 1 WD = Tuesday 7 April (Good Friday and Easter Monday skipped).
        harness.absenceForTheSPOC(from: "2026-04-01", to: "2026-04-02", at: "2026-04-02T10:00:00Z")
        #expect(harness.advance(to: "2026-04-07T22:59:00Z").isEmpty)
        // 8 April 00:00 BST is 7 April 23:00Z.
        let fired = harness.advance(to: "2026-04-07T23:00:00Z")
        #expect(types(fired) == spocChase(at: "jcp-leeds"))
        #expect(fired[0].body["date"] == .string("2026-04-08"))
    }

    @Test func theSPOCAdviceTimerFiresForACaseOpenOnItsDayHoweverLateTheFiringRuns() {
        let harness = Harness()
        harness.startPlacement()
        // Due on 8 April (as above); the claimant leaves JSA from the 9th, told on the 3rd.
        harness.absenceForTheSPOC(from: "2026-04-01", to: "2026-04-02", at: "2026-04-02T10:00:00Z")
        harness.send(
            "cwp.change-of-circumstances", as: "jcp-leeds", at: "2026-04-03T09:00:00Z",
            body: ["change": .string("no-longer-on-jsa"), "effectiveDate": .string("2026-04-09")])
        // The firing runs only on the 10th (the daemon was down): the advice fell overdue while the case was
        // open, so the chase goes, dated the 8th.
        let fired = harness.advance(to: "2026-04-10T09:00:00Z")
        #expect(types(fired) == spocChase(at: "jcp-leeds"))
        #expect(fired.first?.body["date"] == .string("2026-04-08"))
    }

    @Test func theSPOCAdviceChaseGoesToTheSPOCAskedAfterATransfer() {
        let harness = Harness()
        harness.startPlacement()
        // Due on 7 April (as above); the claim moves to York on the 3rd, the query stays with Leeds's SPOC.
        harness.absenceForTheSPOC(from: "2026-04-01", to: "2026-04-02", at: "2026-04-02T10:00:00Z")
        harness.transferClaim(on: "2026-04-03", at: "2026-04-03T09:00:00Z")
        #expect(types(harness.advance(to: "2026-04-07T23:00:00Z")) == spocChase(at: "jcp-leeds"))
        // One referred after the transfer is chased at York.
        harness.absenceForTheSPOC(from: "2026-04-08", to: "2026-04-08", at: "2026-04-08T10:00:00Z")
        #expect(types(harness.advance(to: "2026-04-10T09:00:00Z")) == spocChase(at: "jcp-york"))
    }

    @Test func anEndOfProgrammeTimerThatCannotFireChangesNothing() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2025-12-31")
        harness.send("wp.attachment", as: "prime-a", at: "2026-01-05T09:00:00Z", body: ["attachmentDate": .string("2026-01-05")])
        // The programme ends on 15 December 2027; the exit report's deadline, 31 December, is within the
        // bank-holiday data, but the day its reminder would fire is not: nothing is sent, and the case holds
        // no request that was never made, so an exit report later is not judged against its deadline.
        #expect(harness.advance(to: "2027-12-16T00:00:00Z").isEmpty)
        let record = harness.person()
        #expect(record?.workProgramme?.pendingExitReport == nil)
        #expect(record?.timers.map(\.kind) == [.endOfProgramme])
        // Blocked with what went wrong, not the advice a sender would get.
        #expect(record?.timers.first?.blocked == "2028-01-01 is outside the england-and-wales bank-holiday data (2024–2027)")
    }

    @Test func adviceEndsTheSPOCTimer() {
        let harness = Harness()
        harness.startPlacement()
        let referred = harness.send(
            "cwp.absence", as: "cwp-a", at: "2026-03-02T10:00:00Z",
            body: ["reported": .bool(true), "reason": .string("court"), "from": .string("2026-03-02"), "to": .string("2026-03-02")]
        ).answer
        harness.send(
            "cwp.absence.advice", as: "jcp-leeds", at: "2026-03-03T10:00:00Z",
            body: ["inReplyTo": .string(referred.messageID!), "treatAsAvailable": .bool(true)])
        #expect(harness.advance(to: "2026-03-10T00:00:00Z").isEmpty)
    }

    @Test func theFeedbackReminderFiresAfterItsDeadline() {
        let harness = Harness()
        harness.startPlacement()
        harness.send(
            "cwp.completion", as: "cwp-a", at: "2026-08-10T09:00:00Z", body: ["completionDate": .string("2026-08-10"), "onBenefit": .bool(true)])
        #expect(harness.advance(to: "2026-08-24T22:00:00Z").isEmpty)
        let fired = harness.advance(to: "2026-08-24T23:00:00Z")
        #expect(types(fired) == ["cwp.feedback-report.reminder -> cwp-a/spoc"])
        #expect(harness.advance(to: "2026-10-01T00:00:00Z").isEmpty)
    }

    @Test func aTimerSetAfterItsDeadlineFiresAtOnceInTheSameStep() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        // A request dated long ago: its 10-WD deadline (2026-01-19) has passed when it arrives on 2026-02-02.
        let (answer, _) = harness.send(
            "wp.exit-report.request", as: "jcp-leeds", at: "2026-02-02T09:00:00Z",
            body: ["requestDate": .string("2026-01-05"), "benefit": .string("JSA"), "endDate": .string("2026-12-01")])
        #expect(answer.status == 202)
        // The reminder (fire date 2026-01-20) sets a deadline of 2026-01-29 that has passed too: the
        // escalation fires in the same step.
        #expect(types(answer.emitted) == ["wp.exit-report.escalation -> jcp-leeds/performance", "wp.exit-report.reminder -> prime-a/contact"])
        #expect(answer.emitted.first { $0.type == .wpExitReportReminder }?.body["date"] == .string("2026-01-20"))
        #expect(answer.emitted.first { $0.type == .wpExitReportReminder }?.body["deadline"] == .string("2026-01-29"))
        #expect(answer.emitted.first { $0.type == .wpExitReportEscalation }?.body["date"] == .string("2026-01-30"))
        #expect(harness.advance(to: "2026-02-02T09:00:01Z").isEmpty)
    }

    @Test func aTimerNeverFiresForACaseThatEnded() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        harness.send("wp.inappropriate-referral", as: "jcp-leeds", at: "2024-12-03T09:00:00Z", body: ["reason": .string("ineligible")])
        #expect(harness.advance(to: "2027-06-01T00:00:00Z").isEmpty)
    }

    @Test func aTimerNeverFiresForACaseThatMovedOn() {
        // A timer left in a record whose case was replaced is dropped, not fired.
        let harness = Harness()
        harness.startPlacement()
        let referred = harness.send(
            "cwp.absence", as: "cwp-a", at: "2026-03-02T10:00:00Z",
            body: ["reported": .bool(true), "reason": .string("court"), "from": .string("2026-03-02"), "to": .string("2026-03-02")]
        ).answer
        #expect(referred.outcome == "referred-to-spoc")
        harness.send(
            "cwp.dma-referral", as: "cwp-a", at: "2026-03-02T11:00:00Z",
            body: ["failure": .string("did-not-start"), "failureDate": .string("2026-03-02")])
        #expect(harness.advance(to: "2026-03-10T00:00:00Z").isEmpty)
    }

    @Test func everyEmittedMessageIsStoredOnce() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        let first = harness.advance(to: "2024-12-24T00:00:00Z")
        let again = harness.advance(to: "2024-12-24T00:00:00Z")
        #expect(first.count == 2)
        #expect(again.isEmpty)
        #expect(harness.store.contents.generated.count == 2)
    }
}
