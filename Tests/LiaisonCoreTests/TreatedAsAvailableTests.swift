import LiaisonCore
import Testing

@Suite struct TreatedAsAvailableTests {
    let test = TreatedAsAvailable(limits: shippedRules.absences)

    private func granted(_ reason: String, _ from: String, _ to: String, _ period: Absence.SicknessPeriod? = nil) -> Absence {
        Absence(
            id: "x-\(from)", caseID: "c", reason: reason, from: day(from), to: day(to), evidence: "self-declared",
            state: .granted, sicknessPeriod: period)
    }

    private func judge(
        _ reason: String, _ from: String, days: Int, evidence: String = "self-declared", granted: [Absence] = []
    ) -> TreatedAsAvailable.Judgement {
        test.judge(reason: reason, from: day(from), to: day(from).adding(days: days - 1), evidence: evidence, granted: granted)
    }

    // Sickness: short period (reg 55).

    @Test func fourteenDaysOfSicknessIsAShortPeriod() {
        let judgement = judge("sickness", "2026-03-02", days: 14)
        #expect(judgement.outcome == .treatAsAvailable)
        #expect(judgement.sicknessPeriod == .short)
        #expect(judgement.explanation.contains("1st of 2"))
    }

    @Test func fifteenDaysOfSicknessWithoutAFitNoteGoesToTheSPOC() {
        let judgement = judge("sickness", "2026-03-02", days: 15)
        #expect(judgement.outcome == .referredToSPOC)
        #expect(judgement.sicknessPeriod == .extended)
    }

    @Test func fifteenDaysOfSicknessWithAFitNoteIsAnExtendedPeriod() {
        let judgement = judge("sickness", "2026-03-02", days: 15, evidence: "fit-note")
        #expect(judgement.outcome == .treatAsAvailable)
        #expect(judgement.sicknessPeriod == .extended)
    }

    @Test func ninetyOneDaysWithAFitNoteIsTheLongestExtendedPeriod() {
        #expect(judge("sickness", "2026-03-02", days: 91, evidence: "fit-note").outcome == .treatAsAvailable)
    }

    @Test func ninetyTwoDaysOfSicknessIsNotAvailable() {
        #expect(judge("sickness", "2026-03-02", days: 92, evidence: "fit-note").outcome == .notAvailable)
    }

    @Test func secondShortPeriodIsGrantedAndTheThirdIsNot() {
        let first = granted("sickness", "2026-01-05", "2026-01-07", .short)
        let second = judge("sickness", "2026-02-02", days: 3, granted: [first])
        #expect(second.outcome == .treatAsAvailable)
        #expect(second.explanation.contains("2nd of 2"))
        let both = [first, granted("sickness", "2026-02-02", "2026-02-04", .short)]
        #expect(judge("sickness", "2026-03-02", days: 3, granted: both).outcome == .referredToSPOC)
        #expect(judge("sickness", "2026-03-02", days: 3, evidence: "fit-note", granted: both).outcome == .treatAsAvailable)
    }

    @Test func theWindowIsThe365DaysBeforeThisAbsence() {
        // Two short periods granted; a third starting exactly 365 days after the first still sees it…
        let earlier = [granted("sickness", "2025-03-03", "2025-03-04", .short), granted("sickness", "2025-06-02", "2025-06-03", .short)]
        #expect(judge("sickness", "2026-03-03", days: 2, granted: earlier).outcome == .referredToSPOC)
        // …and one starting 366 days after it does not.
        let later = judge("sickness", "2026-03-04", days: 2, granted: earlier)
        #expect(later.outcome == .treatAsAvailable)
        #expect(later.explanation.contains("2nd of 2"))
    }

    @Test func onlyOneExtendedPeriodInTheWindow() {
        let extended = [granted("sickness", "2025-06-02", "2025-07-31", .extended)]
        let again = judge("sickness", "2026-03-02", days: 20, evidence: "fit-note", granted: extended)
        #expect(again.outcome == .notAvailable)
        let yearOn = judge("sickness", "2026-06-03", days: 20, evidence: "fit-note", granted: extended)
        #expect(yearOn.outcome == .treatAsAvailable)
    }

    @Test func refusedAbsencesDoNotCountButOtherReasonsDoNotEither() {
        let other = [granted("funeral", "2026-01-05", "2026-01-06"), granted("homelessness", "2026-02-02", "2026-02-10")]
        #expect(judge("sickness", "2026-03-02", days: 3, granted: other).explanation.contains("1st of 2"))
    }

    // Domestic emergencies and like absences.

    @Test func fourEmergenciesAreGrantedInAPeriodAndTheFifthIsNot() {
        var history: [Absence] = []
        for (index, from) in ["2026-02-02", "2026-03-02", "2026-04-13", "2026-05-11"].enumerated() {
            let judgement = judge(
                ["domestic-emergency", "funeral", "close-relative-illness", "childcare-breakdown"][index], from, days: 2, granted: history)
            #expect(judgement.outcome == .treatAsAvailable)
            #expect(judgement.explanation.contains("\(["1st", "2nd", "3rd", "4th"][index]) of 4"))
            history.append(granted("domestic-emergency", from, from))
        }
        #expect(judge("domestic-emergency", "2026-06-08", days: 2, granted: history).outcome == .notAvailable)
        // The period runs 365 days from the first granted one: day 365 starts a new period.
        #expect(judge("domestic-emergency", "2027-02-01", days: 1, granted: history).outcome == .notAvailable)
        #expect(judge("domestic-emergency", "2027-02-02", days: 1, granted: history).outcome == .treatAsAvailable)
    }

