import Foundation
import LiaisonCore
import LiaisonStore
import Logging
import ServiceLifecycle

/// Fires the core's timers on the real clock. What they emit is stored in the same transaction that
/// removes the timer, so a timer fires once, also across restarts.
struct TimerService: Service {
    let store: SQLiteCaseStore
    let router: LiaisonCore.Router
    let metrics: ExchangeMetrics
    let logger: Logger
    let onEmit: @Sendable () -> Void
    var interval: Duration = .seconds(1)

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            tick(at: Date())
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Fires whatever is due at `now`.
    func tick(at now: Date) {
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
