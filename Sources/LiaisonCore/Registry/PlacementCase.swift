/// A claimant's Community Work Placements case (CATALOGUE.md "The case registry").
public struct PlacementCase: Sendable, Codable, Equatable {
    /// The id of the referral that opened the case.
    public var id: String
    public var provider: String
    /// The first referral of the case; re-referrals after a DNA/DNS keep it (S2 §89).
    public var originalReferralDate: LocalDate
    /// The latest referral's date.
    public var referralDate: LocalDate
    public var wpciDate: LocalDate
    public var expectedEndDate: LocalDate
    public var startedOn: LocalDate?
    /// A Did Not Attend or Did Not Start was referred on this case, so it may be re-referred.
    public var hadDidNotAttendOrStart: Bool
    /// Re-referral to CWP is barred (completion, S2 §36; end of provision on transfer, S2 §123).
    public var barred: Bool
    public var completion: Completion?
    /// The feedback report waiting, with its deadline.
    public var pendingFeedback: PendingRequest?
    public var ended: CaseEnding?

    /// How a placement completed.
    public struct Completion: Sendable, Codable, Equatable {
        public var date: LocalDate
        public var onBenefit: Bool
    }

    /// Whether the case is open on `date`. A case ended by `no-longer-on-jsa` stays open until the change's
    /// effective date (CATALOGUE.md: "the case ends at effectiveDate", S2 §118), so a notice sent before then
    /// still finds it; every other ending closes the case as soon as it is recorded.
    public func isOpen(on date: LocalDate) -> Bool {
        guard let ended else { return true }
        return ended.reason == .noLongerOnJSA && date < ended.date
    }

    /// Whether the case was open on `date`: referred on or before it, and not ended before it. A case ended
    /// by `no-longer-on-jsa` has ended on the effective date itself, as `isOpen(on:)` has it: the claimant is
    /// off JSA from that day, so a failure then is nugatory too (S2 §116, §118).
    public func wasOpen(on date: LocalDate) -> Bool {
        guard date >= referralDate else { return false }
        guard let ended else { return true }
        return ended.reason == .noLongerOnJSA ? date < ended.date : date <= ended.date
    }
}
