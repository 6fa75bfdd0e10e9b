import LiaisonCore
import Testing

@Suite struct RouterTests {
    private let referralBody: [String: JSONValue] = [
        "referralDate": .string("2026-01-12"), "wpciDate": .string("2025-12-01"),
        "engagementMeeting": .string("2026-01-19T10:00:00Z"), "restrictions": .string("none"), "alerts": .array([]),
    ]

    @Test func aResentMessageAnswersAsTheFirstTimeAndStoresNothingTwice() {
        let harness = Harness()
        let id = harness.nextID()
        let first = harness.send("cwp.referral", as: "jcp-leeds", to: "cwp-a", id: id, body: referralBody).answer
        let second = harness.send("cwp.referral", as: "jcp-leeds", to: "cwp-a", id: id, body: referralBody).answer
        #expect(first.status == 202)
        #expect(second.replayed)
        #expect(second.response == first.response)
        #expect(harness.store.contents.accepted.count == 1)
    }

    @Test func theSameIDWithOtherContentIsAConflict() {
        let harness = Harness()
        let id = harness.nextID()
        harness.send("cwp.referral", as: "jcp-leeds", to: "cwp-a", id: id, body: referralBody)
        let conflict = harness.send("cwp.referral", as: "jcp-leeds", to: "cwp-b", id: id, body: referralBody).answer
        #expect(conflict.status == 409)
        #expect(conflict.code == "id-conflict")
        // Conflict is judged before validation: even a broken resend of an accepted id is a conflict.
        let broken = harness.sendRaw(.object(["id": .string(id), "type": .string("nonsense")]), as: "jcp-leeds").answer
        #expect(broken.code == "id-conflict")
    }

    @Test func anotherPartyResendingTheSameDocumentGetsAConflictNotTheAnswer() {
        let harness = Harness()
        let id = harness.nextID()
        var document: [String: JSONValue] = [
            "id": .string(id), "type": .string("cwp.referral"), "from": .string("jcp-leeds"), "to": .string("cwp-a"),
            "nino": .string("AB123456C"), "sentAt": .string("2026-01-12T09:00:00Z"), "body": .object(referralBody),
        ]
        #expect(harness.sendRaw(.object(document), as: "jcp-leeds").answer.status == 202)
        // The same bytes from jcp-york (claiming to be jcp-leeds) must not be answered with jcp-leeds's decision.
        let copied = harness.sendRaw(.object(document), as: "jcp-york").answer
        #expect(copied.status == 409)
        #expect(copied.code == "id-conflict")
        #expect(!copied.replayed)
        #expect(copied.response["decision"] == nil)
        document["from"] = nil
        #expect(harness.sendRaw(.object(document), as: "jcp-york").answer.code == "id-conflict")
        #expect(harness.store.contents.accepted.count == 1)
    }

    @Test func theIDOfAMessageLiaisonGeneratedIsTaken() {
        let harness = Harness()
        harness.startPlacement()
        // An SCR message becomes a clerical task with an id of Liaison's own; that id cannot be submitted.
        let scr = harness.send("cwp.start", as: "cwp-a", scr: true, body: ["startDate": .string("2026-01-19")])
        #expect(scr.answer.code == "scr-clerical-only")
        let generated = harness.store.contents.generated
        #expect(generated.count == 1)
        let reused = harness.send("cwp.start", as: "cwp-a", id: generated[0].id, body: ["startDate": .string("2026-01-19")]).answer
        #expect(reused.status == 409)
        #expect(reused.code == "id-conflict")
    }

    @Test func anSCRMessageSentAgainGetsNoSecondClericalTask() {
        let harness = Harness()
        harness.startPlacement()
        let id = harness.nextID()
        let body: [String: JSONValue] = ["startDate": .string("2026-01-19")]
        let first = harness.send("cwp.start", as: "cwp-a", id: id, scr: true, body: body).answer
        #expect(first.code == "scr-clerical-only")
        #expect(first.emitted.map(\.type) == [.clericalTask])
        // Sent again (its answer lost, say): refused again, judged afresh, but the officer has its task.
        let again = harness.send("cwp.start", as: "cwp-a", id: id, scr: true, body: body).answer
        #expect(again.code == "scr-clerical-only")
        #expect(again.emitted.isEmpty)
        #expect(harness.store.contents.generated.filter { $0.type == .clericalTask }.count == 1)
        // Sent again corrected to another type: the officer must hear of that type, in a task of its own.
        let corrected = harness.send(
            "cwp.completion", as: "cwp-a", id: id, scr: true, body: ["completionDate": .string("2026-03-02"), "onBenefit": .bool(true)]
        ).answer
        #expect(corrected.emitted.map { $0.body["type"] } == [.string("cwp.completion")])
        // Another SCR message gets its own.
        #expect(harness.send("cwp.start", as: "cwp-a", scr: true, body: body).answer.emitted.map(\.type) == [.clericalTask])
        #expect(harness.store.contents.generated.filter { $0.type == .clericalTask }.count == 3)
    }

