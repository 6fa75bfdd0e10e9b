/// Everything the registry holds for one claimant, filed under the first 8 characters of the NINO.
public struct PersonRecord: Sendable, Codable, Equatable {
    /// The person key (NINO without its suffix letter).
    public var key: String
    /// The NINO as last given.
    public var nino: NINO
    /// The jobcentre that owns the claimant's cases.
    public var jobcentre: String?
    public var workProgramme: WorkProgrammeCase?
    /// A WP case superseded by a new referral while its exit report was still awaited (S3): kept, with its
    /// exit-report chase, until the report arrives, when it is let go.
    public var earlierWorkProgramme: WorkProgrammeCase?
    public var placement: PlacementCase?
    public var absences: [Absence]
    public var failures: [SanctionableFailure]
    public var timers: [CaseTimer]

    /// A record for a claimant the registry has not seen.
    public init(nino: NINO) {
        self.key = nino.personKey
        self.nino = nino
        self.jobcentre = nil
        self.workProgramme = nil
        self.earlierWorkProgramme = nil
        self.placement = nil
        self.absences = []
        self.failures = []
        self.timers = []
    }

    /// Whether any case is open on `date`.
    public func hasOpenCase(on date: LocalDate) -> Bool {
        (workProgramme?.isOpen ?? false) || (placement?.isOpen(on: date) ?? false)
    }

    /// The WP case with this id: the current one, or the earlier one still awaiting its exit report.
    public func workProgrammeCase(id: String) -> WorkProgrammeCase? {
        if let current = workProgramme, current.id == id { return current }
        if let earlier = earlierWorkProgramme, earlier.id == id { return earlier }
        return nil
    }

    /// Puts a changed WP case back where it came from; the earlier case is let go once it awaits nothing.
    public mutating func update(_ wpCase: WorkProgrammeCase) {
        if let earlier = earlierWorkProgramme, earlier.id == wpCase.id, workProgramme?.id != wpCase.id {
            earlierWorkProgramme = wpCase.pendingExitReport == nil ? nil : wpCase
        } else {
            workProgramme = wpCase
        }
    }

    /// Ends every timer of a case.
    public mutating func endTimers(ofCase caseID: String) {
        timers.removeAll { $0.caseID == caseID }
    }

    /// Ends the timers of these kinds on a case.
    public mutating func endTimers(ofCase caseID: String, kinds: Set<CaseTimer.Kind>) {
        timers.removeAll { $0.caseID == caseID && kinds.contains($0.kind) }
    }

    /// Lets every blocked timer try to fire again (once an operator has fixed what blocked it, such as
    /// bank-holiday data that ended too soon). A timer that still cannot fire is blocked again.
    /// - Returns: how many timers were blocked.
    @discardableResult
    public mutating func unblockTimers() -> Int {
        var count = 0
        for index in timers.indices where timers[index].blocked != nil {
            timers[index].blocked = nil
            count += 1
        }
        return count
    }
}
