/// The catalogue in words, for people: each type's title, each field's label and hint, and values spelled out.
/// Staff pages take every label from here; a test holds every field of every body schema to having one.
public enum CatalogueWords {
    /// What a message of `type` is, in words.
    public static func title(of type: MessageType) -> String {
        switch type {
        case .wpReferral: "Work Programme referral"
        case .wpAttachment: "Attachment to the Work Programme"
        case .wpInfoSessionReferral: "Information session referral"
        case .wpInfoSessionAttended: "Attended the information session"
        case .wpInfoSessionDNA: "Did not attend the information session"
        case .wpWP11: "WP11: volunteered for the Work Programme"
        case .wpComplianceDoubt: "Compliance doubt"
        case .wpReengagement: "Re-engagement with the Work Programme"
        case .wpTrainingAllowance: "Training allowance"
        case .wpChangeOfCircumstances: "Change of circumstances (Work Programme)"
        case .wpExitReportRequest: "Exit report request"
        case .wpExitReport: "Exit report"
        case .wpInappropriateReferral: "Inappropriate referral (Work Programme)"
        case .cwpReferral: "Community Work Placement referral"
        case .cwpStart: "Placement started"
        case .cwpAbsence: "Absence from the placement"
        case .cwpAbsenceAdvice: "SPOC advice on an absence"
        case .cwpDMAReferral: "Referral to a decision maker"
        case .cwpChangeOfCircumstances: "Change of circumstances (CWP)"
        case .cwpClaimTransfer: "Claim transferred to another jobcentre"
        case .cwpUnacceptableBehaviour: "Unacceptable behaviour"
        case .cwpInappropriateReferral: "Inappropriate referral (CWP)"
        case .cwpReengagement: "Re-engagement with the placement"
        case .cwpCompletion: "Placement completed"
        case .cwpFeedbackReport: "Feedback report"
        case .cwpFeedbackReportRequest: "Feedback report request"
        case .wpAttachmentOverdue: "Attachment overdue"
        case .wpInfoSessionOverdue: "Information session overdue"
        case .wpInfoSessionCancel: "Information session referral cancelled"
        case .wpExitReportReminder: "Exit report reminder"
        case .wpExitReportEscalation: "Exit report overdue"
        case .cwpAbsenceAdviceOverdue: "SPOC advice overdue"
        case .cwpFeedbackReportReminder: "Feedback report reminder"
        case .clericalTask: "Clerical task (Special Customer Record)"
        }
    }

    /// A field's label and, where one helps, its hint.
    public struct FieldWords: Sendable {
        public let label: String
        public let hint: String?
        /// Free text that may run to paragraphs: a text area rather than a line.
        public let multiline: Bool

        init(label: String, hint: String?, multiline: Bool = false) {
            self.label = label
            self.hint = hint
            self.multiline = multiline
        }
    }

    /// The words for the body field `name`; the same name means the same thing in every type.
    public static func field(_ name: String) -> FieldWords? { fields[name] }

