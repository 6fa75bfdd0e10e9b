import Foundation
import Testing

@testable import LiaisonCore

@Suite struct StoredRecordTests {
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

    /// A record with every optional field set and every list non-empty, so that a field missing from the
    /// stored form shows up as a difference from `Codable`.
    private func everyField() -> PersonRecord {
        let day = LocalDate("2026-03-02")!
        var person = PersonRecord(nino: NINO("AB123456C")!)
        person.jobcentre = "jcp-leeds"
        person.workProgramme = WorkProgrammeCase(
            id: "wp-1", prime: "prime-a", kind: .informationSession, referralDate: day, benefit: "ESA",
            participationMandatory: true, sessionMandatory: false, esaGroup: "WRAG", attachmentDeadline: day.adding(days: 1),
            wp11FollowUpDate: day.adding(days: 2), attachedOn: day.adding(days: 3),
            pendingExitReport: PendingRequest(requestID: "req-1", deadline: day.adding(days: 4)),
            ended: CaseEnding(reason: .noLongerOnJSA, date: day.adding(days: 5)))
        person.earlierWorkProgrammes = person.workProgramme.map { earlier in
            var earlier = earlier
            earlier.id = "wp-0"
            earlier.ended = CaseEnding(reason: .superseded, date: day)
            return [earlier]
        }
        person.placement = PlacementCase(
            id: "cwp-1", provider: "cwp-north", originalReferralDate: day, referralDate: day.adding(days: 1),
            wpciDate: day.adding(days: -14), expectedEndDate: day.adding(days: 182), startedOn: day.adding(days: 7),
            hadDidNotAttendOrStart: true, barred: false, completion: .init(date: day.adding(days: 180), onBenefit: true),
            pendingFeedback: PendingRequest(requestID: "req-2", deadline: day.adding(days: 9)),
            ended: CaseEnding(reason: .didNotAttendOrStart, date: day.adding(days: 10)))
        person.absences = [
            Absence(
                id: "abs-1", caseID: "cwp-1", reason: "tab\there \"quoted\" \u{1}", from: day, to: day.adding(days: 2),
                evidence: "fit-note", state: .awaitingSPOC, sicknessPeriod: .extended, referredTo: "jcp-leeds")
        ]
        person.failures = [SanctionableFailure(messageID: "m-1", level: .higher, failureDate: day, weeks: 13)]
        person.timers = [
            CaseTimer(
                id: "t-1", kind: .spocAdvice, caseID: "cwp-1", regarding: "abs-1", deadline: day.adding(days: 3),
                fireDate: day.adding(days: 4), absenceID: "abs-1", blocked: "awaiting the SPOC")
        ]
        return person
    }

    /// The labels of stored properties that are nil or empty, anywhere in `value`.
    private func unset(_ value: Any, path: String = "") -> [String] {
        Mirror(reflecting: value).children.flatMap { child -> [String] in
            let label = path + "." + (child.label ?? "?")
            let inner = Mirror(reflecting: child.value)
            if inner.displayStyle == .optional {
                guard let wrapped = inner.children.first?.value else { return [label] }
                return unset(wrapped, path: label)
            }
            if inner.displayStyle == .collection {
                guard !inner.children.isEmpty else { return [label] }
                return inner.children.flatMap { unset($0.value, path: label) }
            }
            return inner.displayStyle == .struct ? unset(child.value, path: label) : []
        }
    }

    @Test func theFixtureSetsEveryField() {
        #expect(unset(everyField()) == [])
    }

    @Test func writesTheDocumentJSONEncoderWrites() throws {
        for person in people() + [everyField()] {
            // The same document, key order aside: same keys, same kinds, nil optionals left out.
            #expect(try JSONValue.parse(person.storedJSON) == JSONValue.parse(Array(JSONEncoder().encode(person))))
            #expect(try JSONDecoder().decode(PersonRecord.self, from: Data(person.storedJSON)) == person)
        }
    }

    @Test func readsWhatItWritesAndWhatJSONEncoderWrote() throws {
        let people = people()
        #expect(people.contains { $0.placement != nil } && people.contains { $0.workProgramme != nil })
        #expect(people.contains { !$0.timers.isEmpty } && people.contains { !$0.absences.isEmpty })
        for person in people + [everyField()] {
            #expect(try PersonRecord(storedJSON: person.storedJSON) == person)
            // Records stored by earlier builds, through Codable.
            #expect(try PersonRecord(storedJSON: Array(JSONEncoder().encode(person))) == person)
        }
    }

    @Test func nullOptionalsAndUnknownFieldsReadAsJSONDecoderReadsThem() throws {
        let text = #"{"key":"AB123456","nino":"AB123456C","jobcentre":null,"placement":null,"extra":[1],"absences":[],"failures":[],"timers":[]}"#
        let person = try PersonRecord(storedJSON: Array(text.utf8))
        #expect(person == PersonRecord(nino: NINO("AB123456C")!))
        #expect(try JSONDecoder().decode(PersonRecord.self, from: Data(text.utf8)) == person)
    }

    @Test func refusesRecordsItCannotReadAndSaysWhere() throws {
        var document = try JSONValue.parse(everyField().storedJSON).objectValue!
        func reading(_ change: (inout [String: JSONValue]) -> Void) -> StoredRecordError? {
            var changed = document
            change(&changed)
            do {
                _ = try PersonRecord(storedJSON: Array(JSONValue.object(changed).canonicalText.utf8))
                return nil
            } catch {
                return error as? StoredRecordError
            }
        }
        #expect(reading { $0["key"] = nil } == .missing(path: "key"))
        #expect(reading { $0["timers"] = .object([:]) } == .wrongKind(path: "timers", expected: "a list"))
        #expect(reading { $0["nino"] = .string("not a nino") } == .wrongKind(path: "nino", expected: "a NINO"))
        #expect(
            reading {
                var placement = $0["placement"]!.objectValue!
                placement["startedOn"] = .string("2026-02-30")
                $0["placement"] = .object(placement)
            } == .wrongKind(path: "placement.startedOn", expected: "a YYYY-MM-DD date"))
        #expect(
            reading {
                var timer = $0["timers"]!.arrayValue![0].objectValue!
                timer["kind"] = .string("no-such-kind")
                $0["timers"] = .array([.object(timer)])
            } == .wrongKind(path: "timers[0].kind", expected: "one of Kind's values"))
        #expect(
            reading {
                var failure = $0["failures"]!.arrayValue![0].objectValue!
                failure["weeks"] = .number(1.5)
                $0["failures"] = .array([.object(failure)])
            } == .wrongKind(path: "failures[0].weeks", expected: "an integer"))
        #expect(reading { $0["workProgramme"] = .array([]) } == .notAnObject(path: "workProgramme"))
        #expect(throws: JSONValue.ParseError.self) { try PersonRecord(storedJSON: Array("{\"key\":".utf8)) }
        document["key"] = .string("AB123456")
        #expect(reading { _ in } == nil)
    }
}
