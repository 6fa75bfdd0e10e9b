/// The indicative sanction length a DMA referral carries (S2 §92, §95). The router reports it; the
/// decision maker decides.
public struct IndicativeSanction: Sendable {
    let limits: RuleSet.Sanctions

    public init(limits: RuleSet.Sanctions) {
        self.limits = limits
    }

    /// The level of a failure kind: refusing employment is higher level, the rest lower (S2 §92, §95).
    public static func level(of failure: String) -> SanctionableFailure.Level {
        failure == "refused-employment" ? .higher : .lower
    }

    /// Weeks for a failure at `level` on `failureDate`, given the claimant's earlier failures, with why.
    public func weeks(
        level: SanctionableFailure.Level, failureDate: LocalDate, earlier: [SanctionableFailure]
    ) -> (weeks: Int, explanation: String) {
        let sameLevel = earlier.filter { $0.level == level && $0.failureDate <= failureDate }
        switch level {
        case .lower:
            // S2 §92: a repeat within 52 weeks of the previous failure, but not within 2 weeks.
            let repeats = sameLevel.filter {
                let gap = failureDate.days(since: $0.failureDate)
                return gap > limits.lowerRepeatAfterDays && gap <= limits.lowerRepeatWithinDays
            }
            if let previous = repeats.max(by: { $0.failureDate < $1.failureDate }) {
                return (
                    limits.lowerRepeatWeeks,
                    "lower level, repeat of the failure on \(previous.failureDate) "
                        + "(\(failureDate.days(since: previous.failureDate)) days before): \(limits.lowerRepeatWeeks) weeks"
                )
            }
            return (limits.lowerFirstWeeks, "lower level, no earlier failure counts: \(limits.lowerFirstWeeks) weeks")
        case .higher:
            let recent = sameLevel.filter { failureDate.days(since: $0.failureDate) <= limits.higherWindowDays }
            guard let previous = recent.max(by: { $0.failureDate < $1.failureDate }) else {
                return (limits.higherFirstWeeks, "higher level, first in \(limits.higherWindowDays) days: \(limits.higherFirstWeeks) weeks")
            }
            let gap = failureDate.days(since: previous.failureDate)
            if gap <= limits.higherSameWithinDays {
                return (previous.weeks, "higher level, within \(gap) days of the failure on \(previous.failureDate): \(previous.weeks) weeks again")
            }
            let next = limits.higherEscalation[previous.weeks] ?? previous.weeks
            return (next, "higher level, \(gap) days after a \(previous.weeks)-week failure on \(previous.failureDate): \(next) weeks")
        }
    }
}
