import Foundation
import LiaisonCore
import LiaisonStore
import Logging
import ServiceLifecycle
import Synchronization

/// Fires the core's timers on the real clock. What they emit is stored in the same transaction that
/// removes the timer, so a timer fires once, also across restarts.
struct TimerService: Service {
    let store: SQLiteCaseStore
    let router: LiaisonCore.Router
    let metrics: ExchangeMetrics
    let logger: Logger
    let onEmit: @Sendable () -> Void
    /// The instant timers are fired at on each tick: in the daemon, now or the receipt of the earliest
    /// submission still waiting to be judged (`GroupCommitter.firingInstant`).
    var clock: @Sendable () -> Date = { Date() }
    var interval: Duration = .seconds(1)
    /// How often the warning about blocked timers is repeated while any stay blocked.
    var blockedReminder: TimeInterval = 3600
    /// The blocked timers last warned of, and when.
    private let warned = LastWarning()
    /// The claimants whose timers could not fire, and when each was last logged.
    private let failing = FailingClaimants()

    func run() async throws {
        // Cancelled, the sleep below returns at once: the loop must end then too, not tick without pause.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            tick(at: clock())
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Fires whatever is due at `now`. Each claimant's timers fire in a savepoint of their own: a claimant
    /// whose record cannot be read or stored keeps its timers due, and everyone else's still fire.
    func tick(at now: Date) {
        defer { warnOfBlockedTimers(at: now) }
        do {
            let keys = try store.personKeysWithTimers(dueBy: now)
            guard !keys.isEmpty else { return }
            // Each claimant's record is read again in the write transaction: one a message changed meanwhile
            // fires what is due by then, and one with nothing due any more fires nothing.
            let results = try store.batch(keys) { key, transaction in try router.fireDueTimers(of: key, at: now, in: transaction) }
            var emitted: [GeneratedMessage] = []
            var failed: [(key: String, error: any Error)] = []
            for (key, result) in zip(keys, results) {
                switch result {
                case .success(let fired): emitted += fired
                case .failure(let error): failed.append((key, error))
                }
            }
            reportFailures(failed, of: keys, at: now)
            guard !emitted.isEmpty else { return }
            metrics.timerMessages(emitted.count)
            for message in emitted {
                logger.info(
                    "timer fired", metadata: ["id": "\(message.id)", "type": "\(message.type.rawValue)", "to": "\(message.to)"])
            }
            onEmit()
        } catch {
            logger.error("timers could not fire; will try again", metadata: ["error": "\(error)"])
        }
    }

    /// Logs each claimant whose timers could not fire: when it first fails, and again every
    /// `blockedReminder` while it goes on failing, not every tick. The key is masked like a NINO.
    private func reportFailures(_ failed: [(key: String, error: any Error)], of keys: [String], at now: Date) {
        let due = failing.lastLogged.withLock { lastLogged in
            // A claimant whose timers fired this time starts afresh should it fail again.
            let failedKeys = Set(failed.map(\.key))
            for key in keys where !failedKeys.contains(key) { lastLogged[key] = nil }
            return failed.filter { failure in
                guard let last = lastLogged[failure.key], now.timeIntervalSince(last) < blockedReminder else {
                    lastLogged[failure.key] = now
                    return true
                }
                return false
            }
        }
        for failure in due {
            logger.error(
                "timers of one claimant could not fire; will try again (no other claimant's are held up)",
                metadata: ["person": "\(NINO.maskPersonKey(failure.key))", "error": "\(failure.error)"])
        }
    }

    /// Warns when timers are blocked (they wait for an operator: `liaison queue timers`): when their number
    /// changes, and again every `blockedReminder` while any stay blocked.
    private func warnOfBlockedTimers(at now: Date) {
        guard let count = try? QueueOperator(pool: store.pool).blockedTimerCount() else { return }
        let due = warned.state.withLock { last in
            guard count != last.count || (count > 0 && now.timeIntervalSince(last.at) >= blockedReminder) else { return false }
            last = (count, now)
            return true
        }
        guard due else { return }
        if count > 0 {
            logger.warning(
                "timers blocked: they will not fire until an operator acts (liaison queue timers)", metadata: ["blocked": "\(count)"])
        } else {
            logger.notice("no timers blocked any more")
        }
    }
}

/// What the timer service last warned of: a class, so that the service itself stays a copyable value.
private final class LastWarning: Sendable {
    let state = Mutex<(count: Int, at: Date)>((0, .distantPast))
}

/// The claimants whose timers could not fire, and when each was last logged.
private final class FailingClaimants: Sendable {
    let lastLogged = Mutex<[String: Date]>([:])
}

/// Runs a closure when graceful shutdown reaches it (the service group stops services in reverse order).
struct ShutdownStep: Service {
    let name: String
    let action: @Sendable () async -> Void

    func run() async throws {
        try? await gracefulShutdown()
        await action()
    }
}
