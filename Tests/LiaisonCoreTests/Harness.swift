import Foundation
import LiaisonCore
import LiaisonRuntime
import Testing

/// The repository's `config/` folder, found from this file.
let configFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("config")

/// The shipped rules and calendars, read once.
let shippedRules: RuleSet = try! RuleFiles.loadRules(at: configFolder.appendingPathComponent("rules.yaml"))
let shippedCalendars: CalendarSet = try! RuleFiles.loadCalendars(
    at: configFolder.appendingPathComponent("uk-bank-holidays.json"))

/// The parties of the public scenarios.
let scenarioParties: [Party] = [
    Party(id: "jcp-leeds", kind: .jobcentre, calendar: .englandAndWales),
    Party(id: "jcp-york", kind: .jobcentre, calendar: .englandAndWales),
    Party(id: "jcp-glasgow", kind: .jobcentre, calendar: .scotland),
    Party(id: "jcp-belfast", kind: .jobcentre, calendar: .northernIreland),
    Party(id: "prime-a", kind: .prime),
    Party(id: "prime-b", kind: .prime),
    Party(id: "cwp-a", kind: .cwp),
    Party(id: "cwp-b", kind: .cwp),
]

/// A date from text, for tests.
func day(_ text: String) -> LocalDate { LocalDate(text)! }

/// An instant from RFC 3339 text, for tests.
func instant(_ text: String) -> Date { Timestamp.parse(text)! }

/// Drives the router with a manual clock and an in-memory store, as `liaison replay` does.
final class Harness {
    let store = InMemoryCaseStore()
    let router: SubmissionDesk
    private var counter = 0
    private(set) var now = instant("2026-01-12T09:00:00Z")

    init(rules: RuleSet = shippedRules) {
        let context = RuleContext(
            directory: try! PartyDirectory(scenarioParties), rules: rules, calendars: shippedCalendars)
        router = SubmissionDesk(context: context)
    }

    /// A fresh message id.
    func nextID() -> String {
        counter += 1
        return String(format: "00000000-0000-4000-8000-%012d", counter)
    }

    /// Sends a message at `at` (default: the current clock) as `sender`; fires due timers first, as replay does.
    @discardableResult
    func send(
        _ type: String, as sender: String, at: String? = nil, nino: String = "AB123456C", to: String? = nil,
        id: String? = nil, scr: Bool? = nil, body: [String: JSONValue]
    ) -> (answer: SubmissionDesk.Answer, due: [GeneratedMessage]) {
        if let at { now = instant(at) }
        var envelope: [String: JSONValue] = [
            "id": .string(id ?? nextID()), "type": .string(type), "nino": .string(nino),
            "sentAt": .string(Timestamp.format(now)), "body": .object(body),
        ]
        if let to { envelope["to"] = .string(to) }
        if let scr { envelope["scr"] = .bool(scr) }
        return sendRaw(.object(envelope), as: sender)
    }

    /// Sends an arbitrary document.
    @discardableResult
    func sendRaw(_ document: JSONValue, as sender: String) -> (answer: SubmissionDesk.Answer, due: [GeneratedMessage]) {
        try! store.transaction { transaction in
            let due = try router.fireDueTimers(at: now, in: transaction)
            return (try router.submit(document, from: sender, at: now, in: transaction), due)
        }
    }

    /// Moves the clock on and fires what falls due.
    @discardableResult
    func advance(to text: String) -> [GeneratedMessage] {
        now = instant(text)
        return try! store.transaction { try router.fireDueTimers(at: now, in: $0) }
    }

    /// The claimant's record.
    func person(_ nino: String = "AB123456C") -> PersonRecord? {
        store.contents.people[String(nino.prefix(8))]
    }

    // MARK: Common stories

