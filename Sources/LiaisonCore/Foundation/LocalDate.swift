/// A UK local calendar date (`YYYY-MM-DD`), counted as days since 1970-01-01 so that day arithmetic is exact.
public struct LocalDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Days since 1970-01-01.
    public let dayNumber: Int

    /// The date `dayNumber` days after 1970-01-01.
    public init(dayNumber: Int) {
        self.dayNumber = dayNumber
    }

    /// The date with this year, month and day, or nil when no such day exists.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...12).contains(month), day >= 1, day <= LocalDate.daysIn(month: month, year: year) else { return nil }
        self.dayNumber = LocalDate.days(year: year, month: month, day: day)
    }

    /// Parses exactly `YYYY-MM-DD`.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// Year, month and day.
    public var components: (year: Int, month: Int, day: Int) {
        // Howard Hinnant's civil_from_days.
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The year.
    public var year: Int { components.year }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var isoWeekday: Int {
        let weekday = (dayNumber + 3) % 7  // 1970-01-01 was a Thursday
        return (weekday < 0 ? weekday + 7 : weekday) + 1
    }

    /// Saturday or Sunday.
    public var isWeekend: Bool { isoWeekday >= 6 }

    /// This date moved by `days` calendar days.
    public func adding(days: Int) -> LocalDate { LocalDate(dayNumber: dayNumber + days) }

    /// This date moved by `weeks` weeks.
    public func adding(weeks: Int) -> LocalDate { adding(days: weeks * 7) }

    /// This date moved by calendar months; a day that the target month lacks becomes its last day
    /// (31 August + 6 months = 28 or 29 February).
    public func adding(months: Int) -> LocalDate {
        let (year, month, day) = components
        let total = year * 12 + (month - 1) + months
        let targetYear = total / 12
        let targetMonth = total % 12 + 1
        let targetDay = min(day, LocalDate.daysIn(month: targetMonth, year: targetYear))
        return LocalDate(dayNumber: LocalDate.days(year: targetYear, month: targetMonth, day: targetDay))
    }

    /// Calendar days from `other` to this date (positive when this is later).
    public func days(since other: LocalDate) -> Int { dayNumber - other.dayNumber }

    public var description: String {
        var text: [UInt8] = []
        text.reserveCapacity(10)
        write(to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends `YYYY-MM-DD`: dates are written once or more per message, so without making strings first.
    func write(to text: inout [UInt8]) {
        let (year, month, day) = components
        text.appendDecimal(year, width: 4)
        text.append(UInt8(ascii: "-"))
        text.appendDecimal(month, width: 2)
        text.append(UInt8(ascii: "-"))
        text.appendDecimal(day, width: 2)
    }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.dayNumber < rhs.dayNumber }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = LocalDate(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a YYYY-MM-DD date: \(text)")
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func days(year: Int, month: Int, day: Int) -> Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

extension [UInt8] {
    /// Appends `value` in decimal, zero-padded to at least `width` digits (a minus sign comes first).
    mutating func appendDecimal(_ value: Int, width: Int) {
        if value < 0 { append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits = 0
        let first = count
        repeat {
            append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
            digits += 1
        } while magnitude > 0 || digits < width
        // Written least significant digit first, then put in order.
        self[first...].reverse()
    }
}
