/// The stable error codes of PROTOCOL.md and CATALOGUE.md.
public enum RefusalCode: String, Sendable, Codable, CaseIterable {
    case malformedJSON = "malformed-json"
    case unauthenticated
    case notPermitted = "not-permitted"
    case notCaseOwner = "not-case-owner"
    case idConflict = "id-conflict"
    case tooLarge = "too-large"
    case invalidMessage = "invalid-message"
    case invalidNINO = "invalid-nino"
    case unknownType = "unknown-type"
    case unknownCase = "unknown-case"
    case caseEnded = "case-ended"
    case scrClericalOnly = "scr-clerical-only"
    case rateLimited = "rate-limited"
    case unavailable
    case notFound = "not-found"
    // Refused below the router: the request itself, not the message.
    case malformedRequest = "malformed-request"
    case methodNotAllowed = "method-not-allowed"
    case methodNotImplemented = "method-not-implemented"
    case requestTimeout = "request-timeout"
    case unsupportedMediaType = "unsupported-media-type"
    case headersTooLarge = "headers-too-large"
    // Rule codes (CATALOGUE.md).
    case alreadyOnProgramme = "already-on-programme"
    case attachmentWithoutWP11 = "attachment-without-wp11"
    case cannotMandate = "cannot-mandate"
    case newReferralRequired = "new-referral-required"
    case voluntaryParticipant = "voluntary-participant"
    case notJSA = "not-jsa"
    case alreadyReferred = "already-referred"
    case cwpRereferralBarred = "cwp-rereferral-barred"
    case rereferralNotAllowed = "rereferral-not-allowed"
    case assessmentWindowClosed = "assessment-window-closed"
    case cannotComplete = "cannot-complete"
    case beforeReferral = "before-referral"
    case overlappingAbsence = "overlapping-absence"
    case nothingToAnswer = "nothing-to-answer"
    case allottedTimeExpired = "allotted-time-expired"
    case requestWindowClosed = "request-window-closed"

    /// The HTTP status the code answers with.
    public var status: Int {
        switch self {
        case .malformedJSON, .malformedRequest: 400
        case .unauthenticated: 401
        case .notPermitted, .notCaseOwner: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .requestTimeout: 408
        case .idConflict: 409
        case .tooLarge: 413
        case .unsupportedMediaType: 415
        case .rateLimited: 429
        case .headersTooLarge: 431
        case .unavailable: 503
        case .methodNotImplemented: 501
        default: 422
        }
    }

    /// A short human title for the problem document.
    public var title: String {
        switch self {
        case .malformedJSON: "Body is not JSON"
        case .unauthenticated: "Not authenticated"
        case .notPermitted: "Not permitted"
        case .notCaseOwner: "Not the case owner"
        case .idConflict: "Message id already used for other content"
        case .tooLarge: "Body too large"
        case .invalidMessage: "Invalid message"
        case .invalidNINO: "Invalid NINO"
        case .unknownType: "Unknown message type"
        case .unknownCase: "Unknown case"
        case .caseEnded: "Case ended"
        case .scrClericalOnly: "Special Customer Record: clerical only"
        case .rateLimited: "Rate limited"
        case .unavailable: "Unavailable"
        case .notFound: "Not found"
        case .malformedRequest: "Malformed request"
        case .methodNotAllowed: "Method not allowed"
        case .methodNotImplemented: "Method not implemented"
        case .requestTimeout: "Request too slow"
        case .unsupportedMediaType: "Unsupported media type"
        case .headersTooLarge: "Request headers too large"
        case .alreadyOnProgramme: "Already on the Work Programme"
        case .attachmentWithoutWP11: "Attachment without a WP11"
        case .cannotMandate: "Group cannot be mandated"
        case .newReferralRequired: "New referral required"
        case .voluntaryParticipant: "Voluntary participant"
        case .notJSA: "Not on JSA"
        case .alreadyReferred: "Already referred"
        case .cwpRereferralBarred: "Re-referral to CWP barred"
        case .rereferralNotAllowed: "Re-referral not allowed"
        case .assessmentWindowClosed: "Assessment window closed"
        case .cannotComplete: "Placement cannot be completed"
        case .beforeReferral: "Before the referral"
        case .overlappingAbsence: "Overlapping absence"
        case .nothingToAnswer: "Nothing to answer"
        case .allottedTimeExpired: "Allotted time expired"
        case .requestWindowClosed: "Request window closed"
        }
    }
}

/// A message refused, with the reason in a stable code and every bad field.
public struct Refusal: Error, Sendable, Equatable {
    public let code: RefusalCode
    public let detail: String
    public let errors: [FieldProblem]
    /// What went wrong, without the advice to the sender: what a timer that cannot fire for the same reason
    /// is blocked with. Not part of the answer.
    public let cause: String?

    public init(_ code: RefusalCode, _ detail: String, errors: [FieldProblem] = [], cause: String? = nil) {
        self.code = code
        self.detail = detail
        self.errors = errors
        self.cause = cause
    }

    /// One bad field, as `invalid-message`.
    public static func invalid(_ field: String, _ problem: String, cause: String? = nil) -> Refusal {
        Refusal(.invalidMessage, "\(field) \(problem)", errors: [FieldProblem(field: field, problem: problem)], cause: cause)
    }

    /// The RFC 9457 problem document.
    public var problemDocument: JSONValue {
        .object([
            "type": .string("about:blank"),
            "title": .string(code.title),
            "status": .number(Double(code.status)),
            "code": .string(code.rawValue),
            "detail": .string(detail),
            "errors": .array(errors.map { .object(["field": .string($0.field), "problem": .string($0.problem)]) }),
        ])
    }
}
