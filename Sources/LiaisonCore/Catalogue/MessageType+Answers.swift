extension MessageType {
    /// The types that answer a message of this type, in the catalogue's order: the SPOC's advice answers an
    /// absence referred to it (and its chase), an exit report answers its request (and its reminder), and so on.
    /// The staff pages offer these as replies; the case rules decide whether one is due.
    public var answeredBy: [MessageType] {
        switch self {
        case .cwpAbsence, .cwpAbsenceAdviceOverdue: [.cwpAbsenceAdvice]
        case .wpExitReportRequest, .wpExitReportReminder: [.wpExitReport]
        case .cwpCompletion, .cwpFeedbackReportRequest, .cwpFeedbackReportReminder: [.cwpFeedbackReport]
        case .wpReferral, .wpAttachmentOverdue, .wpWP11: [.wpAttachment]
        case .wpInfoSessionReferral, .wpInfoSessionOverdue: [.wpInfoSessionAttended, .wpInfoSessionDNA]
        case .cwpReferral: [.cwpStart]
        default: []
        }
    }
}