    /// A CWP referral from jcp-leeds to cwp-a.
    @discardableResult
    func referToPlacement(
        nino: String = "AB123456C", on date: String = "2026-01-12", wpci: String = "2025-12-01",
        extra: [String: JSONValue] = [:], as sender: String = "jcp-leeds", to provider: String = "cwp-a"
    ) -> SubmissionDesk.Answer {
        var body: [String: JSONValue] = [
            "referralDate": .string(date), "wpciDate": .string(wpci),
            "engagementMeeting": .string("\(date)T10:00:00Z"), "restrictions": .string("none"), "alerts": .array([]),
        ]
        body.merge(extra) { $1 }
        return send("cwp.referral", as: sender, at: "\(date)T09:00:00Z", nino: nino, to: provider, body: body).answer
    }

    /// A referral and a start on the next Monday-ish date.
    func startPlacement(nino: String = "AB123456C", referred: String = "2026-01-12", started: String = "2026-01-19") {
        referToPlacement(nino: nino, on: referred)
        send("cwp.start", as: "cwp-a", at: "\(started)T09:00:00Z", nino: nino, body: ["startDate": .string(started)])
    }

    /// A reported absence whose reason is never decided automatically, so that it waits for the SPOC.
    @discardableResult
    func absenceForTheSPOC(from: String, to: String, at: String) -> SubmissionDesk.Answer {
        send(
            "cwp.absence", as: "cwp-a", at: at,
            body: ["reported": .bool(true), "reason": .string("court"), "from": .string(from), "to": .string(to)]
        ).answer
    }

    /// The claim moves from jcp-leeds to `newJobcentre` on `date`, within travel distance of the placement.
    @discardableResult
    func transferClaim(to newJobcentre: String = "jcp-york", on date: String, at: String) -> SubmissionDesk.Answer {
        send(
            "cwp.claim-transfer", as: "jcp-leeds", at: at,
            body: [
                "newJobcentre": .string(newJobcentre), "transferDate": .string(date), "withinCpa": .bool(true), "withinTravelDistance": .bool(true),
            ]
        ).answer
    }

    /// A reported absence.
    @discardableResult
    func absence(
        _ reason: String, from: String, to: String, evidence: String? = nil, reported: Bool = true,
        nino: String = "AB123456C", as sender: String = "cwp-a"
    ) -> SubmissionDesk.Answer {
        var body: [String: JSONValue] = [
            "reported": .bool(reported), "reason": .string(reason), "from": .string(from), "to": .string(to),
        ]
        if let evidence { body["evidence"] = .string(evidence) }
        let at = max(now, instant("\(to)T18:00:00Z"))
        now = at
        return send("cwp.absence", as: sender, nino: nino, body: body).answer
    }

    /// A WP referral from jcp-leeds to prime-a.
    @discardableResult
    func referToWorkProgramme(
        on date: String = "2024-12-02", benefit: String = "JSA", mandatory: Bool = true, as sender: String = "jcp-leeds",
        nino: String = "AB123456C"
    ) -> SubmissionDesk.Answer {
        send(
            "wp.referral", as: sender, at: "\(date)T09:00:00Z", nino: nino, to: "prime-a",
            body: ["referralDate": .string(date), "benefit": .string(benefit), "mandatory": .bool(mandatory)]
        ).answer
    }

    /// An information-session referral from jcp-leeds to prime-a.
    @discardableResult
    func referToInformationSession(
        on date: String = "2026-02-02", group: String = "esa-c-wrag", mandatory: Bool = true, nino: String = "AB123456C"
    ) -> SubmissionDesk.Answer {
        send(
            "wp.info-session.referral", as: "jcp-leeds", at: "\(date)T09:00:00Z", nino: nino, to: "prime-a",
            body: ["referralDate": .string(date), "mandatory": .bool(mandatory), "esaGroup": .string(group)]
        ).answer
    }
}

extension SubmissionDesk.Answer {
    /// The decision's outcome.
    var outcome: String? { response["decision"]?["outcome"]?.stringValue }
    /// The refusal code.
    var code: String? { response["code"]?.stringValue }
    /// A field of the decision.
    func decision(_ key: String) -> JSONValue? { response["decision"]?[key] }
    /// Where it was routed.
    var routedTo: [String] { response["routedTo"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    /// The bad fields of an invalid-message answer.
    var badFields: [String] { response["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? [] }
}
