import Foundation
import LiaisonCore
import LiaisonDelivery
import LiaisonStore
import Logging
import ServiceLifecycle
import Synchronization

/// Fires the core's timers on the real clock. What they emit is stored in the same transaction that
/// removes the timer, so a timer fires once, also across restarts.
struct TimerService: Service {
    let store: any ExchangeStore
    /// Where the blocked timers are counted.
    let operators: QueueOperator
    /// The router in force (replaced by a reload).
    let router: @Sendable () -> LiaisonCore.SubmissionDesk
    let metrics: ExchangeMetrics
    let logger: Logger
    /// Called with the inboxes that fired timers queued copies for.
    let onEmit: @Sendable (_ inboxes: Set<String>) -> Void
    /// The instant timers are fired at on each tick: in the daemon, now or the receipt of the earliest
    /// submission still waiting to be judged (`GroupCommitter.firingInstant`).
    var clock: @Sendable () -> Date = { Date() }
    var interval: Duration = .seconds(1)
    /// How often the warning about blocked timers is repeated while any stay blocked.
    var blockedReminder: TimeInterval = 3600
    /// How long a claimant whose timers could not fire waits before they are tried again, so that records
    /// that keep failing (many, after a bad upgrade, say) are not read again on every tick under the write lock.
    var failureBackoff: TimeInterval = 60
    /// Claimants fired per transaction, so that a backlog (after downtime) lets the group committer in between,
    /// and a claimant that fails makes only its own chunk run again with a savepoint per claimant.
    var chunkSize = 256
    /// The blocked timers last warned of, and when.
    private let warned = LastWarning()
    /// The claimants whose timers could not fire.
    private let failing = FailingClaimants()
    /// Ticks that could not reach the store.
    private let storeFailures = FailureReminder()

    func run() async throws {
        // Cancelled, the sleep below returns at once: the loop must end then too, not tick without pause.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            // On the store's own threads: a tick waits for the store (PostgreSQL's answers, a claimant's lock
            // another instance holds), which must not hold up one of the few threads that run every task.
            let now = clock()
            _ = try? await ExchangeServer.offStore { [self] in tick(at: now) }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Fires whatever is due at `now`. Each claimant's timers fire in a savepoint of their own: a claimant
    /// whose record cannot be read or stored keeps its timers due, and everyone else's still fire.
    func tick(at now: Date) {
        defer { warnOfBlockedTimers(at: now) }
        var emitted: [GeneratedMessage] = []
        defer { announce(emitted) }
        do {
            let keys = failing.toTry(try store.personKeysWithTimers(dueBy: now), at: now, backoff: failureBackoff)
            for start in stride(from: 0, to: keys.count, by: chunkSize) {
                let chunk = Array(keys[start..<min(start + chunkSize, keys.count)])
                // Each claimant's record is read again in the write transaction: one a message changed
                // meanwhile fires what is due by then, and one with nothing due any more fires nothing.
                let results = try store.batch(chunk, keys: { BatchKeys(claimant: $0) }) { key, transaction in
                    try router().fireDueTimers(of: key, at: now, in: transaction)
                }
                var failed: [(key: String, error: any Error)] = []
                for (key, result) in zip(chunk, results) {
                    switch result {
                    case .success(let fired): emitted += fired
                    case .failure(let error): failed.append((key, error))
                    }
                }
                report(failed, of: chunk, at: now)
            }
            if let outage = storeFailures.succeeded() { logger.notice("timers fire again", metadata: ["after": "\(Int(outage.rounded())) s"]) }
        } catch {
            // Said once, then every half minute while the store stays out of reach.
            if let failures = storeFailures.failed() {
                logger.error("timers could not fire; will try again", metadata: ["error": "\(error)", "failures": "\(failures)"])
            }
        }
    }

    /// Counts, logs and delivers what the timers emitted.
    private func announce(_ emitted: [GeneratedMessage]) {
        guard !emitted.isEmpty else { return }
        metrics.timerMessages(emitted.count)
        for message in emitted {
            logger.info("timer fired", metadata: ["id": "\(message.id)", "type": "\(message.type.rawValue)", "to": "\(message.to)"])
        }
        onEmit(Set(emitted.map(\.to.description)))
    }

    /// Logs each claimant whose timers could not fire: when it first fails, and again every
    /// `blockedReminder` while it goes on failing, not on every try. The key is masked like a NINO.
    private func report(_ failed: [(key: String, error: any Error)], of tried: [String], at now: Date) {
        let toLog = failing.record(failed.map(\.key), of: tried, at: now, reminder: blockedReminder)
        for (key, error) in failed where toLog.contains(key) {
            logger.error(
                "timers of one claimant could not fire; will try again (no other claimant's are held up)",
                metadata: ["person": "\(NINO.maskPersonKey(key))", "error": "\(error)"])
        }
    }

    /// Warns when timers are blocked (they wait for an operator: `liaison queue timers`): when their number
    /// changes, and again every `blockedReminder` while any stay blocked.
    private func warnOfBlockedTimers(at now: Date) {
        guard let count = try? operators.blockedTimerCount() else { return }
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

/// The claimants whose timers could not fire: when each last failed and was last logged. Only claimants with
/// timers still due are kept.
private final class FailingClaimants: Sendable {
    private struct Failure {
        var failedAt: Date
        var loggedAt: Date
    }

    private let failures = Mutex<[String: Failure]>([:])

    /// The due claimants to try now: all but those that failed less than `backoff` ago. Forgets claimants
    /// with nothing due any more.
    func toTry(_ due: [String], at now: Date, backoff: TimeInterval) -> [String] {
        failures.withLock { failures in
            let stillDue = Set(due)
            failures = failures.filter { stillDue.contains($0.key) }
            return due.filter { key in failures[key].map { now.timeIntervalSince($0.failedAt) >= backoff } ?? true }
        }
    }

    /// Records which of the claimants `tried` failed at `now`.
    /// - Returns: those to log: failing for the first time, or last logged `reminder` ago or more.
    func record(_ failed: [String], of tried: [String], at now: Date, reminder: TimeInterval) -> Set<String> {
        failures.withLock { failures in
            let failedKeys = Set(failed)
            // A claimant whose timers fired starts afresh should it fail again.
            for key in tried where !failedKeys.contains(key) { failures[key] = nil }
            return Set(
                failed.filter { key in
                    // Logged within the reminder: not again yet.
                    let recentlyLogged = failures[key].map(\.loggedAt).flatMap { now.timeIntervalSince($0) < reminder ? $0 : nil }
                    failures[key] = Failure(failedAt: now, loggedAt: recentlyLogged ?? now)
                    return recentlyLogged == nil
                })
        }
    }
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
