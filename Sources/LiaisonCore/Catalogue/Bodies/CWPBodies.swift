import Foundation

// The bodies of the Community Work Placements message types (CATALOGUE.md "Community Work Placements"),
// read from fields the type's `BodySchema` has checked. The rules take these, never the raw fields.

/// `cwp.referral`.
public struct CWPReferral: Sendable {
    public let referralDate: LocalDate
    public let wpciDate: LocalDate
    public let engagementMeeting: Date
    public let hoursAvailable: Int?
    public let restrictions: String
    public let alerts: [String]
    public let expectedConfinementDate: LocalDate?
    public let confirmedJobStartDate: LocalDate?
    /// False when left out.
    public let rereferral: Bool

    init(_ fields: BodyFields) throws {
        referralDate = try fields.date("referralDate")
        wpciDate = try fields.date("wpciDate")
        engagementMeeting = try fields.dateTime("engagementMeeting")
        hoursAvailable = try fields.optionalInteger("hoursAvailable")
        restrictions = try fields.text("restrictions")
        alerts = try fields.textList("alerts")
        expectedConfinementDate = try fields.optionalDate("expectedConfinementDate")
        confirmedJobStartDate = try fields.optionalDate("confirmedJobStartDate")
        rereferral = try fields.optionalFlag("rereferral") ?? false
    }

    /// The dates by which the placement could not be completed (S2 §71), with their field names.
    public var datesBeforeCompletion: [(field: String, date: LocalDate)] {
        [("expectedConfinementDate", expectedConfinementDate), ("confirmedJobStartDate", confirmedJobStartDate)]
            .compactMap { field, date in date.map { (field, $0) } }
    }
}

/// `cwp.start`.
public struct CWPStart: Sendable {
    public let startDate: LocalDate

    init(_ fields: BodyFields) throws {
        startDate = try fields.date("startDate")
    }
}

/// `cwp.absence`.
public struct CWPAbsence: Sendable {
    public let reported: Bool
    public let reason: String
    public let from: LocalDate
    public let to: LocalDate
    /// Self-declared when left out.
    public let evidence: AbsenceEvidence
    public let detail: String?

    init(_ fields: BodyFields) throws {
        reported = try fields.flag("reported")
        reason = try fields.text("reason")
        from = try fields.date("from")
        to = try fields.date("to")
        evidence = try fields.optionalChoice("evidence") ?? .selfDeclared
        detail = try fields.optionalText("detail")
    }
}

/// `cwp.absence.advice`: the SPOC's answer (S2 §65).
public struct CWPAbsenceAdvice: Sendable {
    /// The absence's message id, in lower case.
    public let inReplyTo: String
    public let treatAsAvailable: Bool
    public let note: String?

    init(_ fields: BodyFields) throws {
        inReplyTo = try fields.text("inReplyTo").lowercased()
        treatAsAvailable = try fields.flag("treatAsAvailable")
        note = try fields.optionalText("note")
    }
}

/// `cwp.dma-referral`.
public struct CWPDMAReferral: Sendable {
    public let failure: PlacementFailure
    public let failureDate: LocalDate
    public let detail: String?

    init(_ fields: BodyFields) throws {
        failure = try fields.choice("failure")
        failureDate = try fields.date("failureDate")
        detail = try fields.optionalText("detail")
    }
}

/// `cwp.change-of-circumstances`.
public struct CWPChangeOfCircumstances: Sendable {
    public let change: PlacementChange
    public let effectiveDate: LocalDate
    public let detail: String?

    init(_ fields: BodyFields) throws {
        change = try fields.choice("change")
        effectiveDate = try fields.date("effectiveDate")
        detail = try fields.optionalText("detail")
    }
}

/// `cwp.claim-transfer`.
public struct CWPClaimTransfer: Sendable {
    public let newJobcentre: String
    public let transferDate: LocalDate
    public let withinCpa: Bool
    public let withinTravelDistance: Bool
    /// True when left out.
    public let providerCanDeliver: Bool

    init(_ fields: BodyFields) throws {
        newJobcentre = try fields.text("newJobcentre")
        transferDate = try fields.date("transferDate")
        withinCpa = try fields.flag("withinCpa")
        withinTravelDistance = try fields.flag("withinTravelDistance")
        providerCanDeliver = try fields.optionalFlag("providerCanDeliver") ?? true
    }
}

/// `cwp.unacceptable-behaviour`.
public struct CWPUnacceptableBehaviour: Sendable {
    public let incidentDate: LocalDate
    public let detail: String?

    init(_ fields: BodyFields) throws {
        incidentDate = try fields.date("incidentDate")
        detail = try fields.optionalText("detail")
    }
}

/// `cwp.inappropriate-referral`.
public struct CWPInappropriateReferral: Sendable {
    public let reason: String
    public let detail: String?

    init(_ fields: BodyFields) throws {
        reason = try fields.text("reason")
        detail = try fields.optionalText("detail")
    }
}

/// `cwp.reengagement`.
public struct CWPReengagement: Sendable {
    public let reclaimDate: LocalDate
    /// A date or a date-time, as given.
    public let appointment: String?

    init(_ fields: BodyFields) throws {
        reclaimDate = try fields.date("reclaimDate")
        appointment = try fields.optionalText("appointment")
    }
}

/// `cwp.completion`.
public struct CWPCompletion: Sendable {
    public let completionDate: LocalDate
    public let onBenefit: Bool

    init(_ fields: BodyFields) throws {
        completionDate = try fields.date("completionDate")
        onBenefit = try fields.flag("onBenefit")
    }
}

/// `cwp.feedback-report`.
public struct CWPFeedbackReport: Sendable {
    public let participationSummary: String

    init(_ fields: BodyFields) throws {
        participationSummary = try fields.text("participationSummary")
    }
}

/// `cwp.feedback-report.request`.
public struct CWPFeedbackReportRequest: Sendable {
    public let reclaimDate: LocalDate

    init(_ fields: BodyFields) throws {
        reclaimDate = try fields.date("reclaimDate")
    }
}
