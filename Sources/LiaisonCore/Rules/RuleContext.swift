import Foundation

/// What the rules need besides the message and the case: the parties, the numbers, the calendars, and a
/// source of fresh ids. Plain values, so tests build one in memory.
public struct RuleContext: Sendable {
    public let directory: PartyDirectory
    public let rules: RuleSet
    public let calendars: CalendarSet
    /// Makes a fresh message or timer id.
    public let makeID: @Sendable () -> String

    public init(
        directory: PartyDirectory, rules: RuleSet, calendars: CalendarSet,
        makeID: @escaping @Sendable () -> String = RandomUUID.make
    ) {
        self.directory = directory
        self.rules = rules
        self.calendars = calendars
        self.makeID = makeID
    }

    /// The working-day calendar of a jobcentre.
    /// - Throws: `Refusal` when the jobcentre is not a known jobcentre party.
    public func calendar(ofJobcentre id: String) throws -> WorkingDayCalendar {
        guard let party = directory[id], party.kind == .jobcentre, let region = party.calendar else {
            throw Refusal(.invalidMessage, "jobcentre \(id) has no working-day calendar")
        }
        return calendars[region]
    }

    /// `count` working days after `date` in the jobcentre's calendar.
    /// - Throws: `Refusal`, with the calendar's error as its `cause`. A count from a date no later than the
    ///   year after the bank-holiday data ends, that runs past the data, is `unavailable` (503): the sender
    ///   cannot mend it, and it can be sent again once operators have refreshed the data. A count from before
    ///   the data begins, or from further ahead (a mistyped year, most likely), is `invalid-message` on `field`.
    public func workingDays(_ count: Int, after date: LocalDate, jobcentre: String, field: String) throws -> LocalDate {
        let calendar = try calendar(ofJobcentre: jobcentre)
        do {
            return try calendar.adding(workingDays: count, to: date)
        } catch let error as CalendarError {
            switch error {
            case .outsideData(let outside, _, let years)
            where outside.year > years.upperBound && date.year <= years.upperBound + 1:
                throw Refusal(
                    .unavailable,
                    "\(field) cannot be counted in working days yet: \(error); send it again once Liaison's bank-holiday data is refreshed",
                    cause: "\(error)")
            case .outsideData:
                throw Refusal.invalid(field, "cannot be counted in working days: \(error)", cause: "\(error)")
            }
        }
    }
}