    @Test func keyOrderAndWhiteSpaceDoNotMakeADifferentContent() throws {
        let harness = Harness()
        let text =
            #"{"id":"6f1c9a1e-0000-4000-8000-000000000001","type":"cwp.referral","to":"cwp-a","nino":"AB123456C","sentAt":"2026-01-12T09:00:00Z","body":{"referralDate":"2026-01-12","wpciDate":"2025-12-01","engagementMeeting":"2026-01-19T10:00:00Z","restrictions":"none","alerts":[]}}"#
        let reordered =
            #"{ "body": {"alerts": [], "restrictions": "none", "engagementMeeting": "2026-01-19T10:00:00Z", "wpciDate": "2025-12-01", "referralDate": "2026-01-12"}, "sentAt": "2026-01-12T09:00:00Z", "nino": "AB123456C", "to": "cwp-a", "from": "jcp-leeds", "type": "cwp.referral", "id": "6f1c9a1e-0000-4000-8000-000000000001" }"#
        let first = try harness.store.transaction { try harness.router.submit(Array(text.utf8), from: "jcp-leeds", at: harness.now, in: $0) }
        let second = try harness.store.transaction { try harness.router.submit(Array(reordered.utf8), from: "jcp-leeds", at: harness.now, in: $0) }
        #expect(first.status == 202)
        #expect(second.replayed)
    }

    @Test func theNINOIsStoredNormalisedSoItsSpellingDoesNotMakeADifferentContent() {
        let harness = Harness()
        let id = harness.nextID()
        let first = harness.send("cwp.referral", as: "jcp-leeds", nino: "ab 12 34 56 c", to: "cwp-a", id: id, body: referralBody).answer
        #expect(first.status == 202)
        #expect(harness.store.contents.accepted.first?.envelope.json["nino"] == .string("AB123456C"))
        let again = harness.send("cwp.referral", as: "jcp-leeds", nino: "AB123456C", to: "cwp-a", id: id, body: referralBody).answer
        #expect(again.replayed)
    }

    @Test func anIDInUpperCaseIsTheSameMessage() {
        let harness = Harness()
        let id = "6f1c9a1e-abcd-4e0f-8000-00000000beef"
        let upper = id.uppercased()
        #expect(upper != id)
        // First in upper case: stored, answered and routed under the lower-case form.
        let first = harness.send("cwp.referral", as: "jcp-leeds", to: "cwp-a", id: upper, body: referralBody).answer
        #expect(first.status == 202)
        #expect(first.response["id"] == .string(id))
        #expect(first.messageID == id)
        #expect(harness.store.contents.accepted.first?.envelope.id == id)
        #expect(harness.store.contents.accepted.first?.envelope.json["id"] == .string(id))
        // The same message again, in either case: the first answer, nothing stored twice.
        for again in [id, upper, String(upper.prefix(8)) + id.dropFirst(8)] {
            let answer = harness.send("cwp.referral", as: "jcp-leeds", to: "cwp-a", id: again, body: referralBody).answer
            #expect(answer.replayed)
            #expect(answer.response == first.response)
        }
        #expect(harness.store.contents.accepted.count == 1)
        // Other content under the upper-case form is still a conflict.
        #expect(harness.send("cwp.referral", as: "jcp-leeds", to: "cwp-b", id: upper, body: referralBody).answer.code == "id-conflict")
    }

