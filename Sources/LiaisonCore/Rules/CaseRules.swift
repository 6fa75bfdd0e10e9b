import Foundation

/// The case rules of CATALOGUE.md as a pure function of a message, the claimant's record and the time:
/// no store, no clock, no network. The daemon and `liaison replay` both call it through `SubmissionDesk`.
public struct CaseRules: Sendable {
    public let context: RuleContext

    public init(context: RuleContext) {
        self.context = context
    }

    var rules: RuleSet { context.rules }

    /// The result of judging one message.
    public enum Verdict: Sendable {
        /// Accepted: store the ruling, answer 202.
        case accepted(Ruling)
        /// Refused: answer with the refusal; `generated` (an SCR clerical task) is still stored and sent.
        case refused(Refusal, generated: [GeneratedMessage])
    }

    /// What an accepted message decided and changed.
    public struct Ruling: Sendable {
        public var decision: Decision
        /// Where the message goes, in a stable order.
        public var routes: [Address]
        /// The claimant's record after the message.
        public var person: PersonRecord
    }

    /// One message being judged, with the facts every rule needs.
    struct Submission {
        let envelope: Envelope
        let sender: Party
        let now: Date
        /// The UK date Liaison received it on.
        let receiptDate: LocalDate
        var person: PersonRecord

        var body: [String: JSONValue] { envelope.body }
        var type: MessageType { envelope.type }
    }

    /// Judges `envelope` from the authenticated sender against the claimant's record.
    ///
    /// Checks run in CATALOGUE.md's order: party kind (`not-permitted`), `scr-clerical-only`, the case
    /// (`unknown-case`, `case-ended`, `not-case-owner`), then the type's own rules.
    /// - Parameters:
    ///   - envelope: a validated envelope; its `from` is the authenticated party.
    ///   - person: the claimant's record, or nil when the registry has never seen the NINO.
    ///   - now: when Liaison received the message.
    public func decide(_ envelope: Envelope, person: PersonRecord?, at now: Date) -> Verdict {
        guard let sender = context.directory[envelope.from] else {
            return .refused(Refusal(.notPermitted, "sender \(envelope.from) is not a configured party"), generated: [])
        }
        var record = person ?? PersonRecord(nino: envelope.nino)
        record.nino = envelope.nino
        var submission = Submission(
            envelope: envelope, sender: sender, now: now, receiptDate: UKTime.localDate(at: now), person: record
        )
        guard envelope.type.senders.contains(sender.kind) else {
            let detail =
                envelope.type.isGenerated
                ? "\(envelope.type.rawValue) is sent only by Liaison" : "a \(sender.kind.rawValue) party may not send \(envelope.type.rawValue)"
            return .refused(Refusal(.notPermitted, detail), generated: [])
        }
        if envelope.scr {
            return .refused(
                Refusal(.scrClericalOnly, "Special Customer Records are handled clerically, never electronically"),
                generated: clericalTask(for: submission))
        }
        do {
            let (decision, routes) = try apply(&submission)
            return .accepted(Ruling(decision: decision, routes: routes, person: submission.person))
        } catch let refusal as Refusal {
            return .refused(refusal, generated: [])
        } catch {
            return .refused(Refusal(.invalidMessage, "\(error)"), generated: [])
        }
    }

    /// S1 §2, S2 §86–87, S3: an SCR becomes a clerical task for the nominated officer, with nothing personal.
    private func clericalTask(for submission: Submission) -> [GeneratedMessage] {
        let jobcentre = submission.sender.kind == .jobcentre ? submission.sender.id : submission.person.jobcentre
        guard let jobcentre else { return [] }
        return [
            GeneratedMessage(
                id: context.makeID(), type: .clericalTask, to: Address(jobcentre, .nominatedOfficer), nino: nil,
                sentAt: submission.now,
                body: [
                    "regarding": .string(submission.envelope.id),
                    "type": .string(submission.type.rawValue),
                    "date": .date(submission.receiptDate),
                ])
        ]
    }

    private func apply(_ submission: inout Submission) throws -> (Decision, [Address]) {
        switch submission.envelope.message {
        case .wpReferral(let referral): return try wpReferral(&submission, referral)
        case .wpInfoSessionReferral(let referral): return try wpInformationSessionReferral(&submission, referral)
        case .cwpReferral(let referral): return try cwpReferral(&submission, referral)
        default: break
        }
        switch submission.type.programme {
        case .workProgramme:
            let wpCase = try workProgrammeCase(for: submission)
            return try workProgrammeRule(&submission, wpCase)
        case .communityWorkPlacements:
            let placement = try placementCase(for: submission)
            return try placementRule(&submission, placement)
        }
    }

    // MARK: - Case checks

