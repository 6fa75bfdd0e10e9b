import LiaisonCore
import Testing

@Suite struct LocalDateTests {
    @Test func parsesAndPrintsISODates() {
        #expect(day("2026-01-12").description == "2026-01-12")
        #expect(LocalDate("2024-02-29") != nil)
    }

    @Test func printsEveryDayOfFourCenturiesAsYYYYMMDD() {
        var date = LocalDate(year: 1900, month: 1, day: 1)!
        let end = LocalDate(year: 2300, month: 12, day: 31)!
        while date <= end {
            let (year, month, day) = date.components
            let expected = String(year) + "-" + (month < 10 ? "0" : "") + String(month) + "-" + (day < 10 ? "0" : "") + String(day)
            #expect(date.description == expected)
            #expect(LocalDate(date.description) == date)
            date = date.adding(days: 1)
        }
        #expect(LocalDate(year: 33, month: 3, day: 3)!.description == "0033-03-03")
    }

    @Test(arguments: ["2026-02-29", "2026-13-01", "2026-00-10", "2026-1-12", "26-01-12", "2026-01-12T00:00", "2026/01/12", ""])
    func refusesWhatIsNotARealDate(text: String) {
        #expect(LocalDate(text) == nil)
    }

    @Test func addsDaysAndWeeks() {
        #expect(day("2026-01-12").adding(weeks: 30) == day("2026-08-10"))
        #expect(day("2024-12-02").adding(days: 714) == day("2026-11-16"))
        #expect(day("2026-03-01").adding(days: -1) == day("2026-02-28"))
    }

    @Test func addsMonthsClampingToTheMonthsLastDay() {
        #expect(day("2026-08-31").adding(months: 6) == day("2027-02-28"))
        #expect(day("2027-08-31").adding(months: 6) == day("2028-02-29"))
        #expect(day("2026-01-15").adding(months: 6) == day("2026-07-15"))
        #expect(day("2026-11-30").adding(months: 3) == day("2027-02-28"))
    }

    @Test func knowsTheWeekday() {
        #expect(day("2026-01-12").isoWeekday == 1)
        #expect(day("2026-01-17").isWeekend)
        #expect(day("1970-01-01").isoWeekday == 4)
        #expect(day("1969-12-31").isoWeekday == 3)
    }

    @Test func countsDaysBetweenDates() {
        #expect(day("2026-02-13").days(since: day("2026-02-09")) == 4)
        #expect(day("2025-01-01").days(since: day("2024-01-01")) == 366)
    }
}
