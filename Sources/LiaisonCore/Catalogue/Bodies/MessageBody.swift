/// A submitted message's body as its type's typed value: read once, in the catalogue layer, from fields
/// its `BodySchema` has checked, so that the rules take typed values and never read a field that might be
/// missing.
public enum MessageBody: Sendable {
    case wpReferral(WPReferral)
    case wpAttachment(WPAttachment)
    case wpInfoSessionReferral(WPInformationSessionReferral)
    case wpInfoSessionAttended(WPInformationSessionOutcome)
    case wpInfoSessionDNA(WPInformationSessionOutcome)
    case wpWP11(WPWP11)
    case wpComplianceDoubt(WPComplianceDoubt)
    case wpReengagement(WPReengagement)
    case wpTrainingAllowance(WPTrainingAllowance)
    case wpChangeOfCircumstances(WPChangeOfCircumstances)
    case wpExitReportRequest(WPExitReportRequest)
    case wpExitReport(WPExitReport)
    case wpInappropriateReferral(WPInappropriateReferral)
    case cwpReferral(CWPReferral)
    case cwpStart(CWPStart)
    case cwpAbsence(CWPAbsence)
    case cwpAbsenceAdvice(CWPAbsenceAdvice)
    case cwpDMAReferral(CWPDMAReferral)
    case cwpChangeOfCircumstances(CWPChangeOfCircumstances)
    case cwpClaimTransfer(CWPClaimTransfer)
    case cwpUnacceptableBehaviour(CWPUnacceptableBehaviour)
    case cwpInappropriateReferral(CWPInappropriateReferral)
    case cwpReengagement(CWPReengagement)
    case cwpCompletion(CWPCompletion)
    case cwpFeedbackReport(CWPFeedbackReport)
    case cwpFeedbackReportRequest(CWPFeedbackReportRequest)
    /// A type only Liaison generates: no party may send it (`not-permitted`, after validation), so its body
    /// is never read.
    case generated

    /// Reads the body of a message of `type`.
    /// - Throws: `Refusal` (`invalid-message`) naming a field the typed body needs that is missing or of
    ///   another shape; after schema validation, only when the two disagree.
    public init(_ type: MessageType, _ fields: BodyFields) throws {
        switch type {
        case .wpReferral: self = .wpReferral(try WPReferral(fields))
        case .wpAttachment: self = .wpAttachment(try WPAttachment(fields))
        case .wpInfoSessionReferral: self = .wpInfoSessionReferral(try WPInformationSessionReferral(fields))
        case .wpInfoSessionAttended: self = .wpInfoSessionAttended(try WPInformationSessionOutcome(fields))
        case .wpInfoSessionDNA: self = .wpInfoSessionDNA(try WPInformationSessionOutcome(fields))
        case .wpWP11: self = .wpWP11(try WPWP11(fields))
        case .wpComplianceDoubt: self = .wpComplianceDoubt(try WPComplianceDoubt(fields))
        case .wpReengagement: self = .wpReengagement(try WPReengagement(fields))
        case .wpTrainingAllowance: self = .wpTrainingAllowance(try WPTrainingAllowance(fields))
        case .wpChangeOfCircumstances: self = .wpChangeOfCircumstances(try WPChangeOfCircumstances(fields))
        case .wpExitReportRequest: self = .wpExitReportRequest(try WPExitReportRequest(fields))
        case .wpExitReport: self = .wpExitReport(try WPExitReport(fields))
        case .wpInappropriateReferral: self = .wpInappropriateReferral(try WPInappropriateReferral(fields))
        case .cwpReferral: self = .cwpReferral(try CWPReferral(fields))
        case .cwpStart: self = .cwpStart(try CWPStart(fields))
        case .cwpAbsence: self = .cwpAbsence(try CWPAbsence(fields))
        case .cwpAbsenceAdvice: self = .cwpAbsenceAdvice(try CWPAbsenceAdvice(fields))
        case .cwpDMAReferral: self = .cwpDMAReferral(try CWPDMAReferral(fields))
        case .cwpChangeOfCircumstances: self = .cwpChangeOfCircumstances(try CWPChangeOfCircumstances(fields))
        case .cwpClaimTransfer: self = .cwpClaimTransfer(try CWPClaimTransfer(fields))
        case .cwpUnacceptableBehaviour: self = .cwpUnacceptableBehaviour(try CWPUnacceptableBehaviour(fields))
        case .cwpInappropriateReferral: self = .cwpInappropriateReferral(try CWPInappropriateReferral(fields))
        case .cwpReengagement: self = .cwpReengagement(try CWPReengagement(fields))
        case .cwpCompletion: self = .cwpCompletion(try CWPCompletion(fields))
        case .cwpFeedbackReport: self = .cwpFeedbackReport(try CWPFeedbackReport(fields))
        case .cwpFeedbackReportRequest: self = .cwpFeedbackReportRequest(try CWPFeedbackReportRequest(fields))
        case .wpAttachmentOverdue, .wpInfoSessionOverdue, .wpInfoSessionCancel, .wpExitReportReminder,
            .wpExitReportEscalation, .cwpAbsenceAdviceOverdue, .cwpFeedbackReportReminder, .clericalTask:
            self = .generated
        }
    }
}