    @Test func theSCRFlagsDefaultAndANullToDoNotMakeADifferentContent() {
        let harness = Harness()
        let id = harness.nextID()
        let document: [String: JSONValue] = [
            "id": .string(id), "type": .string("cwp.referral"), "to": .string("cwp-a"),
            "nino": .string("AB123456C"), "sentAt": .string("2026-01-12T09:00:00Z"), "body": .object(referralBody),
        ]
        #expect(harness.sendRaw(.object(document), as: "jcp-leeds").answer.status == 202)
        // What is stored and delivered says scr: false, as the protocol's default.
        #expect(harness.store.contents.accepted.first?.envelope.json["scr"] == .bool(false))
        var explicit = document
        explicit["scr"] = .bool(false)
        #expect(harness.sendRaw(.object(explicit), as: "jcp-leeds").answer.replayed)
        explicit["scr"] = .null
        #expect(harness.sendRaw(.object(explicit), as: "jcp-leeds").answer.replayed)
        #expect(harness.store.contents.accepted.count == 1)
        // scr: true is other content.
        explicit["scr"] = .bool(true)
        #expect(harness.sendRaw(.object(explicit), as: "jcp-leeds").answer.code == "id-conflict")

        // A `to` of null is a `to` left out.
        let second = harness.nextID()
        let start: [String: JSONValue] = [
            "id": .string(second), "type": .string("cwp.start"), "nino": .string("AB123456C"),
            "sentAt": .string(Timestamp.format(harness.now)), "body": .object(["startDate": .string("2026-01-19")]),
        ]
        #expect(harness.sendRaw(.object(start), as: "cwp-a").answer.status == 202)
        var withNullTo = start
        withNullTo["to"] = .null
        #expect(harness.sendRaw(.object(withNullTo), as: "cwp-a").answer.replayed)
    }

    @Test func aRefusedIDMayBeSentAgainAndIsJudgedAfresh() {
        let harness = Harness()
        let id = harness.nextID()
        var body = referralBody
        body["wpciDate"] = .string("2025-10-01")
        #expect(harness.send("cwp.referral", as: "jcp-leeds", to: "cwp-a", id: id, body: body).answer.code == "assessment-window-closed")
        #expect(harness.send("cwp.referral", as: "jcp-leeds", to: "cwp-a", id: id, body: referralBody).answer.status == 202)
    }

    @Test func aBodyThatIsNotJSONIsMalformed() throws {
        let harness = Harness()
        let answer = try harness.store.transaction { try harness.router.submit(Array("{nope".utf8), from: "cwp-a", at: harness.now, in: $0) }
        #expect(answer.status == 400)
        #expect(answer.code == "malformed-json")
        #expect(answer.response["type"] == .string("about:blank"))
        #expect(answer.response["status"] == .number(400))
    }

    @Test func refusalsAreAuditedWithoutBodiesOrFullNINOs() {
        let harness = Harness()
        harness.send("cwp.start", as: "cwp-a", nino: "AB123456C", body: ["startDate": .string("2026-01-19")])
        harness.send("cwp.start", as: "cwp-a", nino: "QQ123456C", body: ["startDate": .string("2026-01-19")])
        let refusals = harness.store.contents.refusals
        #expect(refusals.map(\.code) == [.unknownCase, .invalidNINO])
        #expect(refusals.map(\.maskedNINO) == ["AB12****", "QQ12****"])
        for refusal in refusals { #expect(!refusal.detail.contains("123456")) }
    }

    @Test func everyAcceptedAnswerCarriesADecisionWithRuleBasisAndExplanation() {
        let harness = Harness()
        let answer = harness.referToPlacement()
        #expect(answer.response["status"] == .string("accepted"))
        #expect(answer.response["id"] != nil)
        let decision = answer.response["decision"]
        #expect(decision?["rule"]?.stringValue?.isEmpty == false)
        #expect(decision?["basis"]?.arrayValue?.isEmpty == false)
        #expect(decision?["explanation"]?.stringValue?.contains("2026-08-10") == true)
    }

    @Test func problemDocumentsFollowRFC9457() {
        let harness = Harness()
        let answer = harness.send("cwp.absence", as: "cwp-a", body: [:]).answer
        #expect(answer.status == 422)
        let response = answer.response
        #expect(response["type"] == .string("about:blank"))
        #expect(response["title"] == .string("Invalid message"))
        #expect(response["status"] == .number(422))
        #expect(response["code"] == .string("invalid-message"))
        #expect(response["errors"]?.arrayValue?.count == 4)
    }
}
