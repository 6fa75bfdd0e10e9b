/// Everything the registry holds for one claimant, filed under the first 8 characters of the NINO.
public struct PersonRecord: Sendable, Codable, Equatable {
    /// The person key (NINO without its suffix letter).
    public var key: String
    /// The NINO as last given.
    public var nino: NINO
    /// The jobcentre that owns the claimant's cases.
    public var jobcentre: String?
    public var workProgramme: WorkProgrammeCase?
    /// WP cases superseded by a new referral while their exit reports were still awaited (S3), oldest first:
    /// each kept, with its exit-report chase, until its report arrives, when it is let go. Nil rather than
    /// empty, so that a record without any is stored as before there were earlier cases.
    public var earlierWorkProgrammes: [WorkProgrammeCase]?
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
        self.earlierWorkProgrammes = nil
        self.placement = nil
        self.absences = []
        self.failures = []
        self.timers = []
    }

    /// Whether any case is open on `date`.
    public func hasOpenCase(on date: LocalDate) -> Bool {
        (workProgramme?.isOpen ?? false) || (placement?.isOpen(on: date) ?? false)
    }

    /// The WP case with this id: the current one, or an earlier one still awaiting its exit report.
    public func workProgrammeCase(id: String) -> WorkProgrammeCase? {
        if let current = workProgramme, current.id == id { return current }
        return earlierWorkProgrammes?.first { $0.id == id }
    }

    /// Puts a changed WP case back where it came from; an earlier case is let go once it awaits nothing.
    public mutating func update(_ wpCase: WorkProgrammeCase) {
        if workProgramme?.id != wpCase.id, var earlier = earlierWorkProgrammes,
            let index = earlier.firstIndex(where: { $0.id == wpCase.id })
        {
            if wpCase.pendingExitReport == nil {
                earlier.remove(at: index)
            } else {
                earlier[index] = wpCase
            }
            earlierWorkProgrammes = earlier.isEmpty ? nil : earlier
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
