import Foundation
import LiaisonCore
import Testing

@Suite struct RecordEncoderTests {
    /// Claimants with placements, absences, failures, Work Programme cases and timers, as the rules leave them.
    private func people() -> [PersonRecord] {
        let harness = Harness()
        harness.startPlacement(nino: "AB123456C")
        harness.absence("sickness", from: "2026-01-20", to: "2026-01-21", nino: "AB123456C")
        harness.absence("holiday", from: "2026-01-26", to: "2026-01-27", reported: false, nino: "AB123456C")
        harness.referToWorkProgramme(on: "2026-02-02", nino: "CE123456A")
        harness.referToInformationSession(on: "2026-02-03", nino: "HJ123456B")
        harness.referToPlacement(nino: "JK123456D", on: "2026-02-04", extra: ["restrictions": .string("quote \" backslash \\ é\n")])
        return harness.store.contents.people.values.sorted { $0.key < $1.key }
    }

    @Test func writesWhatJSONDecoderReadsBack() throws {
        let people = people()
        #expect(people.contains { $0.placement != nil })
        #expect(people.contains { $0.workProgramme != nil })
        #expect(people.contains { !$0.timers.isEmpty })
        #expect(people.contains { !$0.absences.isEmpty })
        for person in people {
            let bytes = try RecordEncoder.encode(person)
            #expect(try JSONDecoder().decode(PersonRecord.self, from: Data(bytes)) == person)
            // The same document as Foundation's encoder writes, key order aside.
            #expect(try JSONValue.parse(bytes) == JSONValue.parse(Array(JSONEncoder().encode(person))))
        }
    }

    @Test func primitivesOptionalsAndListsComeOutAsJSONEncoderWritesThem() throws {
        struct Mixed: Codable, Equatable {
            var text: String
            var count: Int
            var flag: Bool
            var ratio: Double
            var small: Int64
            var byte: UInt8
            var single: Float
            var maybe: String?
            var absent: Int?
            var list: [Int?]
            var names: [String]
            var nested: [String: [Bool]]
        }
        let value = Mixed(
            text: "tab\t \"q\"", count: -42, flag: false, ratio: 2.5, small: 7, byte: 255, single: 0.1, maybe: "here", absent: nil, list: [1, nil, 3],
            names: ["a", ""], nested: ["k": [true]])
        let bytes = try RecordEncoder.encode(value)
        #expect(try JSONDecoder().decode(Mixed.self, from: Data(bytes)) == value)
        #expect(try JSONValue.parse(bytes) == JSONValue.parse(Array(JSONEncoder().encode(value))))
        #expect(try JSONValue.parse(bytes)["absent"] == nil)
    }

    @Test func aNonFiniteNumberFallsBackRatherThanWritingBadJSON() throws {
        struct Ratio: Codable { var ratio: Double }
        #expect(throws: (any Error).self) { try RecordEncoder.encode(Ratio(ratio: .infinity)) }
    }

    @Test func fallsBackForWhatItCannotWriteLikeJSONEncoder() throws {
        struct Stamped: Codable, Equatable {
            var at: Date
            var blob: Data
            var ratio: Double
        }
        let value = Stamped(at: Date(timeIntervalSince1970: 1_700_000_000.25), blob: Data([1, 2, 3]), ratio: 0.1)
        let bytes = try RecordEncoder.encode(value)
        #expect(try JSONDecoder().decode(Stamped.self, from: Data(bytes)) == value)
        #expect(try JSONValue.parse(bytes)["blob"] == .string("AQID"))
    }

    @Test func nestedKeyedContainersFallBack() throws {
        enum Shape: Codable, Equatable {
            case circle(radius: Int)
            case square(side: Int)
        }
        let shapes: [Shape] = [.circle(radius: 2), .square(side: 3)]
        let bytes = try RecordEncoder.encode(shapes)
        #expect(try JSONDecoder().decode([Shape].self, from: Data(bytes)) == shapes)
    }
}
