import Foundation
import LiaisonCore
import LiaisonDelivery
import LiaisonStore
import Logging
import Synchronization

/// Stores submissions in shared commits: concurrent requests wait together for one fsync, so throughput is
/// not one fsync per message. A request is answered only after its commit is on disk.
///
/// One thread does the writing, so SQLite's single writer is never contended by the request handlers. On
/// PostgreSQL, each instance's writer commits its own shared transactions, and the store locks each claimant
/// judged, so that a claimant's messages are judged one at a time across instances.
final class GroupCommitter: Sendable {
    struct Job: Sendable {
        /// The router in force when it was received: it is judged by the rules it was prepared under.
        let router: SubmissionDesk
        let prepared: SubmissionDesk.Prepared
        let receivedAt: Date
        let continuation: CheckedContinuation<SubmissionDesk.Answer, any Error>
    }

    private struct Pending {
        var intake = Intake<Job>()
        var stopped = false
    }

    private let pending = Mutex(Pending())
    private let signal = DispatchSemaphore(value: 0)
    private let store: any ExchangeStore
    /// The router in force (replaced by a reload).
    private let router: @Sendable () -> SubmissionDesk
    private let maximumBatch: Int
    /// Called after a commit that stored copies to deliver, with the addresses they are for.
    private let onCommit: @Sendable (_ addresses: Set<String>) -> Void
    private let onHealth: @Sendable (_ storeWritable: Bool) -> Void
    private let logger: Logger
    /// The submissions received and not yet judged.
    private let receipts: Receipts
    /// Shared commits that failed, for the log.
    private let commitFailures = FailureReminder()

    init(
        store: any ExchangeStore, router: @escaping @Sendable () -> SubmissionDesk, maximumBatch: Int = 512, logger: Logger,
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
    /// happen here, on the caller's thread; the writer thread only checks idempotency, decides and stores,
    /// in the order the submissions were received (see `Intake`).
    /// - Throws: the store's error when the batch could not be committed (the caller answers 503).
    /// - Parameter staffMember: who sent it from the staff pages (their e-mail), kept with the message.
    func submit(_ body: [UInt8], from sender: String, staffMember: String? = nil) async throws -> SubmissionDesk.Answer {
        // The ticket joins the intake under the intake's lock, so the writer cannot take a later submission
        // between this one's receipt and its place in line.
        let (ticket, receivedAt) = pending.withLock { state in
            let receipt = receipts.open()
            state.intake.received(receipt.ticket)
            return receipt
        }
        defer { receipts.close(ticket) }
        let router = self.router()
        var prepared = router.prepare(body, from: sender, at: receivedAt)
        prepared.staffMember = staffMember
        return try await withCheckedThrowingContinuation { continuation in
            let accepted = pending.withLock { state -> Bool in
                guard !state.stopped else {
                    state.intake.withdraw(ticket)
                    return false
                }
                state.intake.prepared(ticket, Job(router: router, prepared: prepared, receivedAt: receivedAt, continuation: continuation))
                return true
            }
            // Either way the writer looks again: later submissions may have been waiting for this one.
            signal.signal()
            if !accepted { continuation.resume(throwing: StoreStopped()) }
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
            try store.probe(at: Date())
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
                let (taken, more) = state.intake.take(upTo: maximumBatch)
                if more { signal.signal() }
                return (taken, state.stopped && !state.intake.hasPrepared)
            }
            if !jobs.isEmpty { commit(jobs) }
            if stopped { return }
        }
    }

    private func commit(_ jobs: [Job]) {
        let results: [Result<SubmissionDesk.Answer, any Error>]
        do {
            results = try store.batch(jobs, keys: { BatchKeys(claimant: $0.prepared.personKey, messageID: $0.prepared.messageID) }) {
                job, transaction in try job.router.submit(job.prepared, at: job.receivedAt, in: transaction)
            }
        } catch {
            // Said once, then every half minute while the store stays out of reach (each batch answers 503).
            if let failures = commitFailures.failed() {
                logger.error("commit failed; answering 503", metadata: ["messages": "\(jobs.count)", "error": "\(error)", "failures": "\(failures)"])
            }
            onHealth(false)
            for job in jobs { job.continuation.resume(throwing: error) }
            return
        }
        onHealth(true)
        if let outage = commitFailures.succeeded() { logger.notice("commits stored again", metadata: ["after": "\(Int(outage.rounded())) s"]) }
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

/// Submissions in the order they were received. Each takes a ticket on receipt, is prepared (parsed and
/// validated) on its caller's thread, and joins; the writer takes only those that no earlier ticket still being
/// prepared comes before, oldest first. So messages are judged in the order they arrived, and a claimant's due
/// timers fire at each message's receipt as the case rules have it: a later message that is parsed sooner (a
/// smaller body, say) cannot fire a deadline at midnight that an earlier one, received at 23:59:59 and still
/// being parsed, met.
struct Intake<Job> {
    private var preparing: Set<UInt64> = []
    private var ready: [(ticket: UInt64, job: Job)] = []

    /// Whether any prepared submission waits to be taken.
    var hasPrepared: Bool { !ready.isEmpty }

    /// Notes a submission received under `ticket` (tickets rise with receipt), not yet prepared.
    mutating func received(_ ticket: UInt64) {
        preparing.insert(ticket)
    }

    /// Lines up a prepared submission.
    mutating func prepared(_ ticket: UInt64, _ job: Job) {
        preparing.remove(ticket)
        ready.append((ticket, job))
    }

    /// Forgets a submission that will not be stored (refused while stopping), so that none waits for it.
    mutating func withdraw(_ ticket: UInt64) {
        preparing.remove(ticket)
    }

    /// Takes up to `limit` prepared submissions, oldest first, stopping before the first that an earlier one
    /// still being prepared must precede.
    /// - Returns: the jobs, and whether more could be taken at once.
    mutating func take(upTo limit: Int) -> (jobs: [Job], more: Bool) {
        guard !ready.isEmpty else { return ([], false) }
        let horizon = preparing.min() ?? .max
        // Usually already in order: submissions are prepared about as fast as one another.
        if zip(ready, ready.dropFirst()).contains(where: { $0.ticket > $1.ticket }) { ready.sort { $0.ticket < $1.ticket } }
        var count = 0
        while count < min(limit, ready.count), ready[count].ticket < horizon { count += 1 }
        let jobs = ready[..<count].map(\.job)
        ready.removeFirst(count)
        return (jobs, ready.first.map { $0.ticket < horizon } ?? false)
    }
}
