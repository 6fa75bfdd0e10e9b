import Foundation

// The bodies of the Work Programme's message types (CATALOGUE.md "Work Programme"), read from fields the
// type's `BodySchema` has checked. The rules take these, never the raw fields.

/// `wp.referral`.
public struct WPReferral: Sendable {
    public let referralDate: LocalDate
    public let benefit: String
    public let mandatory: Bool

    init(_ fields: BodyFields) throws {
        referralDate = try fields.date("referralDate")
        benefit = try fields.text("benefit")
        mandatory = try fields.flag("mandatory")
    }
}

/// `wp.attachment`.
public struct WPAttachment: Sendable {
    public let attachmentDate: LocalDate

    init(_ fields: BodyFields) throws {
        attachmentDate = try fields.date("attachmentDate")
    }
}

/// `wp.info-session.referral`.
public struct WPInformationSessionReferral: Sendable {
    public let referralDate: LocalDate
    public let mandatory: Bool
    public let esaGroup: String

    init(_ fields: BodyFields) throws {
        referralDate = try fields.date("referralDate")
        mandatory = try fields.flag("mandatory")
        esaGroup = try fields.text("esaGroup")
    }
}

/// `wp.info-session.attended` and `wp.info-session.dna`.
public struct WPInformationSessionOutcome: Sendable {
    public let sessionDate: LocalDate

    init(_ fields: BodyFields) throws {
        sessionDate = try fields.date("sessionDate")
    }
}

/// `wp.wp11`.
public struct WPWP11: Sendable {
    public let followUpDate: LocalDate

    init(_ fields: BodyFields) throws {
        followUpDate = try fields.date("followUpDate")
    }
}

/// `wp.compliance-doubt`.
public struct WPComplianceDoubt: Sendable {
    public let activity: String
    public let failureDate: LocalDate
    public let detail: String?

    init(_ fields: BodyFields) throws {
        activity = try fields.text("activity")
        failureDate = try fields.date("failureDate")
        detail = try fields.optionalText("detail")
    }
}

/// `wp.reengagement`.
public struct WPReengagement: Sendable {
    public let date: LocalDate

    init(_ fields: BodyFields) throws {
        date = try fields.date("date")
    }
}

/// `wp.training-allowance`.
public struct WPTrainingAllowance: Sendable {
    public let courseStart: LocalDate
    public let course: String

    init(_ fields: BodyFields) throws {
        courseStart = try fields.date("courseStart")
        course = try fields.text("course")
    }
}

/// `wp.change-of-circumstances`.
public struct WPChangeOfCircumstances: Sendable {
    public let change: String
    public let effectiveDate: LocalDate
    public let detail: String?

    init(_ fields: BodyFields) throws {
        change = try fields.text("change")
        effectiveDate = try fields.date("effectiveDate")
        detail = try fields.optionalText("detail")
    }
}

/// `wp.exit-report.request`.
public struct WPExitReportRequest: Sendable {
    /// The receipt date when left out.
    public let requestDate: LocalDate?
    public let benefit: String
    public let endDate: LocalDate

    init(_ fields: BodyFields) throws {
        requestDate = try fields.optionalDate("requestDate")
        benefit = try fields.text("benefit")
        endDate = try fields.date("endDate")
    }
}

/// `wp.exit-report` (S3).
public struct WPExitReport: Sendable {
    public let title: String?
    public let surname: String
    public let otherNames: String
    public let dateOfBirth: LocalDate
    public let actionsAgreed: String
    public let furtherInformation: String
    public let nextSteps: String
    public let adviserName: String

    init(_ fields: BodyFields) throws {
        title = try fields.optionalText("title")
        surname = try fields.text("surname")
        otherNames = try fields.text("otherNames")
        dateOfBirth = try fields.date("dateOfBirth")
        actionsAgreed = try fields.text("actionsAgreed")
        furtherInformation = try fields.text("furtherInformation")
        nextSteps = try fields.text("nextSteps")
        adviserName = try fields.text("adviserName")
    }
}

/// `wp.inappropriate-referral`.
public struct WPInappropriateReferral: Sendable {
    public let reason: WorkProgrammeInappropriateReason
    public let detail: String?

    init(_ fields: BodyFields) throws {
        reason = try fields.choice("reason")
        detail = try fields.optionalText("detail")
    }
}
