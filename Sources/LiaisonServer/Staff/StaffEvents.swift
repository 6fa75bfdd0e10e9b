import Foundation
import Synchronization

/// News of new notices for the staff pages' live updates: each open page subscribes with its member's
/// inboxes and hears of every commit that queued a copy for one of them.
final class StaffEvents: Sendable {
    enum Event: Sendable {
        /// A copy was queued for this inbox.
        case notice(inbox: String)
        /// Nothing happened; a comment keeps the connection open through proxies.
        case heartbeat
    }

    private struct Subscriber {
        let inboxes: Set<String>
        let continuation: AsyncStream<Event>.Continuation
    }

    private struct State {
        var subscribers: [UUID: Subscriber] = [:]
        var finished = false
    }

    private let state = Mutex(State())

    /// A stream of the events for `inboxes`, which ends when the daemon stops; cancel it by ending the task
    /// that reads it.
    func subscribe(inboxes: Set<String>) -> AsyncStream<Event> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                continuation.yield(.heartbeat)
            }
        }
        continuation.onTermination = { [weak self] _ in
            heartbeat.cancel()
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        // Joined, or finished at once, under the one lock that `finishAll` takes: none slips between.
        let joined = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            state.subscribers[id] = Subscriber(inboxes: inboxes, continuation: continuation)
            return true
        }
        if !joined { continuation.finish() }
        return stream
    }

    /// Tells the pages watching any of `inboxes` that a copy was queued there.
    func publish(_ inboxes: Set<String>) {
        let listening = state.withLock { Array($0.subscribers.values) }
        for subscriber in listening {
            for inbox in inboxes.intersection(subscriber.inboxes).sorted() { subscriber.continuation.yield(.notice(inbox: inbox)) }
        }
    }

    /// Ends every stream: the daemon is stopping, and open pages must not hold up its drain.
    func finishAll() {
        let listening = state.withLock { state in
            state.finished = true
            return Array(state.subscribers.values)
        }
        for subscriber in listening { subscriber.continuation.finish() }
    }
}