    @Test func sevenDaysOfEmergencyIsDecidedAndEightGoesToTheSPOC() {
        #expect(judge("childcare-breakdown", "2026-03-02", days: 7).outcome == .treatAsAvailable)
        #expect(judge("childcare-breakdown", "2026-03-02", days: 8).outcome == .referredToSPOC)
    }

    // Homelessness and domestic violence.

    @Test func twentyEightDaysOfHomelessnessAreGrantedAndTwentyNineGoToTheSPOC() {
        #expect(judge("homelessness", "2026-03-02", days: 28).outcome == .treatAsAvailable)
        #expect(judge("homelessness", "2026-03-02", days: 29).outcome == .referredToSPOC)
    }

    @Test func homelessnessDoesNotCountTowardTheEmergencyLimit() {
        let history =
            ["2026-01-05", "2026-02-02", "2026-03-02"].map { granted("domestic-emergency", $0, $0) }
            + [granted("homelessness", "2026-04-06", "2026-04-20")]
        #expect(judge("funeral", "2026-05-04", days: 1, granted: history).outcome == .treatAsAvailable)
    }

    @Test func domesticViolenceUpTo28DaysOr91WithEvidence() {
        #expect(judge("domestic-violence", "2026-03-02", days: 28, evidence: "none").outcome == .treatAsAvailable)
        #expect(judge("domestic-violence", "2026-03-02", days: 29, evidence: "none").outcome == .referredToSPOC)
        #expect(judge("domestic-violence", "2026-03-02", days: 91, evidence: "fit-note").outcome == .treatAsAvailable)
        #expect(judge("domestic-violence", "2026-03-02", days: 92, evidence: "fit-note").outcome == .referredToSPOC)
    }

    @Test func domesticViolenceOnceInTheWindow() {
        let history = [granted("domestic-violence", "2025-06-02", "2025-06-10")]
        #expect(judge("domestic-violence", "2026-06-01", days: 5, granted: history).outcome == .referredToSPOC)
        #expect(judge("domestic-violence", "2026-06-03", days: 5, granted: history).outcome == .treatAsAvailable)
    }

    @Test(arguments: ["parental-easement", "jury-service", "court", "other"])
    func someReasonsAreNeverDecidedAutomatically(reason: String) {
        #expect(judge(reason, "2026-03-02", days: 1).outcome == .referredToSPOC)
    }
}

@Suite struct IndicativeSanctionTests {
    let sanction = IndicativeSanction(limits: shippedRules.sanctions)

    private func failure(_ level: SanctionableFailure.Level, _ date: String, weeks: Int) -> SanctionableFailure {
        SanctionableFailure(messageID: "m", level: level, failureDate: day(date), weeks: weeks)
    }

    @Test func firstLowerLevelFailureIsFourWeeks() {
        #expect(sanction.weeks(level: .lower, failureDate: day("2026-03-02"), earlier: []).weeks == 4)
    }

    @Test func lowerLevelRepeatsCountFromFifteenTo364Days() {
        let earlier = [failure(.lower, "2026-03-02", weeks: 4)]
        func weeks(after days: Int) -> Int {
            sanction.weeks(level: .lower, failureDate: day("2026-03-02").adding(days: days), earlier: earlier).weeks
        }
        #expect(weeks(after: 14) == 4)
        #expect(weeks(after: 15) == 13)
        #expect(weeks(after: 364) == 13)
        #expect(weeks(after: 365) == 4)
    }

    @Test func higherLevelFailuresEscalate() {
        #expect(sanction.weeks(level: .higher, failureDate: day("2026-03-02"), earlier: []).weeks == 13)
        let after13 = [failure(.higher, "2026-01-05", weeks: 13)]
        #expect(sanction.weeks(level: .higher, failureDate: day("2026-03-02"), earlier: after13).weeks == 26)
        let after26 = [failure(.higher, "2026-01-05", weeks: 26)]
        #expect(sanction.weeks(level: .higher, failureDate: day("2026-03-02"), earlier: after26).weeks == 156)
        let after156 = [failure(.higher, "2026-01-05", weeks: 156)]
        #expect(sanction.weeks(level: .higher, failureDate: day("2026-03-02"), earlier: after156).weeks == 156)
    }

    @Test func higherLevelWithin14DaysRepeatsTheSameLength() {
        let earlier = [failure(.higher, "2026-03-02", weeks: 26)]
        func weeks(after days: Int) -> Int {
            sanction.weeks(level: .higher, failureDate: day("2026-03-02").adding(days: days), earlier: earlier).weeks
        }
        #expect(weeks(after: 14) == 26)
        #expect(weeks(after: 15) == 156)
        #expect(weeks(after: 364) == 156)
        #expect(weeks(after: 365) == 13)
    }

    @Test func levelsDoNotMix() {
        let lower = [failure(.lower, "2026-01-05", weeks: 4)]
        #expect(sanction.weeks(level: .higher, failureDate: day("2026-03-02"), earlier: lower).weeks == 13)
        let higher = [failure(.higher, "2026-01-05", weeks: 13)]
        #expect(sanction.weeks(level: .lower, failureDate: day("2026-03-02"), earlier: higher).weeks == 4)
    }
}
