import LiaisonCore
import Testing

@Suite struct WorkingDayCalendarTests {
    let england = shippedCalendars[.englandAndWales]
    let scotland = shippedCalendars[.scotland]
    let northernIreland = shippedCalendars[.northernIreland]

    @Test func dayOneIsTheFirstWorkingDayAfter() throws {
        #expect(try england.adding(workingDays: 1, to: day("2026-01-16")) == day("2026-01-19"))
        #expect(try england.adding(workingDays: 15, to: day("2024-12-02")) == day("2024-12-23"))
        #expect(try england.adding(workingDays: 0, to: day("2026-01-17")) == day("2026-01-17"))
    }

    @Test func easterIsSkippedWhereItIsAHoliday() throws {
        // Good Friday 3 April 2026 everywhere; Easter Monday 6 April in England and Wales and Northern Ireland only.
        #expect(try england.adding(workingDays: 1, to: day("2026-04-02")) == day("2026-04-07"))
        #expect(try northernIreland.adding(workingDays: 1, to: day("2026-04-02")) == day("2026-04-07"))
        #expect(try scotland.adding(workingDays: 1, to: day("2026-04-02")) == day("2026-04-06"))
        #expect(try england.adding(workingDays: 7, to: day("2026-03-31")) == day("2026-04-13"))
    }

    @Test func christmasAndBoxingDayAreSkippedInEachCalendar() throws {
        // 2026: Christmas Friday 25th, Boxing Day observed Monday 28th.
        for calendar in [england, scotland, northernIreland] {
            #expect(try calendar.adding(workingDays: 1, to: day("2026-12-24")) == day("2026-12-29"))
        }
    }

    @Test func secondOfJanuaryIsAHolidayInScotlandOnly() throws {
        #expect(try scotland.isBankHoliday(day("2026-01-02")))
        #expect(try !england.isBankHoliday(day("2026-01-02")))
        #expect(try !northernIreland.isBankHoliday(day("2026-01-02")))
        #expect(try scotland.adding(workingDays: 1, to: day("2025-12-31")) == day("2026-01-05"))
        #expect(try england.adding(workingDays: 1, to: day("2025-12-31")) == day("2026-01-02"))
        #expect(try northernIreland.adding(workingDays: 1, to: day("2025-12-31")) == day("2026-01-02"))
    }

    @Test func regionalHolidaysBelongToTheirOwnCalendar() throws {
        #expect(try northernIreland.isBankHoliday(day("2026-03-17")))
        #expect(try !england.isBankHoliday(day("2026-03-17")))
        #expect(try scotland.adding(workingDays: 10, to: day("2026-06-08")) == day("2026-06-23"))
        #expect(try england.adding(workingDays: 10, to: day("2026-06-08")) == day("2026-06-22"))
    }

    @Test func aDateOutsideTheDataIsAnError() {
        #expect(england.years == 2024...2027)
        #expect(throws: CalendarError.self) { try england.isWorkingDay(day("2028-01-04")) }
        #expect(throws: CalendarError.self) { try england.adding(workingDays: 5, to: day("2027-12-29")) }
        #expect(throws: CalendarError.self) { try scotland.isWorkingDay(day("2023-12-29")) }
    }

    @Test func malformedHolidayDataIsRefused() {
        #expect(throws: CalendarDataError.self) { try CalendarSet(govUKJSON: Array("{}".utf8)) }
        let badDate = #"{"england-and-wales":{"events":[{"date":"2026-13-01"}]},"scotland":{"events":[]},"northern-ireland":{"events":[]}}"#
        #expect(throws: CalendarDataError.self) { try CalendarSet(govUKJSON: Array(badDate.utf8)) }
    }
}
