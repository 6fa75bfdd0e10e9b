import Foundation
import Synchronization

/// Counters exposed at `/metrics` in Prometheus text format.
final class ExchangeMetrics: Sendable {
    private struct Counts {
        var accepted: [String: Int] = [:]
        var refused: [String: Int] = [:]
        var replayed = 0
        var batches = 0
        var batchedMessages = 0
        var timerMessages = 0
    }

    private let counts = Mutex(Counts())

    func accepted(type: String) { counts.withLock { $0.accepted[type, default: 0] += 1 } }
    func refused(code: String) { counts.withLock { $0.refused[code, default: 0] += 1 } }
    func replayed() { counts.withLock { $0.replayed += 1 } }
    func timerMessages(_ count: Int) { counts.withLock { $0.timerMessages += count } }

    /// The exposition, with the queue gauges read from the store.
    func render(queue: [(inbox: String, state: String, count: Int)]) -> String {
        let snapshot = counts.withLock { $0 }
        var lines = [
            "# HELP liaison_messages_accepted_total Messages accepted (202), by type.",
            "# TYPE liaison_messages_accepted_total counter",
        ]
        for (type, count) in snapshot.accepted.sorted(by: { $0.key < $1.key }) {
            lines.append("liaison_messages_accepted_total{type=\"\(type)\"} \(count)")
        }
        lines += ["# HELP liaison_messages_refused_total Messages refused, by code.", "# TYPE liaison_messages_refused_total counter"]
        for (code, count) in snapshot.refused.sorted(by: { $0.key < $1.key }) {
            lines.append("liaison_messages_refused_total{code=\"\(code)\"} \(count)")
        }
        lines += [
            "# HELP liaison_messages_replayed_total Resubmissions answered from the store.",
            "# TYPE liaison_messages_replayed_total counter", "liaison_messages_replayed_total \(snapshot.replayed)",
            "# HELP liaison_timer_messages_total Messages emitted by timers.",
            "# TYPE liaison_timer_messages_total counter", "liaison_timer_messages_total \(snapshot.timerMessages)",
            "# HELP liaison_queue_copies Routed copies by inbox and state.", "# TYPE liaison_queue_copies gauge",
        ]
        for entry in queue {
            lines.append("liaison_queue_copies{inbox=\"\(entry.inbox)\",state=\"\(entry.state)\"} \(entry.count)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
