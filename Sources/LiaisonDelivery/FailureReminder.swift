import Foundation
import Synchronization

/// When a failure that repeats (the store out of reach while PostgreSQL restarts) is worth a log line: the
/// first time, then once every `interval` while it goes on, and once more when it ends, so that an outage
/// says so without a line per retry.
public final class FailureReminder: Sendable {
    private struct State {
        var since: Date?
        var lastLogged = Date.distantPast
        var unlogged = 0
    }

    private let state = Mutex(State())
    private let interval: TimeInterval

    public init(interval: TimeInterval = 30) {
        self.interval = interval
    }

    /// Notes a failure. - Returns: nil when it need not be logged now; else how many failures this line stands
    /// for (1, or those since the last line).
    public func failed(at now: Date = Date()) -> Int? {
        state.withLock { state in
            if state.since == nil { state.since = now }
            state.unlogged += 1
            guard now.timeIntervalSince(state.lastLogged) >= interval else { return nil }
            defer {
                state.lastLogged = now
                state.unlogged = 0
            }
            return state.unlogged
        }
    }

    /// Notes a success. - Returns: how long the failures went on, when there were any.
    public func succeeded(at now: Date = Date()) -> TimeInterval? {
        state.withLock { state in
            guard let since = state.since else { return nil }
            state = State()
            return now.timeIntervalSince(since)
        }
    }
}
