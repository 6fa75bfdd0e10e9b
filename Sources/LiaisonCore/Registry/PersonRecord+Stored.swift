// How each registry record is stored: the same fields, keys and kinds as its `Codable` conformance, written
// and read directly (see `StoredRecord`). A field added to a record must be added here too;
// `StoredRecordTests` fails until it is.

extension PersonRecord: StoredRecord {
    public func write(to record: inout StoredRecordWriter) {
        record.field("key", key)
        record.field("nino", nino.value)
        record.field("jobcentre", jobcentre)
        record.field("workProgramme", workProgramme)
        record.field("earlierWorkProgrammes", earlierWorkProgrammes)
        record.field("placement", placement)
        record.field("absences", absences)
        record.field("failures", failures)
        record.field("timers", timers)
    }

    public init(stored fields: StoredFields) throws {
        let text: String = try fields.string("nino")
        guard let nino = NINO(text) else { throw StoredRecordError.wrongKind(path: "nino", expected: "a NINO") }
        self.init(nino: nino)
        key = try fields.string("key")
        jobcentre = try fields.string("jobcentre")
        workProgramme = try fields.record("workProgramme")
        let earlier: [WorkProgrammeCase] = try fields.records("earlierWorkProgrammes", orEmpty: true)
        earlierWorkProgrammes = earlier.isEmpty ? nil : earlier
        placement = try fields.record("placement")
        absences = try fields.records("absences")
        failures = try fields.records("failures")
        timers = try fields.records("timers")
    }
}

extension WorkProgrammeCase: StoredRecord {
    public func write(to record: inout StoredRecordWriter) {
        record.field("id", id)
        record.field("prime", prime)
        record.field("kind", kind)
        record.field("referralDate", referralDate)
        record.field("benefit", benefit)
        record.field("participationMandatory", participationMandatory)
        record.field("sessionMandatory", sessionMandatory)
        record.field("esaGroup", esaGroup)
        record.field("attachmentDeadline", attachmentDeadline)
        record.field("wp11FollowUpDate", wp11FollowUpDate)
        record.field("attachedOn", attachedOn)
        record.field("pendingExitReport", pendingExitReport)
        record.field("ended", ended)
    }

    public init(stored fields: StoredFields) throws {
        self.init(
            id: try fields.string("id"), prime: try fields.string("prime"), kind: try fields.value("kind"),
            referralDate: try fields.date("referralDate"), benefit: try fields.string("benefit"),
            participationMandatory: try fields.bool("participationMandatory"),
            sessionMandatory: try fields.bool("sessionMandatory"), esaGroup: try fields.string("esaGroup"),
            attachmentDeadline: try fields.date("attachmentDeadline"), wp11FollowUpDate: try fields.date("wp11FollowUpDate"),
            attachedOn: try fields.date("attachedOn"), pendingExitReport: try fields.record("pendingExitReport"),
            ended: try fields.record("ended"))
    }
}

extension PlacementCase: StoredRecord {
    public func write(to record: inout StoredRecordWriter) {
        record.field("id", id)
        record.field("provider", provider)
        record.field("originalReferralDate", originalReferralDate)
        record.field("referralDate", referralDate)
        record.field("wpciDate", wpciDate)
        record.field("expectedEndDate", expectedEndDate)
        record.field("startedOn", startedOn)
        record.field("hadDidNotAttendOrStart", hadDidNotAttendOrStart)
        record.field("barred", barred)
        record.field("completion", completion)
        record.field("pendingFeedback", pendingFeedback)
        record.field("ended", ended)
    }

    public init(stored fields: StoredFields) throws {
        self.init(
            id: try fields.string("id"), provider: try fields.string("provider"),
            originalReferralDate: try fields.date("originalReferralDate"), referralDate: try fields.date("referralDate"),
            wpciDate: try fields.date("wpciDate"), expectedEndDate: try fields.date("expectedEndDate"),
            startedOn: try fields.date("startedOn"), hadDidNotAttendOrStart: try fields.bool("hadDidNotAttendOrStart"),
            barred: try fields.bool("barred"), completion: try fields.record("completion"),
            pendingFeedback: try fields.record("pendingFeedback"), ended: try fields.record("ended"))
    }
}

extension PlacementCase.Completion: StoredRecord {
    public func write(to record: inout StoredRecordWriter) {
        record.field("date", date)
        record.field("onBenefit", onBenefit)
    }

    public init(stored fields: StoredFields) throws {
        self.init(date: try fields.date("date"), onBenefit: try fields.bool("onBenefit"))
    }
}

extension PendingRequest: StoredRecord {
    public func write(to record: inout StoredRecordWriter) {
        record.field("requestID", requestID)
        record.field("deadline", deadline)
    }

    public init(stored fields: StoredFields) throws {
        self.init(requestID: try fields.string("requestID"), deadline: try fields.date("deadline"))
    }
}

extension CaseEnding: StoredRecord {
    public func write(to record: inout StoredRecordWriter) {
        record.field("reason", reason)
        record.field("date", date)
    }

    public init(stored fields: StoredFields) throws {
        self.init(reason: try fields.value("reason"), date: try fields.date("date"))
    }
}

extension Absence: StoredRecord {
    public func write(to record: inout StoredRecordWriter) {
        record.field("id", id)
        record.field("caseID", caseID)
        record.field("reason", reason)
        record.field("from", from)
        record.field("to", to)
        record.field("evidence", evidence)
        record.field("state", state)
        record.field("sicknessPeriod", sicknessPeriod)
        record.field("referredTo", referredTo)
    }

    public init(stored fields: StoredFields) throws {
        self.init(
            id: try fields.string("id"), caseID: try fields.string("caseID"), reason: try fields.string("reason"),
            from: try fields.date("from"), to: try fields.date("to"), evidence: try fields.string("evidence"),
            state: try fields.value("state"), sicknessPeriod: try fields.value("sicknessPeriod"),
            referredTo: try fields.string("referredTo"))
    }
}

extension SanctionableFailure: StoredRecord {
    public func write(to record: inout StoredRecordWriter) {
        record.field("messageID", messageID)
        record.field("level", level)
        record.field("failureDate", failureDate)
        record.field("weeks", weeks)
    }

    public init(stored fields: StoredFields) throws {
        self.init(
            messageID: try fields.string("messageID"), level: try fields.value("level"),
            failureDate: try fields.date("failureDate"), weeks: try fields.int("weeks"))
    }
}

extension CaseTimer: StoredRecord {
    public func write(to record: inout StoredRecordWriter) {
        record.field("id", id)
        record.field("kind", kind)
        record.field("caseID", caseID)
        record.field("regarding", regarding)
        record.field("deadline", deadline)
        record.field("fireDate", fireDate)
        record.field("absenceID", absenceID)
        record.field("blocked", blocked)
    }

    public init(stored fields: StoredFields) throws {
        self.init(
            id: try fields.string("id"), kind: try fields.value("kind"), caseID: try fields.string("caseID"),
            regarding: try fields.string("regarding"), deadline: try fields.date("deadline"),
            fireDate: try fields.date("fireDate"), absenceID: try fields.string("absenceID"),
            blocked: try fields.string("blocked"))
    }
}
