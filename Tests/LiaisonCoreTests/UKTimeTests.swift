import Foundation
import LiaisonCore
import Testing

@Suite struct UKTimeTests {
    @Test func localDateIsGMTInWinter() {
        #expect(UKTime.localDate(at: instant("2026-01-12T23:59:59Z")) == day("2026-01-12"))
        #expect(UKTime.localDate(at: instant("2026-01-13T00:00:00Z")) == day("2026-01-13"))
    }

    @Test func localDateIsBSTInSummer() {
        #expect(UKTime.localDate(at: instant("2026-06-08T22:59:59Z")) == day("2026-06-08"))
        #expect(UKTime.localDate(at: instant("2026-06-08T23:00:00Z")) == day("2026-06-09"))
    }

    @Test func summerTimeStartsAndEndsAtOneUTCOnTheLastSundays() {
        // 2026: BST from 29 March 01:00Z to 25 October 01:00Z.
        #expect(UKTime.localDate(at: instant("2026-03-28T23:30:00Z")) == day("2026-03-28"))
        #expect(UKTime.localDate(at: instant("2026-10-24T23:30:00Z")) == day("2026-10-25"))
        #expect(UKTime.localDate(at: instant("2026-10-25T23:30:00Z")) == day("2026-10-25"))
    }

    @Test func midnightIsTheStartOfTheUKDay() {
        #expect(UKTime.midnight(of: day("2026-02-24")) == instant("2026-02-24T00:00:00Z"))
        #expect(UKTime.midnight(of: day("2026-06-09")) == instant("2026-06-08T23:00:00Z"))
        #expect(UKTime.midnight(of: day("2026-03-29")) == instant("2026-03-29T00:00:00Z"))
        #expect(UKTime.midnight(of: day("2026-03-30")) == instant("2026-03-29T23:00:00Z"))
        #expect(UKTime.midnight(of: day("2026-10-25")) == instant("2026-10-24T23:00:00Z"))
        #expect(UKTime.midnight(of: day("2026-10-26")) == instant("2026-10-26T00:00:00Z"))
    }

    @Test func timestampsParseOffsetsAndFractions() {
        #expect(Timestamp.parse("2026-03-02T10:15:00+01:00") == instant("2026-03-02T09:15:00Z"))
        #expect(Timestamp.parse("2026-03-02T09:15:00.250Z")!.timeIntervalSince1970.truncatingRemainder(dividingBy: 1) == 0.25)
        #expect(Timestamp.format(instant("2026-03-02T09:15:00Z")) == "2026-03-02T09:15:00Z")
        #expect(Timestamp.format(Timestamp.parse("2026-03-02T09:15:00.5Z")!) == "2026-03-02T09:15:00.500Z")
    }

    @Test(arguments: ["2026-03-02T09:15:00", "2026-03-02 09:15:00Z", "2026-03-02T25:00:00Z", "2026-02-30T09:00:00Z", "yesterday"])
    func timestampsRefuseWhatIsNotRFC3339(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }
}