    /// The claimant's WP case, checked for existence, openness and ownership.
    private func workProgrammeCase(for submission: Submission) throws -> WorkProgrammeCase {
        let noCase = Refusal(.unknownCase, "no Work Programme case for this NINO")
        if let earlier = earlierWorkProgrammeCase(for: submission) {
            try hideOtherProvidersCase(from: submission, provider: earlier.prime, answering: noCase)
            try checkOwnership(submission, provider: earlier.prime)
            return earlier
        }
        guard let wpCase = submission.person.workProgramme else { throw noCase }
        try hideOtherProvidersCase(from: submission, provider: wpCase.prime, answering: noCase)
        let appliesToEnded: Set<MessageType> = [.wpExitReport, .wpExitReportRequest]
        if let ended = wpCase.ended, !appliesToEnded.contains(submission.type) {
            throw Refusal(.caseEnded, "the Work Programme case ended \(ended)")
        }
        try checkOwnership(submission, provider: wpCase.prime)
        return wpCase
    }

    /// The earlier case (one superseded while its exit report was awaited) a message is for, if any: an exit
    /// report from its prime, the oldest such case first, before the current case even when that is theirs
    /// and awaits one too; a jobcentre's exit-report request whose `to` names its prime, when the current
    /// case is another prime's (the request is sent again).
    private func earlierWorkProgrammeCase(for submission: Submission) -> WorkProgrammeCase? {
        let earlier = submission.person.earlierWorkProgrammes ?? []
        switch submission.type {
        case .wpExitReport:
            return earlier.first { $0.prime == submission.sender.id }
        case .wpExitReportRequest:
            guard let to = submission.envelope.to, to != submission.person.workProgramme?.prime else { return nil }
            return earlier.last { $0.prime == to }
        default:
            return nil
        }
    }

    /// The claimant's CWP case, checked for existence, openness and ownership.
    private func placementCase(for submission: Submission) throws -> PlacementCase {
        let noCase = Refusal(.unknownCase, "no CWP case for this NINO")
        guard let placement = submission.person.placement else { throw noCase }
        try hideOtherProvidersCase(from: submission, provider: placement.provider, answering: noCase)
        let appliesToEnded: Set<MessageType> = [
            .cwpFeedbackReport, .cwpFeedbackReportRequest, .cwpReengagement, .cwpDMAReferral,
        ]
        if !placement.isOpen(on: submission.receiptDate), !appliesToEnded.contains(submission.type) {
            throw Refusal(.caseEnded, "the CWP case ended \(placement.ended.map(String.init(describing:)) ?? "")")
        }
        try checkOwnership(submission, provider: placement.provider)
        return placement
    }

    /// A provider that is not on the case is answered exactly as if there were none (`noCase`: the same status,
    /// code and detail), before anything else about the case (that it ended, say) could be told: no provider may
    /// learn that a claimant is on another provider's programme (CATALOGUE.md, Conventions).
    private func hideOtherProvidersCase(from submission: Submission, provider: String, answering noCase: Refusal) throws {
        if submission.sender.kind != .jobcentre, provider != submission.sender.id { throw noCase }
    }

    /// Jobcentres must be the case's jobcentre, or, for the SPOC's answer to an
    /// absence, the jobcentre asked. A `to`, when given, must name the counterpart.
    private func checkOwnership(_ submission: Submission, provider: String) throws {
        let sender = submission.sender
        let counterpart: String?
        switch sender.kind {
        case .jobcentre:
            guard submission.person.jobcentre == sender.id || jobcentreAsked(in: submission) == sender.id else {
                throw Refusal(.notCaseOwner, "the case belongs to another jobcentre")
            }
            counterpart = provider
        case .prime, .cwp:
            // Another provider's case was answered as no case already (hideOtherProvidersCase).
            counterpart = submission.person.jobcentre
        }
        if let to = submission.envelope.to, to != counterpart {
            throw Refusal.invalid("to", "must name the case's counterpart \(counterpart ?? "(none)")")
        }
    }

    /// For a `cwp.absence.advice`, the jobcentre whose SPOC was asked about the absence it answers, while that
    /// absence waits. The query stays with that SPOC, who has the absence, when the claim moves to another
    /// jobcentre before the answer (`cwp.claim-transfer`); the new jobcentre, now the case's, may answer too.
    private func jobcentreAsked(in submission: Submission) -> String? {
        guard case .cwpAbsenceAdvice(let advice) = submission.envelope.message else { return nil }
        return submission.person.absences.first { $0.id.lowercased() == advice.inReplyTo && $0.state == .awaitingSPOC }?
            .referredTo
    }

    /// A referral's `to`: required, and a party of the right kind.
    func referralTarget(_ submission: Submission, kind: PartyKind) throws -> Party {
        guard let to = submission.envelope.to else { throw Refusal.invalid("to", "is required on a referral") }
        guard let party = context.directory[to], party.kind == kind else {
            throw Refusal.invalid("to", "must name a \(kind.rawValue) party")
        }
        return party
    }

    /// A referral may not take a claimant whose other open case belongs to another jobcentre.
    func checkReferringJobcentre(_ submission: Submission) throws {
        if let owner = submission.person.jobcentre, owner != submission.sender.id,
            submission.person.hasOpenCase(on: submission.receiptDate)
        {
            throw Refusal(.notCaseOwner, "the claimant's open case belongs to another jobcentre")
        }
    }

    /// The case's jobcentre (always set once a case exists).
    func jobcentre(of submission: Submission) -> String {
        submission.person.jobcentre ?? submission.sender.id
    }
}
