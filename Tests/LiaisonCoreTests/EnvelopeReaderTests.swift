import Testing

@testable import LiaisonCore

@Suite struct EnvelopeReaderTests {
    let reader = EnvelopeReader(rules: shippedRules)
    /// When the messages here were received: a minute after they say they were sent.
    let received = instant("2026-03-02T09:16:00Z")

    private func envelope(_ type: String, body: JSONValue, extra: [String: JSONValue] = [:]) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string("0d6c6c2e-4b7e-4a0b-9f0e-5f4b8b3f2a11"), "type": .string(type), "sentAt": .string("2026-03-02T09:15:00Z"),
            "nino": .string("AB123456C"), "body": body,
        ]
        // A referral names its provider; this reader has no directory, so any party id will do.
        if MessageType(rawValue: type)?.referredTo != nil { fields["to"] = .string("a-provider") }
        fields.merge(extra) { $1 }
        return .object(fields)
    }

    private func refusal(_ document: JSONValue, sender: String = "cwp-a") -> Refusal? {
        do {
            _ = try reader.read(document, sender: sender, receivedAt: received)
            return nil
        } catch let refusal as Refusal {
            return refusal
        } catch {
            return nil
        }
    }

    @Test func aReferralNeedsATo() {
        let referral = envelope(
            "wp.referral", body: .object(["referralDate": .string("2026-01-12"), "benefit": .string("JSA"), "mandatory": .bool(true)]))
        guard case .object(var fields) = referral else { return }
        #expect(refusal(referral, sender: "jcp-leeds") == nil)
        fields["to"] = nil
        #expect(refusal(.object(fields), sender: "jcp-leeds")?.errors.map(\.field) == ["to"])
    }

    @Test func theCatalogueHas26SubmittableTypes() {
        #expect(MessageType.submittable.count == 26)
        for type in MessageType.submittable { #expect(BodySchema.of(type, rules: shippedRules) != nil) }
    }

    @Test func readsAValidEnvelopeAndFillsInTheSender() throws {
        let document = envelope("cwp.start", body: .object(["startDate": .string("2026-01-19")]), extra: ["nino": .string("ab 12 34 56 c")])
        let read = try reader.read(document, sender: "cwp-a", receivedAt: received)
        #expect(read.from == "cwp-a")
        #expect(read.nino.value == "AB123456C")
        #expect(read.scr == false)
        #expect(read.json["from"] == .string("cwp-a"))
        // What is stored and delivered carries the NINO as normalised.
        #expect(read.json["nino"] == .string("AB123456C"))
    }

    @Test func reportsEveryBadFieldAtOnce() {
        let document: JSONValue = .object([
            "id": .string("not-a-uuid"), "type": .string("cwp.absence"), "sentAt": .string("yesterday"),
            "nino": .string("AB123456C"), "scr": .string("no"), "colour": .string("blue"),
            "body": .object([
                "reported": .string("yes"), "reason": .string("holiday"), "from": .string("2026-02-30"),
                "to": .number(3), "evidence": .string("doctor"), "extra": .bool(true),
            ]),
        ])
        let refused = refusal(document)
        #expect(refused?.code == .invalidMessage)
        let fields = Set(refused?.errors.map(\.field) ?? [])
        #expect(fields == ["id", "sentAt", "scr", "colour", "body.reported", "body.reason", "body.from", "body.to", "body.evidence", "body.extra"])
    }

    @Test func anUnknownFieldIsNamedOnlyWhenItsNameLooksLikeAFieldName() throws {
        let body: JSONValue = .object([
            "startDate": .string("2026-01-19"), "AB654321D": .string("x"), "note": .string("x"), "start date": .string("x"),
        ])
        let document = envelope(
            "cwp.start", body: body,
            extra: ["AB123456C": .string("x"), "Claimant said he was ill": .string("x"), "colour": .string("x")])
        let refused = try #require(refusal(document))
        #expect(refused.code == .invalidMessage)
        // A key is the caller's text and might be a NINO or a note: such names are not repeated, once per level.
        #expect(refused.errors.map(\.field) == ["colour", "(message)", "body.note", "body"])
        let answer = refused.problemDocument.canonicalText
        for secret in ["654321", "123456", "ill", "start date"] { #expect(!answer.contains(secret)) }
        #expect(FieldProblem.looksLikeFieldName("referralDate"))
        #expect(FieldProblem.looksLikeFieldName("line2"))
        for name in ["", "2fa", "AB123456C", "ab123456c", "x y", "naïve", String(repeating: "a", count: 41)] {
            #expect(!FieldProblem.looksLikeFieldName(name))
        }
    }

    @Test func toBeforeFromIsInvalid() {
        let body: JSONValue = .object([
            "reported": .bool(true), "reason": .string("sickness"), "from": .string("2026-02-10"), "to": .string("2026-02-09"),
        ])
        let refused = refusal(envelope("cwp.absence", body: body))
        #expect(refused?.code == .invalidMessage)
        #expect(refused?.errors.map(\.field) == ["body.to"])
    }

    @Test func anUnknownTypeIsRefusedBeforeTheBodyIsRead() {
        #expect(refusal(envelope("cwp.holiday", body: .array([])))?.code == .unknownType)
        #expect(refusal(envelope("cwp.start", body: .object([:]), extra: ["type": .number(3)]))?.code == .unknownType)
    }

    @Test func anInvalidNINOIsItsOwnCode() {
        let refused = refusal(envelope("cwp.start", body: .object(["startDate": .string("2026-01-19")]), extra: ["nino": .string("QQ123456C")]))
        #expect(refused?.code == .invalidNINO)
        #expect(refused?.detail.contains("QQ") == false)
    }

    @Test func aMissingNINOIsAnInvalidMessage() {
        var fields = envelope("cwp.start", body: .object(["startDate": .string("2026-01-19")])).objectValue!
        fields["nino"] = nil
        #expect(refusal(.object(fields))?.errors.map(\.field) == ["nino"])
    }

    @Test func aMessageThatIsNotAnObjectIsInvalid() {
        #expect(refusal(.array([]))?.code == .invalidMessage)
        #expect(refusal(.string("hello"))?.code == .invalidMessage)
    }

    @Test func fromMustBeTheAuthenticatedParty() {
        let document = envelope("cwp.start", body: .object(["startDate": .string("2026-01-19")]), extra: ["from": .string("cwp-b")])
        #expect(refusal(document, sender: "cwp-a")?.code == .notPermitted)
    }

    @Test(arguments: MessageType.submittable)
    func aBodyThatIsNotAnObjectIsInvalid(type: MessageType) {
        for body: JSONValue in [.array([]), .string("x"), .number(1), .null] {
            let refused = refusal(envelope(type.rawValue, body: body))
            #expect(refused?.code == .invalidMessage)
            #expect(refused?.errors.map(\.field) == ["body"])
        }
    }

    @Test(arguments: MessageType.submittable)
    func anEmptyBodyNamesEveryRequiredField(type: MessageType) {
        let schema = BodySchema.of(type, rules: shippedRules)!
        let required = schema.fields.filter(\.required).map { "body.\($0.name)" }
        let refused = refusal(envelope(type.rawValue, body: .object([:])))
        #expect(refused?.code == .invalidMessage)
        #expect(Set(refused?.errors.map(\.field) ?? []) == Set(required))
        #expect(!required.isEmpty)
    }

    @Test(arguments: MessageType.submittable)
    func everyFieldOfTheWrongKindIsNamed(type: MessageType) {
        let schema = BodySchema.of(type, rules: shippedRules)!
        var body: [String: JSONValue] = [:]
        for field in schema.fields {
            switch field.kind {
            case .date, .dateTime, .dateOrDateTime, .birthDate, .uuid: body[field.name] = .number(20_260_101)
            case .bool: body[field.name] = .string("yes")
            case .text, .note: body[field.name] = .bool(true)
            case .oneOf: body[field.name] = .string("no-such-value")
            case .listOf: body[field.name] = .array([.string("no-such-value")])
            case .integer: body[field.name] = .string("ten")
            }
        }
        let refused = refusal(envelope(type.rawValue, body: .object(body)))
        #expect(refused?.code == .invalidMessage)
        #expect(Set(refused?.errors.map(\.field) ?? []) == Set(schema.fields.map { "body.\($0.name)" }))
    }

    /// A body that fits `schema`: each field of its kind, dates a week before receipt.
    private func validBody(_ schema: BodySchema, optionals: Bool = true) -> [String: JSONValue] {
        var body: [String: JSONValue] = [:]
        for field in schema.fields where field.required || optionals {
            switch field.kind {
            case .date: body[field.name] = .string("2026-02-23")
            case .dateTime, .dateOrDateTime: body[field.name] = .string("2026-02-23T10:00:00Z")
            case .birthDate: body[field.name] = .string("1980-05-17")
            case .bool: body[field.name] = .bool(true)
            case .text, .note: body[field.name] = .string("some words")
            case .oneOf(let allowed): body[field.name] = .string(allowed.sorted()[0])
            case .listOf(let allowed): body[field.name] = .array([.string(allowed.sorted()[0])])
            case .integer(let range): body[field.name] = .int(range.upperBound)
            case .uuid: body[field.name] = .string("0d6c6c2e-4b7e-4a0b-9f0e-5f4b8b3f2a12")
            }
        }
        return body
    }

    /// The typed body of every type reads every field of its schema, and a body the schema takes always reads:
    /// the two cannot disagree without this failing, so the rules never meet a field they cannot read.
    @Test(arguments: MessageType.submittable)
    func theTypedBodyReadsEveryFieldTheSchemaChecks(type: MessageType) throws {
        let schema = try #require(BodySchema.of(type, rules: shippedRules))
        for optionals in [true, false] {
            let body = validBody(schema, optionals: optionals)
            #expect(schema.problems(in: body).isEmpty, "\(type.rawValue)")
            let fields = BodyFields(body)
            let message = try MessageBody(type, fields)
            if case .generated = message { Issue.record("\(type.rawValue) read as a generated type") }
            #expect(fields.names == Set(schema.fields.map(\.name)), "\(type.rawValue)")
        }
        let sender = type.senders.sorted { $0.rawValue < $1.rawValue }[0]
        let read = try reader.read(envelope(type.rawValue, body: .object(validBody(schema))), sender: "\(sender)-x", receivedAt: received)
        #expect(read.type == type)
    }

    /// A field the schema and the typed body disagree on is refused 422 naming it, never a trap.
    @Test func aTypedBodyMissingAFieldIsRefusedNamingIt() {
        #expect(throws: Refusal.invalid("body.startDate", "is required as a date")) {
            try MessageBody(.cwpStart, BodyFields([:]))
        }
        #expect(throws: Refusal.invalid("body.failure", "is required as one of its listed values")) {
            try MessageBody(.cwpDMAReferral, BodyFields(["failure": .string("overslept"), "failureDate": .string("2026-01-01")]))
        }
    }

    // MARK: Plausible dates (rules.yaml `dates`)

    @Test func aDateBeforeTheProgrammesBeganOrMoreThanTwoYearsAheadIsRefusedNamingTheField() {
        func start(_ date: String) -> Refusal? {
            refusal(envelope("cwp.start", body: .object(["startDate": .string(date)])))
        }
        #expect(start("2011-01-01") == nil)
        #expect(start("2028-03-02") == nil)
        for implausible in ["0001-01-01", "2010-12-31", "2028-03-03", "9999-12-31"] {
            let refused = start(implausible)
            #expect(refused?.code == .invalidMessage, "\(implausible)")
            #expect(refused?.errors.map(\.field) == ["body.startDate"], "\(implausible)")
        }
        // A date-time too, judged by its UK date.
        let referral = envelope(
            "cwp.referral",
            body: .object([
                "referralDate": .string("0001-01-01"), "wpciDate": .string("2025-12-01"),
                "engagementMeeting": .string("0001-01-08T10:00:00Z"), "restrictions": .string(""), "alerts": .array([]),
            ]))
        #expect(Set(refusal(referral, sender: "jcp-leeds")?.errors.map(\.field) ?? []) == ["body.referralDate", "body.engagementMeeting"])
    }

    @Test func sentAtMayNotRunAheadOfReceiptByMoreThanFiveMinutes() {
        func sent(_ at: String) -> Refusal? {
            refusal(envelope("cwp.start", body: .object(["startDate": .string("2026-02-23")]), extra: ["sentAt": .string(at)]))
        }
        #expect(sent("2026-03-02T09:21:00Z") == nil)
        #expect(sent("2026-03-01T09:16:00Z") == nil)
        for implausible in ["2026-03-02T09:21:01Z", "9999-12-31T23:59:59Z", "2010-12-31T23:59:59Z"] {
            #expect(sent(implausible)?.errors.map(\.field) == ["sentAt"], "\(implausible)")
        }
    }

    @Test func aDateOfBirthIsInThePastAndAfter1900() throws {
        let schema = try #require(BodySchema.of(.wpExitReport, rules: shippedRules))
        func born(_ date: String) -> Refusal? {
            var body = validBody(schema)
            body["dateOfBirth"] = .string(date)
            return refusal(envelope("wp.exit-report", body: .object(body)), sender: "prime-a")
        }
        #expect(born("1950-01-01") == nil)
        #expect(born("2026-03-02") == nil)
        for implausible in ["1899-12-31", "2026-03-03", "0001-01-01"] {
            #expect(born(implausible)?.errors.map(\.field) == ["body.dateOfBirth"], "\(implausible)")
        }
    }

    @Test func theSchemasHoldTheCatalogueFields() {
        func required(_ type: MessageType) -> Set<String> {
            Set(BodySchema.of(type, rules: shippedRules)!.fields.filter(\.required).map(\.name))
        }
        #expect(required(.cwpReferral) == ["referralDate", "wpciDate", "engagementMeeting", "restrictions", "alerts"])
        #expect(
            required(.wpExitReport) == ["surname", "otherNames", "dateOfBirth", "actionsAgreed", "furtherInformation", "nextSteps", "adviserName"])
        #expect(required(.cwpClaimTransfer) == ["newJobcentre", "transferDate", "withinCpa", "withinTravelDistance"])
        #expect(required(.wpExitReportRequest) == ["benefit", "endDate"])
    }

    @Test func hoursAvailableMustBeBetweenOneAndForty() {
        func hours(_ value: JSONValue) -> Refusal? {
            refusal(
                envelope(
                    "cwp.referral",
                    body: .object([
                        "referralDate": .string("2026-01-12"), "wpciDate": .string("2025-12-01"),
                        "engagementMeeting": .string("2026-01-19T10:00:00Z"), "restrictions": .string(""),
                        "alerts": .array([.string("care-requirements")]), "hoursAvailable": value,
                    ])), sender: "jcp-leeds")
        }
        #expect(hours(.number(1)) == nil)
        #expect(hours(.number(40)) == nil)
        #expect(hours(.number(0))?.errors.map(\.field) == ["body.hoursAvailable"])
        #expect(hours(.number(41))?.errors.map(\.field) == ["body.hoursAvailable"])
        #expect(hours(.number(20.5))?.errors.map(\.field) == ["body.hoursAvailable"])
    }
}
