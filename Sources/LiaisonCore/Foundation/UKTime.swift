import Foundation

/// UK civil time: GMT, or BST (UTC+1) from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
/// Sunday of October. Computed here rather than read from the system's time-zone data so that dates and
/// timer fire times are the same on every machine.
public enum UKTime {
    /// The UK local date at `instant`.
    public static func localDate(at instant: Date) -> LocalDate {
        let seconds = Int(instant.timeIntervalSince1970.rounded(.down))
        let offset = isSummerTime(atUTCSeconds: seconds) ? 3_600 : 0
        return LocalDate(dayNumber: floorDiv(seconds + offset, 86_400))
    }

    /// The instant of 00:00 UK time on `date`.
    public static func midnight(of date: LocalDate) -> Date {
        let utcMidnight = date.dayNumber * 86_400
        // Midnight local is 23:00 UTC the day before in summer; the switch happens at 01:00 UTC, so
        // midnight is never ambiguous.
        let summer = isSummerTime(atUTCSeconds: utcMidnight - 3_600)
        return Date(timeIntervalSince1970: TimeInterval(utcMidnight - (summer ? 3_600 : 0)))
    }

    /// Whether BST is in force at this many seconds after 1970-01-01T00:00Z.
    static func isSummerTime(atUTCSeconds seconds: Int) -> Bool {
        let year = LocalDate(dayNumber: floorDiv(seconds, 86_400)).year
        let start = lastSunday(month: 3, year: year).dayNumber * 86_400 + 3_600
        let end = lastSunday(month: 10, year: year).dayNumber * 86_400 + 3_600
        return seconds >= start && seconds < end
    }

    static func lastSunday(month: Int, year: Int) -> LocalDate {
        let last = LocalDate(dayNumber: LocalDate.days(year: year, month: month, day: LocalDate.daysIn(month: month, year: year)))
        return last.adding(days: -(last.isoWeekday % 7))
    }

    static func floorDiv(_ value: Int, _ divisor: Int) -> Int {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }
}

/// RFC 3339 timestamps (`2026-03-02T09:15:00Z`, `2026-03-02T10:15:00.250+01:00`).
public enum Timestamp {
    /// Parses an RFC 3339 date-time with a `Z` or numeric offset; nil when it is not one.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, let date = LocalDate(String(decoding: bytes[0..<10], as: UTF8.self)),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                fraction += Double(bytes[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < bytes.count else { return nil }
        var offsetSeconds = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                let offsetHours = number(index + 1..<index + 3), let offsetMinutes = number(index + 4..<index + 6),
                offsetHours < 24, offsetMinutes < 60
            else { return nil }
            offsetSeconds = (offsetHours * 3_600 + offsetMinutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        let seconds = date.dayNumber * 86_400 + hour * 3_600 + minute * 60 + min(second, 59) - offsetSeconds
        return Date(timeIntervalSince1970: TimeInterval(seconds) + fraction)
    }

    /// Formats an instant as RFC 3339 in UTC, with milliseconds only when there are any.
    public static func format(_ instant: Date) -> String {
        let totalMilliseconds = Int((instant.timeIntervalSince1970 * 1000).rounded())
        let seconds = UKTime.floorDiv(totalMilliseconds, 1000)
        let milliseconds = totalMilliseconds - seconds * 1000
        let day = LocalDate(dayNumber: UKTime.floorDiv(seconds, 86_400))
        let secondOfDay = seconds - day.dayNumber * 86_400
        var text: [UInt8] = []
        text.reserveCapacity(24)
        day.write(to: &text)
        text.append(UInt8(ascii: "T"))
        text.appendDecimal(secondOfDay / 3_600, width: 2)
        text.append(UInt8(ascii: ":"))
        text.appendDecimal(secondOfDay / 60 % 60, width: 2)
        text.append(UInt8(ascii: ":"))
        text.appendDecimal(secondOfDay % 60, width: 2)
        if milliseconds != 0 {
            text.append(UInt8(ascii: "."))
            text.appendDecimal(milliseconds, width: 3)
        }
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }
}
