/// Setting timers. CATALOGUE.md "Conventions": a deadline D is met by anything on or before D; unmet, the
/// timer fires at 00:00 UK time on the first day after D, or the first working day after D for a
/// working-day deadline.
extension CaseRules {
    /// How a deadline turns into a fire date.
    enum Deadline {
        /// A working-day deadline: fires on the first working day after it.
        case workingDay(LocalDate)
        /// A calendar-day deadline: fires the day after it.
        case calendarDay(LocalDate)
        /// No deadline: fires on this date.
        case firesOn(LocalDate)
    }

    /// Sets (or resets) the case's timer of this kind.
    /// - Throws: `Refusal` (`invalid-message` on `field`) when a working day cannot be counted.
    func setTimer(
        _ kind: CaseTimer.Kind, on person: inout PersonRecord, caseID: String, regarding: String,
        _ deadline: Deadline, field: String, absenceID: String? = nil
    ) throws {
        let fireDate: LocalDate
        let deadlineDate: LocalDate?
        switch deadline {
        case .workingDay(let date):
            deadlineDate = date
            fireDate = try context.workingDays(1, after: date, jobcentre: person.jobcentre ?? "", field: field)
        case .calendarDay(let date):
            deadlineDate = date
            fireDate = date.adding(days: 1)
        case .firesOn(let date):
            deadlineDate = nil
            fireDate = date
        }
        if absenceID == nil {
            person.timers.removeAll { $0.caseID == caseID && $0.kind == kind }
        }
        person.timers.append(
            CaseTimer(
                id: context.makeID(), kind: kind, caseID: caseID, regarding: regarding, deadline: deadlineDate,
                fireDate: fireDate, absenceID: absenceID, blocked: nil))
    }
}
