/// Monday to Friday less one region's bank holidays, for the years its data covers.
///
/// CATALOGUE.md "Conventions": "N WD" is the Nth working day after a date (day 1 is the first working
/// day after it). A date outside the covered years is an error, never a guess.
public struct WorkingDayCalendar: Sendable {
    public let region: CalendarRegion
    /// The years the bank-holiday data covers.
    public let years: ClosedRange<Int>
    private let holidays: Set<LocalDate>

    /// A calendar with these bank holidays for these years.
    public init(region: CalendarRegion, years: ClosedRange<Int>, holidays: Set<LocalDate>) {
        self.region = region
        self.years = years
        self.holidays = holidays
    }

    /// Whether `date` is a working day.
    /// - Throws: `CalendarError.outsideData` when the date's year is not covered.
    public func isWorkingDay(_ date: LocalDate) throws -> Bool {
        try check(date)
        return !date.isWeekend && !holidays.contains(date)
    }

    /// Whether `date` is a bank holiday in this region.
    public func isBankHoliday(_ date: LocalDate) throws -> Bool {
        try check(date)
        return holidays.contains(date)
    }

    /// The `count`th working day after `date`; `count` 0 is `date` itself.
    /// - Throws: `CalendarError.outsideData` when counting leaves the covered years.
    public func adding(workingDays count: Int, to date: LocalDate) throws -> LocalDate {
        precondition(count >= 0, "working days are counted forwards")
        var current = date
        var remaining = count
        while remaining > 0 {
            current = current.adding(days: 1)
            if try isWorkingDay(current) { remaining -= 1 }
        }
        return current
    }

    private func check(_ date: LocalDate) throws {
        guard years.contains(date.year) else { throw CalendarError.outsideData(date: date, region: region, years: years) }
    }
}

/// A working-day question the calendar data cannot answer.
public enum CalendarError: Error, Sendable, Equatable, CustomStringConvertible {
    case outsideData(date: LocalDate, region: CalendarRegion, years: ClosedRange<Int>)

    public var description: String {
        switch self {
        case .outsideData(let date, let region, let years):
            "\(date) is outside the \(region.rawValue) bank-holiday data (\(years.lowerBound)–\(years.upperBound))"
        }
    }
}

/// The three UK calendars, read from bank-holiday data in GOV.UK's format
/// (`{"england-and-wales": {"division": …, "events": [{"date": "YYYY-MM-DD", …}]}, …}`).
public struct CalendarSet: Sendable {
    private let calendars: [CalendarRegion: WorkingDayCalendar]

    /// Builds the calendars from GOV.UK bank-holiday JSON.
    /// - Throws: `CalendarDataError` naming what is missing or malformed.
    public init(govUKJSON data: [UInt8]) throws {
        let document: JSONValue
        do {
            document = try JSONValue.parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw CalendarDataError(detail: "bank-holiday data is not JSON: \(error)")
        }
        var calendars: [CalendarRegion: WorkingDayCalendar] = [:]
        for region in CalendarRegion.allCases {
            guard let events = document[region.rawValue]?["events"]?.arrayValue else {
                throw CalendarDataError(detail: "bank-holiday data has no \(region.rawValue).events list")
            }
            var holidays = Set<LocalDate>()
            for (index, event) in events.enumerated() {
                guard let text = event["date"]?.stringValue, let date = LocalDate(text) else {
                    throw CalendarDataError(detail: "\(region.rawValue).events[\(index)].date is not a YYYY-MM-DD date")
                }
                holidays.insert(date)
            }
            guard let first = holidays.map(\.year).min(), let last = holidays.map(\.year).max() else {
                throw CalendarDataError(detail: "\(region.rawValue) has no bank holidays")
            }
            calendars[region] = WorkingDayCalendar(region: region, years: first...last, holidays: holidays)
        }
        self.calendars = calendars
    }

    /// The last year that every calendar covers.
    public var lastYear: Int { calendars.values.map(\.years.upperBound).min() ?? 0 }

    /// The calendar of `region`; built for every region, or the set is not made. Were one missing, an empty
    /// calendar that covers no year answers every count as past its data: refused, never a trap.
    public subscript(region: CalendarRegion) -> WorkingDayCalendar {
        calendars[region] ?? WorkingDayCalendar(region: region, years: 0...0, holidays: [])
    }
}

/// Bank-holiday data that cannot be used.
public struct CalendarDataError: Error, Sendable, CustomStringConvertible {
    public let detail: String
    public var description: String { detail }
}