    private static let fields: [String: FieldWords] = [
        "referralDate": FieldWords(label: "Referral date", hint: nil),
        "benefit": FieldWords(label: "Benefit", hint: nil),
        "mandatory": FieldWords(label: "Participation is mandatory", hint: nil),
        "attachmentDate": FieldWords(label: "Attachment date", hint: nil),
        "esaGroup": FieldWords(label: "ESA group", hint: "As in Annex A of the information session guidance"),
        "sessionDate": FieldWords(label: "Session date", hint: nil),
        "followUpDate": FieldWords(label: "Follow-up date", hint: nil),
        "activity": FieldWords(label: "Activity", hint: "What the claimant failed to do"),
        "failureDate": FieldWords(label: "Date of the failure", hint: nil),
        "detail": FieldWords(label: "Details", hint: "Do not include a National Insurance number or other claimants' details", multiline: true),
        "date": FieldWords(label: "Date", hint: nil),
        "courseStart": FieldWords(label: "Course start date", hint: nil),
        "course": FieldWords(label: "Course", hint: nil),
        "change": FieldWords(label: "Change", hint: nil),
        "effectiveDate": FieldWords(label: "Date the change takes effect", hint: nil),
        "requestDate": FieldWords(label: "Request date", hint: "Leave blank for today"),
        "endDate": FieldWords(label: "End date", hint: nil),
        "title": FieldWords(label: "Title", hint: nil),
        "surname": FieldWords(label: "Surname", hint: nil),
        "otherNames": FieldWords(label: "Other names", hint: nil),
        "dateOfBirth": FieldWords(label: "Date of birth", hint: nil),
        "actionsAgreed": FieldWords(label: "Actions agreed", hint: nil, multiline: true),
        "furtherInformation": FieldWords(label: "Further information", hint: nil, multiline: true),
        "nextSteps": FieldWords(label: "Next steps", hint: nil, multiline: true),
        "adviserName": FieldWords(label: "Adviser's name", hint: nil),
        "reason": FieldWords(label: "Reason", hint: nil),
        "wpciDate": FieldWords(label: "Work Programme Completion Interview (WPCI) date", hint: nil),
        "engagementMeeting": FieldWords(label: "Engagement meeting", hint: "The date and time, UK time"),
        "hoursAvailable": FieldWords(label: "Hours available a week", hint: "Leave blank if availability is not restricted"),
        "restrictions": FieldWords(label: "Restrictions", hint: "Any restrictions on the claimant's availability", multiline: true),
        "alerts": FieldWords(label: "Alerts", hint: "Select all that apply"),
        "expectedConfinementDate": FieldWords(label: "Expected date of confinement", hint: nil),
        "confirmedJobStartDate": FieldWords(label: "Confirmed job start date", hint: nil),
        "rereferral": FieldWords(label: "Re-referral after a Did Not Attend or Did Not Start", hint: nil),
        "startDate": FieldWords(label: "Start date", hint: nil),
        "reported": FieldWords(label: "The claimant reported the absence", hint: nil),
        "from": FieldWords(label: "First day of the absence", hint: nil),
        "to": FieldWords(label: "Last day of the absence", hint: nil),
        "evidence": FieldWords(label: "Evidence", hint: nil),
        "inReplyTo": FieldWords(label: "In reply to", hint: "The message id of the absence you are answering"),
        "treatAsAvailable": FieldWords(label: "Treat the claimant as available", hint: nil),
        "note": FieldWords(label: "Note", hint: nil, multiline: true),
        "failure": FieldWords(label: "Failure", hint: nil),
        "newJobcentre": FieldWords(label: "New jobcentre", hint: nil),
        "transferDate": FieldWords(label: "Transfer date", hint: nil),
        "withinCpa": FieldWords(label: "Within the contract package area (CPA)", hint: nil),
        "withinTravelDistance": FieldWords(label: "Within travel distance of the placement", hint: nil),
        "providerCanDeliver": FieldWords(label: "The provider can deliver a new placement", hint: nil),
        "incidentDate": FieldWords(label: "Date of the incident", hint: nil),
        "reclaimDate": FieldWords(label: "Date of the new claim", hint: nil),
        "appointment": FieldWords(label: "Appointment", hint: "A date, or a date and time"),
        "completionDate": FieldWords(label: "Completion date", hint: nil),
        "onBenefit": FieldWords(label: "Still on benefit at completion", hint: nil),
        "participationSummary": FieldWords(label: "Summary of participation", hint: nil, multiline: true),
        // Fields of what Liaison generates.
        "regarding": FieldWords(label: "Regarding", hint: nil),
        "deadline": FieldWords(label: "Due by", hint: nil),
        "advice": FieldWords(label: "Advice", hint: nil),
        "type": FieldWords(label: "Type", hint: nil),
    ]

    /// The envelope's fields a person sets or reads.
    public static let nino = FieldWords(label: "National Insurance number", hint: "For example, QQ 12 34 56 C")
    public static let recipient = FieldWords(label: "Send to", hint: nil)

    /// Abbreviations the guidance writes in capitals.
    private static let capitals: Set<String> = [
        "esa", "wrag", "ib", "ir", "jsa", "cpa", "dma", "spoc", "wp11", "es673", "jsa28", "prap", "wp", "cwp", "uc", "is",
    ]

    /// A value of the catalogue (`referred-to-spoc`, `esa-c-wrag`) as words (`Referred to SPOC`, `ESA c WRAG`).
    public static func value(_ text: String) -> String {
        let words = text.split(separator: "-").map { word -> String in
            capitals.contains(word.lowercased()) ? word.uppercased() : String(word)
        }
        guard let first = words.first else { return text }
        let opening = capitals.contains(first.lowercased()) ? first : first.prefix(1).uppercased() + first.dropFirst()
        return ([opening] + words.dropFirst()).joined(separator: " ")
    }
}
