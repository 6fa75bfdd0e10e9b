import LiaisonCore
import Testing

/// The case rules through the router, one story at a time: every refusal code and the edges of each rule.
@Suite struct CaseRulesTests {
    // MARK: Authorisation and case checks

    @Test func aPartyKindMayNotSendAnotherKindsTypes() {
        let harness = Harness()
        harness.referToPlacement()
        let answer = harness.send("cwp.start", as: "jcp-leeds", body: ["startDate": .string("2026-01-19")]).answer
        #expect(answer.code == "not-permitted")
        #expect(answer.status == 403)
        #expect(harness.send("wp.attachment", as: "cwp-a", body: ["attachmentDate": .string("2026-01-19")]).answer.code == "not-permitted")
    }

    @Test func aTypeOnlyLiaisonSendsIsInTheCatalogueButNoPartyMaySendIt() {
        let harness = Harness()
        harness.referToPlacement()
        for (type, sender) in [("cwp.absence.advice.overdue", "jcp-leeds"), ("clerical-task", "cwp-a"), ("wp.exit-report.reminder", "prime-a")] {
            let answer = harness.send(type, as: sender, body: ["regarding": .string("0d6c6c2e-4b7e-4a0b-9f0e-5f4b8b3f2a11")]).answer
            #expect(answer.status == 403, "\(type)")
            #expect(answer.code == "not-permitted", "\(type)")
        }
    }

