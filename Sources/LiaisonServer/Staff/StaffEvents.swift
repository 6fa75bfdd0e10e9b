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

    private let subscribers = Mutex<[UUID: Subscriber]>([:])
    private let finished = Mutex(false)

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
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        if finished.withLock({ $0 }) {
            continuation.finish()
        } else {
            subscribers.withLock { $0[id] = Subscriber(inboxes: inboxes, continuation: continuation) }
        }
        return stream
    }

    /// Tells the pages watching any of `inboxes` that a copy was queued there.
    func publish(_ inboxes: Set<String>) {
        let listening = subscribers.withLock { Array($0.values) }
        for subscriber in listening {
            for inbox in inboxes.intersection(subscriber.inboxes).sorted() { subscriber.continuation.yield(.notice(inbox: inbox)) }
        }
    }

    /// Ends every stream: the daemon is stopping, and open pages must not hold up its drain.
    func finishAll() {
        finished.withLock { $0 = true }
        let listening = subscribers.withLock { Array($0.values) }
        for subscriber in listening { subscriber.continuation.finish() }
    }
}
