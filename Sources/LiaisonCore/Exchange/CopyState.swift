/// The life of a routed copy (PROTOCOL.md "Queue states"), with every allowed transition in one place.
///
/// `queued` → `in-flight` → `delivered`; `in-flight` → `deferred` → `in-flight`; `held` ↔ `queued`
/// (by an operator or a 410); `deferred` → `expired` at the end of its lifetime. Operators may also hold,
/// retry or expire a copy that is waiting, and retry an expired one.
public enum CopyState: String, Sendable, Codable, CaseIterable {
    case queued
    case inFlight = "in-flight"
    case deferred
    case held
    case delivered
    case expired

    /// Whether a copy may move from this state to `next`.
    public func canMove(to next: CopyState) -> Bool {
        switch (self, next) {
        case (.queued, .inFlight), (.queued, .held), (.queued, .expired):
            true
        case (.inFlight, .delivered), (.inFlight, .deferred), (.inFlight, .held), (.inFlight, .queued),
            (.inFlight, .expired):
            true
        case (.deferred, .inFlight), (.deferred, .expired), (.deferred, .held), (.deferred, .queued):
            true
        case (.held, .queued), (.held, .expired):
            true
        case (.expired, .queued):
            true
        default:
            false
        }
    }

    /// The states a copy may be in before an operator action moves it to `target`.
    public static func sources(of target: CopyState) -> [CopyState] {
        allCases.filter { $0.canMove(to: target) }
    }
}
