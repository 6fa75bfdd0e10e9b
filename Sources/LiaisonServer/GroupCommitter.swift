import Foundation
import LiaisonCore
import LiaisonStore
import Logging
import Synchronization

/// Stores submissions in shared commits: concurrent requests wait together for one fsync, so throughput is
/// not one fsync per message. A request is answered only after its commit is on disk.
///
/// One thread does the writing, so SQLite's single writer is never contended by the request handlers.
final class GroupCommitter: Sendable {
    struct Job: Sendable {
        let prepared: Router.Prepared
        let receivedAt: Date
        let continuation: CheckedContinuation<Router.Answer, any Error>
    }

    private struct Pending {
        var jobs: [Job] = []
        var stopped = false
    }

    private let pending = Mutex(Pending())
    private let signal = DispatchSemaphore(value: 0)
    private let store: SQLiteCaseStore
    private let router: Router
    private let maximumBatch: Int
    /// Called after a commit that stored copies to deliver, with the addresses they are for.
    private let onCommit: @Sendable (_ addresses: Set<String>) -> Void
    private let onHealth: @Sendable (_ storeWritable: Bool) -> Void
    private let logger: Logger
    /// The submissions received and not yet judged.
    private let receipts: Receipts

    init(
        store: SQLiteCaseStore, router: Router, maximumBatch: Int = 512, logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() },
        onHealth: @escaping @Sendable (_ storeWritable: Bool) -> Void,
        onCommit: @escaping @Sendable (_ addresses: Set<String>) -> Void
    ) {
        receipts = Receipts(clock: clock)
        self.onHealth = onHealth
        self.store = store
        self.router = router
        self.maximumBatch = maximumBatch
        self.logger = logger
        self.onCommit = onCommit
        // Named from inside, and in at most 15 characters: otherwise on Linux the name never reaches the
        // kernel (ps, top -H, perf).
        Thread { [self] in
            Thread.current.name = "liaison-commit"
            self.loop()
        }.start()
    }

    /// Stores one submission, received now, and returns its answer once durable. Parsing and validation
    /// happen here, on the caller's thread; the writer thread only checks idempotency, decides and stores.
    /// - Throws: the store's error when the batch could not be committed (the caller answers 503).
    func submit(_ body: [UInt8], from sender: String) async throws -> Router.Answer {
        let (ticket, receivedAt) = receipts.open()
        defer { receipts.close(ticket) }
        let prepared = router.prepare(body, from: sender)
        return try await withCheckedThrowingContinuation { continuation in
            let accepted = pending.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.jobs.append(Job(prepared: prepared, receivedAt: receivedAt, continuation: continuation))
                return true
            }
            if accepted {
                signal.signal()
            } else {
                continuation.resume(throwing: StoreStopped())
            }
        }
    }

    /// The latest instant timers may fire at: now, or when the earliest submission still waiting to be
    /// judged was received.
    func firingInstant() -> Date { receipts.firingInstant() }

    /// Keeps a refusal made before the router saw the message (a body over the limit) in the audit log, in
    /// a transaction of its own on the caller's thread: rare, and never on the path of accepted messages.
    func recordRefusal(_ refusal: RefusalRecord) throws {
        try store.transaction { try $0.recordRefusal(refusal) }
    }

    /// Whether the store takes a durable write now: one small row, committed and synced like any other.
    func probeStore() -> Bool {
        do {
            try store.pool.write { db in
                try db.execute(
                    sql: "INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                    arguments: [Date().timeIntervalSince1970])
            }
            return true
        } catch {
            logger.warning("store still not writable", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Stops taking work once what is queued is stored.
    func stop() {
        pending.withLock { $0.stopped = true }
        signal.signal()
    }

    struct StoreStopped: Error {}

    private func loop() {
        while true {
            signal.wait()
            let (jobs, stopped) = pending.withLock { state -> ([Job], Bool) in
                let taken = Array(state.jobs.prefix(maximumBatch))
                state.jobs.removeFirst(taken.count)
                if !state.jobs.isEmpty { signal.signal() }
                return (taken, state.stopped && state.jobs.isEmpty)
            }
            if !jobs.isEmpty { commit(jobs) }
            if stopped { return }
        }
    }

    private func commit(_ jobs: [Job]) {
        let results: [Result<Router.Answer, any Error>]
        do {
            results = try store.batch(jobs) { job, transaction in
                try router.submit(job.prepared, at: job.receivedAt, in: transaction)
            }
        } catch {
            logger.error("commit failed; answering 503", metadata: ["messages": "\(jobs.count)", "error": "\(error)"])
            onHealth(false)
            for job in jobs { job.continuation.resume(throwing: error) }
            return
        }
        onHealth(true)
        var addresses: Set<String> = []
        for (job, result) in zip(jobs, results) {
            if case .success(let answer) = result {
                if answer.status == 202, !answer.replayed {
                    addresses.formUnion(answer.routedTo)
                }
                for message in answer.emitted { addresses.insert(message.to.description) }
            }
            job.continuation.resume(with: result)
        }
        if !addresses.isEmpty { onCommit(addresses) }
    }
}
