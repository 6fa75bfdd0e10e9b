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

    func run() async throws {
        // Cancelled, the sleep below returns at once: the loop must end then too, not tick without pause.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            tick(at: clock())
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Fires whatever is due at `now`.
    func tick(at now: Date) {
        defer { warnOfBlockedTimers(at: now) }
        do {
            let emitted = try store.transaction { try router.fireDueTimers(at: now, in: $0) }
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

/// Runs a closure when graceful shutdown reaches it (the service group stops services in reverse order).
struct ShutdownStep: Service {
    let name: String
    let action: @Sendable () async -> Void

    func run() async throws {
        try? await gracefulShutdown()
        await action()
    }
}
