import Foundation
import Synchronization

/// Whether the daemon takes requests, and whether its store took its last write.
final class DaemonState: Sendable {
    /// How long a successful write shows the store writable, for readiness.
    static let writeFreshness: TimeInterval = 5

    private struct Store {
        var healthy = true
        /// When the store last took a write; nil after a failed one.
        var lastWrite: Date?
    }

    private let draining = Atomic<Bool>(false)
    private let store = Mutex(Store())

    var isAccepting: Bool { !draining.load(ordering: .relaxed) }
    var isStoreHealthy: Bool { store.withLock(\.healthy) }

    func drain() { draining.store(true, ordering: .relaxed) }

    /// Whether the store took a write in the last few seconds, which shows it writable.
    func hasFreshWrite(at now: Date) -> Bool {
        store.withLock { state in state.lastWrite.map { now.timeIntervalSince($0) < Self.writeFreshness } ?? false }
    }

    /// Records whether a write (a commit, or readiness's own) was stored, and when.
    func storeHealth(_ healthy: Bool, at when: Date = Date()) {
        store.withLock { $0 = Store(healthy: healthy, lastWrite: healthy ? when : nil) }
    }

    /// Why the daemon is not ready (PROTOCOL.md: the store writable, not draining), or nil when it is.
    ///
    /// A write in the last few seconds shows the store writable. Otherwise — an idle daemon, or one whose
    /// last commit failed — `probe` makes a small durable write, so that readiness notices a full disk
    /// before a submission does, and comes back when the disk does.
    func notReady(at now: Date, probe: () -> Bool) -> String? {
        guard isAccepting else { return "Liaison is shutting down" }
        if !hasFreshWrite(at: now) { storeHealth(probe(), at: now) }
        return isStoreHealthy ? nil : "the store cannot be written durably"
    }
}
