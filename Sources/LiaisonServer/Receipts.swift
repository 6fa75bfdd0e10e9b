import Foundation
import Synchronization

/// When the submissions still waiting to be judged were received, so that timers fire only up to the earliest
/// of them. A message received before a timer fell due is then judged before the timer fires, as the case
/// rules have it (they fire a claimant's due timers at the message's receipt, not later), however long the
/// message waits for the writer: a notice sent at 23:59:59 is not judged against a deadline that passed at
/// midnight.
final class Receipts: Sendable {
    private struct State {
        var next: UInt64 = 0
        var open: [UInt64: Date] = [:]
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> Date

    init(clock: @escaping @Sendable () -> Date) {
        self.clock = clock
    }

    /// Notes a submission received now; the clock is read under the same lock as `firingInstant`, so no
    /// receipt can fall between the two.
    /// - Returns: the ticket to close once the submission is judged, and the instant it was received.
    func open() -> (ticket: UInt64, receivedAt: Date) {
        state.withLock { state in
            let ticket = state.next
            state.next += 1
            let now = clock()
            state.open[ticket] = now
            return (ticket, now)
        }
    }

    func close(_ ticket: UInt64) {
        _ = state.withLock { $0.open.removeValue(forKey: ticket) }
    }

    /// Now, or the instant the earliest submission still open was received if that is earlier.
    func firingInstant() -> Date {
        state.withLock { state in
            let now = clock()
            return state.open.values.reduce(now) { min($0, $1) }
        }
    }
}
