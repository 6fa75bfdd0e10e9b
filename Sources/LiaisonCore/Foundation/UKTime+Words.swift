import Foundation

/// UK local times in words and from form fields, for people: `7 December 2026`, `14:05`.
extension UKTime {
    /// The UK local date and time of day at `instant`.
    public static func localTime(at instant: Date) -> (date: LocalDate, hour: Int, minute: Int) {
        let seconds = Int(instant.timeIntervalSince1970.rounded(.down))
        let local = seconds + (isSummerTime(atUTCSeconds: seconds) ? 3_600 : 0)
        let ofDay = local - floorDiv(local, 86_400) * 86_400
        return (LocalDate(dayNumber: floorDiv(local, 86_400)), ofDay / 3_600, ofDay % 3_600 / 60)
    }

    /// The instant of `hour:minute` UK time on `date`; an hour the clocks skip reads as the hour after, and one
    /// they repeat as its first time.
    public static func instant(on date: LocalDate, hour: Int, minute: Int) -> Date {
        let utc = date.dayNumber * 86_400 + hour * 3_600 + minute * 60
        // Try BST first (UTC = local - 1 h): right whenever BST is in force at that instant.
        let summer = utc - 3_600
        return Date(timeIntervalSince1970: TimeInterval(isSummerTime(atUTCSeconds: summer) ? summer : utc))
    }

    private static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
        "December",
    ]

    /// `7 December 2026`, as GOV.UK writes dates.
    public static func words(_ date: LocalDate) -> String {
        let (year, month, day) = date.components
        return "\(day) \(months[max(0, min(11, month - 1))]) \(year)"
    }

    /// `7 December 2026 at 14:05` (UK time).
    public static func words(_ instant: Date) -> String {
        let (date, hour, minute) = localTime(at: instant)
        return "\(words(date)) at \(String(format: "%02d:%02d", hour, minute))"
    }
}