    /// CATALOGUE.md: a provider not on the case is answered exactly as if there were none, so that no provider
    /// learns that a claimant is on another provider's programme.
    @Test func aProviderNotOnTheCaseIsAnsweredAsIfThereWereNone() {
        let harness = Harness()
        harness.startPlacement()
        let start: [String: JSONValue] = ["startDate": .string("2026-01-19")]
        let noCase = harness.send("cwp.start", as: "cwp-b", nino: "CE654321A", body: start).answer
        #expect(noCase.code == "unknown-case")
        let otherProviders = harness.send("cwp.start", as: "cwp-b", body: start).answer
        #expect(otherProviders.status == noCase.status)
        #expect(otherProviders.responseText == noCase.responseText)
        let absence = harness.absence("sickness", from: "2026-02-02", to: "2026-02-03", as: "cwp-b")
        #expect(absence.responseText == noCase.responseText)

        // An ended case of another provider is not told as ended either.
        harness.send("cwp.inappropriate-referral", as: "jcp-leeds", at: "2026-02-10T09:00:00Z", body: ["reason": .string("ineligible")])
        #expect(harness.send("cwp.start", as: "cwp-a", body: start).answer.code == "case-ended")
        #expect(harness.send("cwp.start", as: "cwp-b", body: start).answer.responseText == noCase.responseText)
        // Nor a completed one, to a type that applies to ended cases.
        let feedback: [String: JSONValue] = ["participationSummary": .string("attended well")]
        #expect(
            harness.send("cwp.feedback-report", as: "cwp-b", body: feedback).answer.responseText
                == harness.send("cwp.feedback-report", as: "cwp-b", nino: "CE654321A", body: feedback).answer.responseText)
    }

    @Test func aPrimeNotOnTheWorkProgrammeCaseIsAnsweredAsIfThereWereNone() {
        let harness = Harness()
        harness.referToWorkProgramme()
        let attachment: [String: JSONValue] = ["attachmentDate": .string("2024-12-03")]
        let noCase = harness.send("wp.attachment", as: "prime-b", nino: "CE654321A", body: attachment).answer
        #expect(noCase.code == "unknown-case")
        #expect(harness.send("wp.attachment", as: "prime-b", body: attachment).answer.responseText == noCase.responseText)
        #expect(harness.send("wp.attachment", as: "prime-a", body: attachment).answer.status == 202)
        // Withdrawn: the prime on the case is told it ended; another prime is told nothing.
        harness.send("wp.inappropriate-referral", as: "jcp-leeds", to: "prime-a", body: ["reason": .string("ineligible")])
        let reengagement: [String: JSONValue] = ["date": .string("2024-12-04")]
        #expect(harness.send("wp.reengagement", as: "prime-a", body: reengagement).answer.code == "case-ended")
        #expect(
            harness.send("wp.reengagement", as: "prime-b", body: reengagement).answer.responseText
                == harness.send("wp.reengagement", as: "prime-b", nino: "CE654321A", body: reengagement).answer.responseText)
    }

    @Test func jobcentresMayOnlyWriteAboutTheirOwnCases() {
        let harness = Harness()
        harness.startPlacement()
        let answer = harness.send(
            "cwp.unacceptable-behaviour", as: "jcp-york", body: ["incidentDate": .string("2026-01-20")]
        ).answer
        #expect(answer.code == "not-case-owner")
        #expect(harness.referToWorkProgramme(on: "2026-02-02", as: "jcp-york").code == "not-case-owner")
    }

    @Test func aMessageWithNoCaseIsUnknown() {
        let harness = Harness()
        #expect(harness.send("cwp.start", as: "cwp-a", body: ["startDate": .string("2026-01-19")]).answer.code == "unknown-case")
        #expect(harness.send("wp.attachment", as: "prime-a", body: ["attachmentDate": .string("2026-01-19")]).answer.code == "unknown-case")
    }

    @Test func aMessageForAnEndedCaseIsRefused() {
        let harness = Harness()
        harness.referToPlacement()
        harness.send("cwp.inappropriate-referral", as: "jcp-leeds", at: "2026-01-13T09:00:00Z", body: ["reason": .string("ineligible")])
        let answer = harness.send("cwp.start", as: "cwp-a", body: ["startDate": .string("2026-01-19")]).answer
        #expect(answer.code == "case-ended")
    }

    @Test func toMustNameTheCounterpart() {
        let harness = Harness()
        harness.referToPlacement()
        let wrong = harness.send("cwp.start", as: "cwp-a", to: "jcp-york", body: ["startDate": .string("2026-01-19")]).answer
        #expect(wrong.code == "invalid-message")
        #expect(wrong.badFields == ["to"])
        let right = harness.send("cwp.start", as: "cwp-a", to: "jcp-leeds", body: ["startDate": .string("2026-01-19")]).answer
        #expect(right.status == 202)
    }

    @Test func aReferralNeedsAToOfTheRightKind() {
        let harness = Harness()
        let body: [String: JSONValue] = ["referralDate": .string("2026-01-12"), "benefit": .string("JSA"), "mandatory": .bool(true)]
        #expect(harness.send("wp.referral", as: "jcp-leeds", body: body).answer.badFields == ["to"])
        #expect(harness.send("wp.referral", as: "jcp-leeds", to: "cwp-a", body: body).answer.badFields == ["to"])
        #expect(harness.send("wp.referral", as: "jcp-leeds", to: "nobody", body: body).answer.badFields == ["to"])
        #expect(harness.send("wp.referral", as: "jcp-leeds", to: "prime-a", body: body).answer.status == 202)
    }

    @Test func aSpecialCustomerRecordBecomesAClericalTaskWithNothingPersonal() {
        let harness = Harness()
        harness.referToPlacement()
        let (answer, _) = harness.send("cwp.start", as: "cwp-a", scr: true, body: ["startDate": .string("2026-01-19")])
        #expect(answer.code == "scr-clerical-only")
        #expect(answer.emitted.count == 1)
        let task = answer.emitted[0]
        #expect(task.type == .clericalTask)
        #expect(task.to.description == "jcp-leeds/nominated-officer")
        #expect(task.nino == nil)
        #expect(Set(task.body.keys) == ["regarding", "type", "date"])
        #expect(!task.json.canonicalText.contains("AB123456"))
    }

    @Test func aSpecialCustomerRecordWithNoKnownJobcentreMakesNoTask() {
        let harness = Harness()
        let (answer, _) = harness.send("cwp.start", as: "cwp-a", scr: true, body: ["startDate": .string("2026-01-19")])
        #expect(answer.code == "scr-clerical-only")
        #expect(answer.emitted.isEmpty)
    }

    // MARK: Work Programme

    @Test func aWorkProgrammeReferralIsRefusedWhileTheCaseIsYoungerThan104Weeks() {
        // 2024-12-02 + 104 weeks = 2026-11-30.
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        let refused = harness.referToWorkProgramme(on: "2026-11-27")
        #expect(refused.code == "already-on-programme")
        #expect(harness.referToWorkProgramme(on: "2026-11-30").status == 202)
        #expect(harness.person()?.workProgramme?.referralDate == day("2026-11-30"))
        #expect(harness.referToWorkProgramme(on: "2026-11-30", nino: "CE654321A").status == 202)
    }

    @Test func attachmentWithoutAWP11IsRefused() {
        let harness = Harness()
        harness.referToInformationSession()
        let answer = harness.send("wp.attachment", as: "prime-a", body: ["attachmentDate": .string("2026-02-10")]).answer
        #expect(answer.code == "attachment-without-wp11")
    }

    @Test func attachmentAfterAWP11IsOnTimeUntil28Days() {
        let harness = Harness()
        harness.referToInformationSession(on: "2026-02-02")
        let wp11 = harness.send("wp.wp11", as: "jcp-leeds", at: "2026-02-10T09:00:00Z", body: ["followUpDate": .string("2026-02-20")]).answer
        #expect(wp11.outcome == "volunteered")
        #expect(wp11.decision("deadline") == .string("2026-03-02"))
        let attached = harness.send("wp.attachment", as: "prime-a", body: ["attachmentDate": .string("2026-03-02")]).answer
        #expect(attached.decision("onTime") == .bool(true))
    }

    @Test func attachmentAfterTheDeadlineIsLate() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        let answer = harness.send("wp.attachment", as: "prime-a", at: "2024-12-24T09:00:00Z", body: ["attachmentDate": .string("2024-12-24")]).answer
        #expect(answer.decision("onTime") == .bool(false))
    }

    @Test func aGroupThatCannotBeMandatedIsRefusedAsMandatory() {
        let harness = Harness()
        #expect(harness.referToInformationSession(group: "esa-credits-only", mandatory: true).code == "cannot-mandate")
        let voluntary = harness.referToInformationSession(group: "esa-credits-only", mandatory: false)
        #expect(voluntary.decision("wpParticipation") == .string("voluntary"))
        #expect(voluntary.decision("deadline") == .string("2026-02-17"))
    }

    @Test func aMandatableGroupReferredVoluntarilyStillParticipatesMandatorily() {
        let harness = Harness()
        let answer = harness.referToInformationSession(group: "esa-ir-lone-parent-child-3-4", mandatory: false)
        #expect(answer.decision("wpParticipation") == .string("mandatory"))
        let dna = harness.send("wp.info-session.dna", as: "prime-a", body: ["sessionDate": .string("2026-02-09")]).answer
        #expect(dna.outcome == "not-required")
        #expect(dna.routedTo == [])
    }

    @Test func aWP11After21DaysNeedsANewReferral() {
        let harness = Harness()
        harness.referToInformationSession(on: "2026-02-02")
        let late = harness.send("wp.wp11", as: "jcp-leeds", at: "2026-02-20T09:00:00Z", body: ["followUpDate": .string("2026-02-24")]).answer
        #expect(late.code == "new-referral-required")
        let lastDay = harness.send("wp.wp11", as: "jcp-leeds", body: ["followUpDate": .string("2026-02-23")]).answer
        #expect(lastDay.status == 202)
    }

    @Test func aVoluntaryParticipantCannotHaveAComplianceDoubt() {
        let harness = Harness()
        harness.referToInformationSession(group: "esa-ir-support-group", mandatory: false)
        let body: [String: JSONValue] = ["activity": .string("CV workshop"), "failureDate": .string("2026-02-05"), "detail": .string("")]
        #expect(harness.send("wp.compliance-doubt", as: "prime-a", body: body).answer.code == "voluntary-participant")
        let other = Harness()
        other.referToWorkProgramme(on: "2024-12-02")
        let referred = other.send("wp.compliance-doubt", as: "prime-a", at: "2025-01-06T09:00:00Z", body: body).answer
        #expect(referred.outcome == "referred-to-dma")
        #expect(referred.routedTo == ["jcp-leeds/dma"])
    }

    @Test func trainingAllowanceIsForJSAOnly() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02", benefit: "ESA")
        let body: [String: JSONValue] = ["courseStart": .string("2025-01-06"), "course": .string("Forklift")]
        #expect(harness.send("wp.training-allowance", as: "prime-a", body: body).answer.code == "not-jsa")
        let jsa = Harness()
        jsa.referToWorkProgramme(on: "2024-12-02", benefit: "JSA")
        #expect(jsa.send("wp.training-allowance", as: "prime-a", body: body).answer.outcome == "recorded")
    }

    @Test func changesOfCircumstancesGoEachWay() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        let body: [String: JSONValue] = ["change": .string("address"), "effectiveDate": .string("2024-12-10"), "detail": .string("moved")]
        #expect(harness.send("wp.change-of-circumstances", as: "jcp-leeds", body: body).answer.routedTo == ["prime-a/contact"])
        #expect(harness.send("wp.change-of-circumstances", as: "prime-a", body: body).answer.routedTo == ["jcp-leeds/work-coach"])
    }

    @Test func inappropriateWorkProgrammeReferrals() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        let fromPrime = harness.send("wp.inappropriate-referral", as: "prime-a", body: ["reason": .string("duplicate-referral")]).answer
        #expect(fromPrime.outcome == "referred-to-spoc")
        #expect(fromPrime.routedTo == ["jcp-leeds/spoc"])
        let withdrawn = harness.send("wp.inappropriate-referral", as: "jcp-leeds", body: ["reason": .string("ineligible")]).answer
        #expect(withdrawn.outcome == "referral-withdrawn")
        #expect(harness.person()?.timers.isEmpty == true)
        #expect(harness.send("wp.reengagement", as: "prime-a", body: ["date": .string("2024-12-05")]).answer.code == "case-ended")
        // The exit report still applies to an ended case.
        let request = harness.send(
            "wp.exit-report.request", as: "jcp-leeds", body: ["benefit": .string("JSA"), "endDate": .string("2024-12-31")]
        ).answer
        #expect(request.outcome == "requested")
    }

    @Test func anExitReportAfterItsDeadlineIsLate() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        harness.send(
            "wp.exit-report.request", as: "jcp-leeds", at: "2026-03-16T09:00:00Z",
            body: ["benefit": .string("JSA"), "endDate": .string("2026-12-01")])
        let report = harness.send(
            "wp.exit-report", as: "prime-a", at: "2026-03-31T09:00:00Z",
            body: [
                "surname": .string("Smith"), "otherNames": .string("Alex"), "dateOfBirth": .string("1980-04-01"),
                "actionsAgreed": .string("a"), "furtherInformation": .string("b"), "nextSteps": .string("c"),
                "adviserName": .string("d"),
            ]
        ).answer
        #expect(report.decision("onTime") == .bool(false))
    }

    @Test func theExitReportRequestDateDefaultsToTheReceiptDate() {
        let harness = Harness()
        harness.referToWorkProgramme(on: "2024-12-02")
        let request = harness.send(
            "wp.exit-report.request", as: "jcp-leeds", at: "2026-03-16T09:00:00Z",
            body: ["benefit": .string("JSA"), "endDate": .string("2026-12-01")]
        ).answer
        #expect(request.decision("deadline") == .string("2026-03-30"))
    }

    // MARK: Community Work Placements referrals

    @Test func theAssessmentWindowClosesEightWeeksAfterTheWPCI() {
        // WPCI 2025-12-01 + 8 weeks = 2026-01-26.
        #expect(Harness().referToPlacement(on: "2026-01-26").status == 202)
        #expect(Harness().referToPlacement(on: "2026-01-27").code == "assessment-window-closed")
    }

    @Test func placementHoursLeaveFourHoursForJobSearch() {
        #expect(Harness().referToPlacement(extra: ["hoursAvailable": .number(34)]).decision("placementHours") == .number(30))
        #expect(Harness().referToPlacement(extra: ["hoursAvailable": .number(33)]).decision("placementHours") == .number(29))
        #expect(Harness().referToPlacement(extra: ["hoursAvailable": .number(4)]).decision("placementHours") == .number(0))
        #expect(Harness().referToPlacement(extra: ["hoursAvailable": .number(1)]).decision("placementHours") == .number(0))
    }

    @Test func anOpenCaseRefusesASecondReferral() {
        let harness = Harness()
        harness.referToPlacement()
        #expect(harness.referToPlacement(on: "2026-01-13").code == "already-referred")
    }

    @Test func aCompletedPlacementBarsReReferral() {
        let harness = Harness()
        harness.startPlacement()
        harness.send(
            "cwp.completion", as: "cwp-a", at: "2026-08-10T09:00:00Z", body: ["completionDate": .string("2026-08-10"), "onBenefit": .bool(false)])
        #expect(harness.referToPlacement(on: "2026-09-01", wpci: "2026-08-20").code == "cwp-rereferral-barred")
    }

    @Test func reReferralNeedsAnEarlierDidNotAttendOrStart() {
        #expect(Harness().referToPlacement(extra: ["rereferral": .bool(true)]).code == "rereferral-not-allowed")
        let harness = Harness()
        harness.referToPlacement()
        harness.send("cwp.inappropriate-referral", as: "jcp-leeds", at: "2026-01-13T09:00:00Z", body: ["reason": .string("x")])
        #expect(harness.referToPlacement(on: "2026-01-20", extra: ["rereferral": .bool(true)]).code == "rereferral-not-allowed")
    }

    @Test func aReReferralAfterADidNotAttendKeepsTheOriginalWindow() {
        let harness = Harness()
        harness.referToPlacement(on: "2026-01-12")
        let dna = harness.send(
            "cwp.dma-referral", as: "cwp-a", at: "2026-01-20T09:00:00Z",
            body: ["failure": .string("did-not-attend-engagement"), "failureDate": .string("2026-01-19"), "detail": .string("")]
        ).answer
        #expect(dna.outcome == "rereferral-required")
        #expect(dna.response["decision"]?["advice"] == .string("re-refer-unless-significant-change"))
        #expect(Set(dna.routedTo) == ["jcp-leeds/dma", "jcp-leeds/work-coach"])
        // Six weeks past the window, the re-referral stands on the original referral date.
        let again = harness.referToPlacement(on: "2026-03-09", extra: ["rereferral": .bool(true)])
        #expect(again.status == 202)
        #expect(again.decision("expectedEndDate") == .string("2026-10-05"))
        // Without the flag it is a new referral, judged on its own date.
        let other = Harness()
        other.referToPlacement(on: "2026-01-12")
        other.send(
            "cwp.dma-referral", as: "cwp-a", at: "2026-01-20T09:00:00Z",
            body: ["failure": .string("did-not-start"), "failureDate": .string("2026-01-19")])
        #expect(other.referToPlacement(on: "2026-03-09").code == "assessment-window-closed")
    }

    @Test func aPlacementThatCannotBeCompletedIsRefused() {
        let confinement = Harness().referToPlacement(extra: ["expectedConfinementDate": .string("2026-08-09")])
        #expect(confinement.code == "cannot-complete")
        #expect(confinement.badFields == ["body.expectedConfinementDate"])
        #expect(Harness().referToPlacement(extra: ["confirmedJobStartDate": .string("2026-08-10")]).status == 202)
    }

    // MARK: Absences

    @Test func anAbsenceBeforeTheReferralIsRefused() {
        let harness = Harness()
        harness.startPlacement()
        #expect(harness.absence("sickness", from: "2026-01-11", to: "2026-01-13").code == "before-referral")
        #expect(harness.absence("sickness", from: "2026-01-12", to: "2026-01-13").status == 202)
    }

    @Test func overlappingAbsencesAreRefused() {
        let harness = Harness()
        harness.startPlacement()
        harness.absence("sickness", from: "2026-02-02", to: "2026-02-04")
        #expect(harness.absence("funeral", from: "2026-02-04", to: "2026-02-05").code == "overlapping-absence")
        #expect(harness.absence("funeral", from: "2026-02-05", to: "2026-02-05").status == 202)
    }

    @Test func anUnreportedAbsenceGoesOnlyToTheDecisionMaker() {
        let harness = Harness()
        harness.startPlacement()
        let first = harness.absence("other", from: "2026-02-09", to: "2026-02-09", reported: false)
        #expect(first.outcome == "referred-to-dma")
        #expect(first.routedTo == ["jcp-leeds/dma"])
        #expect(first.decision("indicativeSanctionWeeks") == .number(4))
        // A second, 15 days later, is a repeat lower-level failure.
        let second = harness.absence("other", from: "2026-02-24", to: "2026-02-24", reported: false)
        #expect(second.decision("indicativeSanctionWeeks") == .number(13))
    }

    @Test func adviceMustAnswerAnAbsenceWaitingForTheSPOC() {
        let harness = Harness()
        harness.startPlacement()
        let granted = harness.absence("sickness", from: "2026-02-02", to: "2026-02-03")
        let answer = harness.send(
            "cwp.absence.advice", as: "jcp-leeds",
            body: ["inReplyTo": .string(granted.messageID!), "treatAsAvailable": .bool(true)]
        ).answer
        #expect(answer.code == "nothing-to-answer")
        let unknown = harness.send(
            "cwp.absence.advice", as: "jcp-leeds",
            body: ["inReplyTo": .string("11111111-2222-4333-8444-555555555555"), "treatAsAvailable": .bool(true)]
        ).answer
        #expect(unknown.code == "nothing-to-answer")
    }

    @Test func adviceNotToTreatAsAvailableIsPassedOn() {
        let harness = Harness()
        harness.startPlacement()
        let referred = harness.absence("jury-service", from: "2026-02-02", to: "2026-02-06")
        #expect(referred.outcome == "referred-to-spoc")
        let advice = harness.send(
            "cwp.absence.advice", as: "jcp-leeds",
            body: ["inReplyTo": .string(referred.messageID!), "treatAsAvailable": .bool(false), "note": .string("")]
        ).answer
        #expect(advice.outcome == "not-available")
        #expect(advice.response["decision"]?["actions"] == .array([.string("refer-availability-doubt")]))
        #expect(advice.routedTo == ["cwp-a/spoc"])
        // Answered once: a second answer has nothing to answer.
        let again = harness.send(
            "cwp.absence.advice", as: "jcp-leeds",
            body: ["inReplyTo": .string(referred.messageID!), "treatAsAvailable": .bool(true)]
        ).answer
        #expect(again.code == "nothing-to-answer")
    }

    @Test func aGrantedAdviceCountsTowardTheLimits() {
        let harness = Harness()
        harness.startPlacement()
        harness.absence("sickness", from: "2026-02-02", to: "2026-02-03")
        harness.absence("sickness", from: "2026-03-02", to: "2026-03-03")
        let third = harness.absence("sickness", from: "2026-04-13", to: "2026-04-14")
        #expect(third.outcome == "referred-to-spoc")
        harness.send("cwp.absence.advice", as: "jcp-leeds", body: ["inReplyTo": .string(third.messageID!), "treatAsAvailable": .bool(true)])
        // The extended allowance is now used: a fit-noted 20 days is not available.
        #expect(harness.absence("sickness", from: "2026-05-04", to: "2026-05-23", evidence: "fit-note").outcome == "not-available")
    }

    @Test func absencesCountAcrossANewCaseForTheSamePerson() {
        let harness = Harness()
        harness.startPlacement()
        harness.absence("sickness", from: "2026-02-02", to: "2026-02-03")
        harness.absence("sickness", from: "2026-03-02", to: "2026-03-03", nino: "AB123456D")
        #expect(harness.absence("sickness", from: "2026-04-13", to: "2026-04-14").outcome == "referred-to-spoc")
    }

    // MARK: DMA referrals and sanctions

    @Test func aDMAReferralAfterTheCaseEndedIsNugatory() {
        let harness = Harness()
        harness.startPlacement()
        harness.send(
            "cwp.change-of-circumstances", as: "jcp-leeds", at: "2026-03-02T09:00:00Z",
            body: ["change": .string("no-longer-on-jsa"), "effectiveDate": .string("2026-03-02")])
        let after = harness.send(
            "cwp.dma-referral", as: "cwp-a", body: ["failure": .string("fail-to-participate"), "failureDate": .string("2026-03-03")]
        ).answer
        #expect(after.code == "case-ended")
        // Off JSA from the effective date: a failure on that day is nugatory too; the day before, it is not.
        let onTheDay = harness.send(
            "cwp.dma-referral", as: "cwp-a", body: ["failure": .string("fail-to-participate"), "failureDate": .string("2026-03-02")]
        ).answer
        #expect(onTheDay.code == "case-ended")
        let dayBefore = harness.send(
            "cwp.dma-referral", as: "cwp-a", body: ["failure": .string("fail-to-participate"), "failureDate": .string("2026-02-27")]
        ).answer
        #expect(dayBefore.outcome == "referred-to-dma")
        let beforeReferral = harness.send(
            "cwp.dma-referral", as: "cwp-a", body: ["failure": .string("fail-to-participate"), "failureDate": .string("2026-01-02")]
        ).answer
        #expect(beforeReferral.code == "before-referral")
    }

    @Test func refusingEmploymentIsAHigherLevelFailure() {
        let harness = Harness()
        harness.startPlacement()
        let first = harness.send(
            "cwp.dma-referral", as: "cwp-a", at: "2026-02-02T09:00:00Z",
            body: ["failure": .string("refused-employment"), "failureDate": .string("2026-02-02")]
        ).answer
        #expect(first.outcome == "referred-to-dma")
        #expect(first.routedTo == ["jcp-leeds/dma"])
        #expect(first.decision("indicativeSanctionWeeks") == .number(13))
        let second = harness.send(
            "cwp.dma-referral", as: "cwp-a", at: "2026-03-02T09:00:00Z",
            body: ["failure": .string("refused-employment"), "failureDate": .string("2026-03-02")]
        ).answer
        #expect(second.decision("indicativeSanctionWeeks") == .number(26))
    }

    // MARK: Changes, transfers, behaviour, re-engagement, completion

    @Test func noLongerOnJSAEndsProvision() {
        let harness = Harness()
        harness.startPlacement()
        let answer = harness.send(
            "cwp.change-of-circumstances", as: "jcp-leeds",
            body: ["change": .string("no-longer-on-jsa"), "effectiveDate": .string("2026-02-01")]
        ).answer
        #expect(answer.outcome == "end-provision")
        #expect(answer.response["decision"]?["advice"] == .string("update-prap-end-provision"))
        #expect(harness.person()?.placement?.ended?.date == day("2026-02-01"))
        let notified = Harness()
        notified.startPlacement()
        #expect(
            notified.send(
                "cwp.change-of-circumstances", as: "jcp-leeds", body: ["change": .string("health"), "effectiveDate": .string("2026-02-01")]
            ).answer.outcome == "notified")
    }

    @Test func noLongerOnJSAFromALaterDateEndsTheCaseOnThatDate() {
        let harness = Harness()
        harness.startPlacement()
        let ending = harness.send(
            "cwp.change-of-circumstances", as: "jcp-leeds", at: "2026-03-02T09:00:00Z",
            body: ["change": .string("no-longer-on-jsa"), "effectiveDate": .string("2026-03-16")]
        ).answer
        #expect(ending.outcome == "end-provision")
        // Until 16 March the case is open: absences are judged and failures referred as before.
        #expect(harness.absence("sickness", from: "2026-03-04", to: "2026-03-05").outcome == "treat-as-available")
        let failure = harness.send(
            "cwp.dma-referral", as: "cwp-a", body: ["failure": .string("fail-to-participate"), "failureDate": .string("2026-03-06")]
        ).answer
        #expect(failure.outcome == "referred-to-dma")
        // A SPOC referral on Friday 13 March is due Monday 16th, by when the case has ended: the chase never fires.
        let court = harness.send(
            "cwp.absence", as: "cwp-a", at: "2026-03-13T10:00:00Z",
            body: ["reported": .bool(true), "reason": .string("court"), "from": .string("2026-03-12"), "to": .string("2026-03-13")]
        ).answer
        #expect(court.outcome == "referred-to-spoc")
        #expect(harness.advance(to: "2026-03-20T12:00:00Z").isEmpty)
        // From 16 March it has ended.
        let late = harness.send(
            "cwp.absence", as: "cwp-a", at: "2026-03-16T18:00:00Z",
            body: ["reported": .bool(true), "reason": .string("sickness"), "from": .string("2026-03-16"), "to": .string("2026-03-16")]
        ).answer
        #expect(late.code == "case-ended")
    }

    @Test func aTimerDueBeforeALaterEndStillFires() {
        let harness = Harness()
        harness.startPlacement()
        harness.send(
            "cwp.absence", as: "cwp-a", at: "2026-03-02T10:00:00Z",
            body: ["reported": .bool(true), "reason": .string("court"), "from": .string("2026-02-27"), "to": .string("2026-03-02")])
        harness.send(
            "cwp.change-of-circumstances", as: "jcp-leeds", at: "2026-03-02T11:00:00Z",
            body: ["change": .string("no-longer-on-jsa"), "effectiveDate": .string("2026-03-30")])
        // Received Monday 2 March: the SPOC's deadline is Tuesday 3rd, so the chase fires on Wednesday 4th.
        let fired = harness.advance(to: "2026-03-04T12:00:00Z")
        #expect(fired.map { "\($0.type.rawValue) -> \($0.to)" }.contains("cwp.absence.advice.overdue -> jcp-leeds/spoc"))
    }

    private func transfer(started: Bool, withinTravel: Bool, withinCpa: Bool, canDeliver: Bool?) -> (Harness, SubmissionDesk.Answer) {
        let harness = Harness()
        if started { harness.startPlacement() } else { harness.referToPlacement() }
        var body: [String: JSONValue] = [
            "newJobcentre": .string("jcp-york"), "transferDate": .string("2026-03-02"), "withinCpa": .bool(withinCpa),
            "withinTravelDistance": .bool(withinTravel),
        ]
        if let canDeliver { body["providerCanDeliver"] = .bool(canDeliver) }
        return (harness, harness.send("cwp.claim-transfer", as: "jcp-leeds", at: "2026-03-02T09:00:00Z", body: body).answer)
    }

    @Test func transferBeforeStartingIsADidNotStart() {
        let (harness, answer) = transfer(started: false, withinTravel: true, withinCpa: true, canDeliver: nil)
        #expect(answer.outcome == "record-did-not-start")
        #expect(answer.response["decision"]?["advice"] == .string("update-prap-did-not-start"))
        #expect(harness.person()?.placement?.ended != nil)
        #expect(harness.person()?.jobcentre == "jcp-york")
    }

    @Test func transferBeyondTravelDistanceSourcesANewPlacementOrEndsProvision() {
        #expect(transfer(started: true, withinTravel: false, withinCpa: true, canDeliver: false).1.outcome == "source-new-placement")
        #expect(transfer(started: true, withinTravel: false, withinCpa: false, canDeliver: nil).1.outcome == "source-new-placement")
        let (harness, ended) = transfer(started: true, withinTravel: false, withinCpa: false, canDeliver: false)
        #expect(ended.outcome == "end-provision")
        #expect(harness.person()?.placement?.barred == true)
        #expect(harness.referToPlacement(on: "2026-03-09", as: "jcp-york").code == "cwp-rereferral-barred")
    }

    @Test func aReferralsToIsValidatedBeforeTheSenderSCRAndTheCase() {
        // CATALOGUE.md: validation (invalid-message) answers before not-permitted, scr-clerical-only and the case.
        let harness = Harness()
        let body: [String: JSONValue] = [
            "referralDate": .string("2026-01-12"), "wpciDate": .string("2025-12-01"),
            "engagementMeeting": .string("2026-01-12T10:00:00Z"), "restrictions": .string("none"), "alerts": .array([]),
        ]
        let scrWithoutTo = harness.send("cwp.referral", as: "jcp-leeds", scr: true, body: body)
        #expect(scrWithoutTo.answer.badFields == ["to"])
        #expect(harness.store.contents.generated.isEmpty)
        #expect(harness.send("cwp.referral", as: "prime-a", body: body).answer.badFields == ["to"])
        #expect(harness.send("cwp.referral", as: "jcp-leeds", to: "prime-a", body: body).answer.badFields == ["to"])
        #expect(
            harness.send(
                "wp.referral", as: "jcp-leeds", to: "cwp-a",
                body: ["referralDate": .string("2026-01-12"), "benefit": .string("JSA"), "mandatory": .bool(true)]
            ).answer.badFields == ["to"])
    }

    /// From the case owner, and from jcp-york, which does not own the case: the bad field answers before the case.
    @Test(arguments: ["jcp-leeds", "jcp-york"])
    func aTransferToSomethingThatIsNotAJobcentreIsInvalid(sender: String) {
        let harness = Harness()
        harness.startPlacement()
        let answer = harness.send(
            "cwp.claim-transfer", as: sender,
            body: [
                "newJobcentre": .string("cwp-b"), "transferDate": .string("2026-03-02"), "withinCpa": .bool(true),
                "withinTravelDistance": .bool(true),
            ]
        ).answer
        #expect(answer.badFields == ["body.newJobcentre"])
    }

    @Test func afterATransferTheOldJobcentreIsNoLongerTheOwner() {
        let (harness, _) = transfer(started: true, withinTravel: true, withinCpa: true, canDeliver: nil)
        #expect(
            harness.send("cwp.unacceptable-behaviour", as: "jcp-leeds", body: ["incidentDate": .string("2026-03-03")]).answer.code == "not-case-owner"
        )
        let york = harness.send("cwp.unacceptable-behaviour", as: "jcp-york", body: ["incidentDate": .string("2026-03-03")]).answer
        #expect(york.routedTo == ["cwp-a/spoc"])
        let provider = harness.send("cwp.unacceptable-behaviour", as: "cwp-a", body: ["incidentDate": .string("2026-03-03")]).answer
        #expect(provider.outcome == "referred-to-nominated-manager")
        #expect(provider.routedTo == ["jcp-york/nominated-manager"])
    }

    /// A claim transferred while an absence waits for the SPOC: the SPOC asked has the absence and may still
    /// answer it; the new jobcentre, now the case's, may answer instead; the old one may do nothing else.
    @Test func theSPOCAskedAboutAnAbsenceMayAnswerItAfterATransfer() {
        func referredThenTransferred() -> (Harness, String) {
            let harness = Harness()
            harness.startPlacement()
            let referred = harness.absenceForTheSPOC(from: "2026-02-02", to: "2026-02-02", at: "2026-02-02T10:00:00Z")
            #expect(referred.routedTo == ["jcp-leeds/spoc"])
            #expect(harness.transferClaim(on: "2026-02-02", at: "2026-02-02T11:00:00Z").outcome == "continue-placement")
            return (harness, referred.messageID!)
        }
        func advice(_ harness: Harness, from sender: String, on absence: String, treat: Bool = true) -> SubmissionDesk.Answer {
            harness.send("cwp.absence.advice", as: sender, body: ["inReplyTo": .string(absence), "treatAsAvailable": .bool(treat)]).answer
        }

        let (leedsAnswers, absence) = referredThenTransferred()
        let answer = advice(leedsAnswers, from: "jcp-leeds", on: absence)
        #expect(answer.outcome == "treat-as-available")
        #expect(answer.routedTo == ["cwp-a/spoc"])
        #expect(leedsAnswers.person()?.absences.first?.state == .granted)
        // Answered: Leeds has nothing more to say on the case, and York nothing to answer.
        #expect(advice(leedsAnswers, from: "jcp-leeds", on: absence).code == "not-case-owner")
        #expect(advice(leedsAnswers, from: "jcp-york", on: absence).code == "nothing-to-answer")

        let (yorkAnswers, sameAbsence) = referredThenTransferred()
        #expect(advice(yorkAnswers, from: "jcp-york", on: sameAbsence, treat: false).outcome == "not-available")
        #expect(advice(yorkAnswers, from: "jcp-leeds", on: sameAbsence).code == "not-case-owner")

        // An absence referred after the transfer goes to York's SPOC, and only York answers it.
        let later = yorkAnswers.absenceForTheSPOC(from: "2026-02-09", to: "2026-02-09", at: "2026-02-09T10:00:00Z")
        #expect(later.routedTo == ["jcp-york/spoc"])
        #expect(advice(yorkAnswers, from: "jcp-leeds", on: later.messageID!).code == "not-case-owner")
        #expect(advice(yorkAnswers, from: "jcp-york", on: later.messageID!).outcome == "treat-as-available")
    }

    @Test func reengagementNeedsAStartAndTimeLeft() {
        let neverStarted = Harness()
        neverStarted.referToPlacement()
        neverStarted.send(
            "cwp.change-of-circumstances", as: "jcp-leeds", body: ["change": .string("no-longer-on-jsa"), "effectiveDate": .string("2026-01-14")])
        #expect(
            neverStarted.send("cwp.reengagement", as: "jcp-leeds", body: ["reclaimDate": .string("2026-02-02")]).answer.code
                == "new-referral-required")

        let harness = Harness()
        harness.startPlacement()
        harness.send(
            "cwp.change-of-circumstances", as: "jcp-leeds", at: "2026-03-02T09:00:00Z",
            body: ["change": .string("no-longer-on-jsa"), "effectiveDate": .string("2026-03-02")])
        // 30 weeks from 2026-01-12 is 2026-08-10: a reclaim that day is signposted back, the next day is too late.
        #expect(
            harness.send("cwp.reengagement", as: "jcp-leeds", body: ["reclaimDate": .string("2026-08-11")]).answer.code == "allotted-time-expired")
        let back = harness.send("cwp.reengagement", as: "jcp-leeds", body: ["reclaimDate": .string("2026-08-10")]).answer
        #expect(back.outcome == "signposted-back")
        #expect(back.decision("expectedEndDate") == .string("2026-08-10"))
        #expect(harness.person()?.placement.map { $0.ended == nil } == true)
    }

    @Test func reengagementCountsFromTheOriginalReferral() {
        let harness = Harness()
        harness.referToPlacement(on: "2026-01-12")
        harness.send(
            "cwp.dma-referral", as: "cwp-a", at: "2026-01-19T12:00:00Z",
            body: ["failure": .string("did-not-attend-engagement"), "failureDate": .string("2026-01-19")])
        let again = harness.referToPlacement(on: "2026-02-02", extra: ["rereferral": .bool(true)])
        #expect(again.decision("expectedEndDate") == .string("2026-08-31"))
        harness.send("cwp.start", as: "cwp-a", at: "2026-02-09T09:00:00Z", body: ["startDate": .string("2026-02-09")])
        harness.send(
            "cwp.change-of-circumstances", as: "jcp-leeds", at: "2026-05-01T09:00:00Z",
            body: ["change": .string("no-longer-on-jsa"), "effectiveDate": .string("2026-05-01")])
        // 30 weeks from the original referral on 12 January is 10 August, not 31 August (S2 §115, §159).
        let late = harness.send("cwp.reengagement", as: "jcp-leeds", at: "2026-08-11T09:00:00Z", body: ["reclaimDate": .string("2026-08-11")]).answer
        #expect(late.code == "allotted-time-expired")
        let back = harness.send("cwp.reengagement", as: "jcp-leeds", body: ["reclaimDate": .string("2026-08-10")]).answer
        #expect(back.outcome == "signposted-back")
        #expect(back.decision("expectedEndDate") == .string("2026-08-10"))
        #expect(harness.person()?.placement?.expectedEndDate == day("2026-08-10"))
    }

    @Test func completionOnBenefitSetsAFeedbackDeadline() {
        let harness = Harness()
        harness.startPlacement()
        let completed = harness.send(
            "cwp.completion", as: "cwp-a", at: "2026-08-10T09:00:00Z", body: ["completionDate": .string("2026-08-10"), "onBenefit": .bool(true)]
        ).answer
        #expect(completed.outcome == "completed")
        #expect(completed.decision("deadline") == .string("2026-08-24"))
        let report = harness.send("cwp.feedback-report", as: "cwp-a", at: "2026-08-24T16:00:00Z", body: ["participationSummary": .string("Good")])
            .answer
        #expect(report.decision("onTime") == .bool(true))
        #expect(
            harness.send("cwp.feedback-report.request", as: "jcp-leeds", body: ["reclaimDate": .string("2026-09-01")]).answer.code
                == "request-window-closed")
    }

    @Test func aFeedbackReportCanBeRequestedWithinSixMonthsOfACompletionOffBenefit() {
        let harness = Harness()
        harness.startPlacement()
        harness.send(
            "cwp.completion", as: "cwp-a", at: "2026-08-31T09:00:00Z", body: ["completionDate": .string("2026-08-31"), "onBenefit": .bool(false)])
        // 31 August + 6 months is 28 February.
        #expect(
            harness.send("cwp.feedback-report.request", as: "jcp-leeds", at: "2027-03-01T09:00:00Z", body: ["reclaimDate": .string("2027-03-01")])
                .answer.code == "request-window-closed")
        let request = harness.send("cwp.feedback-report.request", as: "jcp-leeds", body: ["reclaimDate": .string("2027-02-28")]).answer
        #expect(request.outcome == "requested")
        #expect(request.decision("deadline") == .string("2027-03-15"))
        #expect(request.routedTo == ["cwp-a/spoc"])
    }

    @Test func aFeedbackReportNeedsACompletedCase() {
        let harness = Harness()
        harness.startPlacement()
        #expect(harness.send("cwp.feedback-report", as: "cwp-a", body: ["participationSummary": .string("x")]).answer.code == "unknown-case")
        #expect(
            harness.send("cwp.feedback-report.request", as: "jcp-leeds", body: ["reclaimDate": .string("2026-03-01")]).answer.code
                == "request-window-closed")
    }

    @Test func aDateOutsideTheCalendarDataIsRefusedNotGuessed() {
        let harness = Harness()
        // 15 working days from 20 December 2027 run into 2028, past the data: the sender cannot mend that,
        // so it is told to send again (503), and nothing is recorded.
        let late = harness.referToWorkProgramme(on: "2027-12-20")
        #expect(late.status == 503)
        #expect(late.code == "unavailable")
        #expect(harness.person() == nil)
        // A count from before the data begins is the date's fault, and so is one from years past its end (a
        // mistyped year, most likely): no refresh of the data is near that would let it through.
        let early = harness.referToWorkProgramme(on: "2023-06-05", nino: "CE000001A")
        #expect(early.status == 422)
        #expect(early.badFields == ["body.referralDate"])
        let mistyped = harness.referToWorkProgramme(on: "2099-01-05", nino: "CE000002A")
        #expect(mistyped.status == 422)
        #expect(mistyped.badFields == ["body.referralDate"])
        // In the year after the data ends, it is still the data's fault.
        #expect(harness.referToWorkProgramme(on: "2028-03-06", nino: "CE000003A").status == 503)
    }
}
