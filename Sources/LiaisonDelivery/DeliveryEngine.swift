import CCurl
import CoreMetrics
import Foundation
import LiaisonCore
import LiaisonStore
import Logging
import ServiceLifecycle
import Synchronization

/// Delivers routed copies to push inboxes over HTTPS through libcurl's multi interface, retrying from the
/// store until each inbox takes its copies (PROTOCOL.md "Delivery").
///
/// One thread owns the multi handle and every easy handle on it (libcurl's threading rule); other threads
/// only set flags under a lock and call `curl_multi_wakeup`. Connections are reused across transfers. Each
/// inbox has its own concurrency, so one failing inbox never holds up another.
public final class DeliveryEngine: Service, @unchecked Sendable {
    // @unchecked: everything below `control` is confined to the delivery thread.
    private let queue: DeliveryQueue
    private var endpoints: [InboxEndpoint]
    private var policy: RetryPolicy
    private let drainSeconds: Double
    private let logger: Logger
    /// Where attempts and latencies are recorded (`liaison_delivery_attempts_total`, `liaison_delivery_latency_seconds`).
    private let metrics: any MetricsFactory
    private let multi: UnsafeMutableRawPointer

    private struct Control {
        var woken = true
        var stopping = false
        var drainDeadline: Double?
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
        /// Inboxes and a schedule a reload gave, taken up by the delivery thread at its next turn.
        var reconfiguration: (endpoints: [InboxEndpoint], pullAddresses: [String], policy: RetryPolicy, breaker: CircuitBreaker.Policy)?
    }

    private let control = Mutex(Control())

    private final class Transfer {
        let copy: QueuedCopy
        let endpoint: InboxEndpoint
        let handle: UnsafeMutableRawPointer
        let headers: UnsafeMutablePointer<curl_slist>?
        /// Where curl writes what went wrong in its own words (CURLOPT_ERRORBUFFER): which host, which
        /// certificate, which timeout; its error code's text alone says only the kind of failure.
        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))

        init(copy: QueuedCopy, endpoint: InboxEndpoint, handle: UnsafeMutableRawPointer, headers: UnsafeMutablePointer<curl_slist>?) {
            self.copy = copy
            self.endpoint = endpoint
            self.handle = handle
            self.headers = headers
            errorText.initialize(to: 0)
            liaison_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorText)
        }

        /// curl's error for a failed transfer, with its detail when it gave one.
        func describe(_ error: String) -> String {
            let detail = String(cString: errorText)
            return detail.isEmpty || detail == error ? error : "\(error): \(detail)"
        }

        /// Frees what the transfer holds; call once curl has let go of the handle (reset or cleaned up).
        func free() {
            curl_slist_free_all(headers)
            errorText.deallocate()
        }
    }

    private var pullAddresses: [String]
    /// How often lapsed pull leases (and other instances' lapsed claims) are returned to the queue, in seconds.
    private static let leaseSweepInterval = 5.0
    /// How long past a transfer's timeout a claimed copy stays this instance's: time to record the answer.
    static let claimMargin = 30.0
    private var transfers: [UnsafeMutableRawPointer: Transfer] = [:]
    private var inFlight: [String: Int] = [:]
    private var busy: [String: Set<String>] = [:]
    private var results: [CopyTransition] = []
    private var inboxErrors: [String: String] = [:]
    private var pauses: [String: Double] = [:]
    private var inboxesToHold: Set<String> = []
    /// Each push inbox's circuit breaker, made at its first attempt.
    private var breakers: [String: CircuitBreaker] = [:]
    private var breakerPolicy: CircuitBreaker.Policy
    /// Breakers opened or closed since the last settle, for the store.
    private var circuitChanges: [String: DeliveryQueue.Circuit] = [:]
    /// Expires an inbox's waiting copies whose lifetime is over (those of an open circuit are not attempted).
    private let expireLapsed: (@Sendable (_ inbox: String, _ lifetime: Double, _ now: Double) throws -> Int)?
    private var freeHandles: [UnsafeMutableRawPointer] = []
    private let settleFailures = FailureReminder()
    private let sweepFailures = FailureReminder()

    /// - Parameter pullAddresses: the pull inboxes, whose lapsed leases the deliverer returns to the queue.
    public init(
        queue: DeliveryQueue, endpoints: [InboxEndpoint], pullAddresses: [String] = [], policy: RetryPolicy, drainSeconds: Double,
        logger: Logger, metrics: any MetricsFactory = NOOPMetricsHandler.instance, breaker: CircuitBreaker.Policy = .init(),
        expireLapsed: (@Sendable (_ inbox: String, _ lifetime: Double, _ now: Double) throws -> Int)? = nil
    ) {
        _ = CurlRequest.globalInit
        self.metrics = metrics
        breakerPolicy = breaker
        self.expireLapsed = expireLapsed
        // Whatever a previous run left open in the store starts closed: this run has seen no failure yet.
        for endpoint in endpoints { circuitChanges[endpoint.address] = .closed }
        self.queue = queue
        self.endpoints = endpoints
        self.pullAddresses = pullAddresses
        self.policy = policy
        self.drainSeconds = drainSeconds
        self.logger = logger
        self.multi = curl_multi_init()
        liaison_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 1024)
    }

    deinit {
        for handle in freeHandles { curl_easy_cleanup(handle) }
        curl_multi_cleanup(multi)
    }

    /// Takes new inboxes and a new retry schedule (a reload): copies claimed from the next turn on go to the
    /// new endpoints; transfers in flight finish with the endpoint they started with, and nothing is dropped.
    public func reconfigure(endpoints: [InboxEndpoint], pullAddresses: [String], policy: RetryPolicy, breaker: CircuitBreaker.Policy) {
        control.withLock { state in
            state.reconfiguration = (endpoints, pullAddresses, policy, breaker)
            state.woken = true
            curl_multi_wakeup(multi)
        }
    }

    /// Tells the engine there may be new copies to send (after a commit).
    public func wake() {
        control.withLock { state in
            state.woken = true
            // Under the lock, so it cannot race the multi handle's cleanup.
            curl_multi_wakeup(multi)
        }
    }

    /// Runs until graceful shutdown, then lets transfers in flight finish within the drain bound.
    public func run() async throws {
        let thread = Thread { [self] in
            Thread.current.name = "liaison-deliver"
            loop()
            control.withLock { state in
                state.finished = true
                state.waiter?.resume()
                state.waiter = nil
            }
        }
        thread.start()
        // Cancelled (a service failed at start, say) it drains as on SIGTERM, so the process still exits.
        await withTaskCancellationOrGracefulShutdownHandler {
            await finished()
        } onCancelOrGracefulShutdown: { [self] in
            stop()
        }
    }

    /// Stops claiming new copies; transfers in flight get `drainSeconds` to finish.
    public func stop() {
        control.withLock { state in
            guard !state.stopping else { return }
            state.stopping = true
            state.drainDeadline = Date().timeIntervalSince1970 + drainSeconds
            curl_multi_wakeup(multi)
        }
    }

    private func finished() async {
        await withCheckedContinuation { continuation in
            control.withLock { state in
                if state.finished { continuation.resume() } else { state.waiter = continuation }
            }
        }
    }

    // MARK: The delivery thread

    private func loop() {
        var lastClaim = 0.0
        var lastLeaseSweep = 0.0
        var capacityFreed = false
        // After the store refused a settle, wait before trying again rather than spin on it.
        var settleAgainAt = 0.0
        while true {
            let now = Date().timeIntervalSince1970
            let (woken, stopping, deadline, reconfiguration) = control.withLock { state in
                defer {
                    state.woken = false
                    state.reconfiguration = nil
                }
                return (state.woken, state.stopping, state.drainDeadline, state.reconfiguration)
            }
            if let reconfiguration {
                (endpoints, pullAddresses, policy) = (reconfiguration.endpoints, reconfiguration.pullAddresses, reconfiguration.policy)
                // Breakers already open keep their policy until they close; new ones take the new policy.
                breakerPolicy = reconfiguration.breaker
            }
            if stopping {
                if let deadline, now >= deadline { abandonAll(now: now) }
                if transfers.isEmpty { break }
            }
            if !stopping, now - lastLeaseSweep >= Self.leaseSweepInterval {
                lastLeaseSweep = now
                returnLapsedLeases(now: now)
            }
            // Results are recorded and new copies claimed together in one transaction (one fsync), as soon
            // as the last one is done: what finished while it ran makes the next batch, so batches grow
            // with the load and a quiet inbox is not kept waiting.
            let claim = !stopping && (woken || now - lastClaim >= 0.1 || capacityFreed)
            let record = !results.isEmpty
            let settleNow = now >= settleAgainAt && (claim || record || !inboxesToHold.isEmpty)
            if settleNow {
                if !settle(now: now, claim: claim) { settleAgainAt = now + 0.25 }
                if claim {
                    lastClaim = now
                    capacityFreed = false
                }
            }
            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            if collectCompletions(now: Date().timeIntervalSince1970) { capacityFreed = true }
            let pending = (capacityFreed || !results.isEmpty) && Date().timeIntervalSince1970 >= settleAgainAt
            curl_multi_poll(multi, nil, 0, pending ? 0 : 50, nil)
        }
        // The last results (deliveries, and copies sent back to the queue unanswered) are worth a few tries:
        // lost, the copies stay in flight in the store and a restart sends them again, so they would arrive
        // twice, with their attempts missing from `queue show`.
        for attempt in 1...Self.finalSettleAttempts {
            if settle(now: Date().timeIntervalSince1970, claim: false) { return }
            if attempt < Self.finalSettleAttempts { Thread.sleep(forTimeInterval: 0.5) }
        }
        logger.error(
            "delivery results could not be recorded at shutdown; the copies stay in flight and are sent again on restart",
            metadata: ["copies": "\(results.count)"])
    }

    /// How many times the last results are offered to the store at shutdown, half a second apart.
    private static let finalSettleAttempts = 4

    /// Records what finished and, when asked, claims copies for every inbox with room, in one transaction.
    /// - Returns: false when the store could not record it (the results are kept for the next try).
    @discardableResult
    private func settle(now: Double, claim: Bool) -> Bool {
        var claims: [DeliveryQueue.ClaimRequest] = []
        if claim {
            // An inbox paused by Retry-After is passed over by the store, which keeps the pause.
            for endpoint in endpoints {
                // An open circuit lets one probe copy at a time through, when it is due.
                let free = endpoint.concurrency - inFlight[endpoint.address, default: 0]
                let room = breakers[endpoint.address]?.allowance(room: free, now: now) ?? free
                if room > 0 {
                    claims.append(
                        .init(
                            address: endpoint.address, limit: room, busy: busy[endpoint.address, default: []], capacity: endpoint.concurrency,
                            claimLease: endpoint.timeoutSeconds + Self.claimMargin))
                }
            }
        }
        guard
            !claims.isEmpty || !results.isEmpty || !inboxErrors.isEmpty || !pauses.isEmpty || !inboxesToHold.isEmpty
                || !circuitChanges.isEmpty
        else {
            return true
        }
        do {
            let settlement = try queue.settle(
                results, inboxErrors: inboxErrors, pausedUntil: pauses, hold: inboxesToHold, claims: claims, circuits: circuitChanges,
                now: now)
            circuitChanges.removeAll()
            results.removeAll()
            inboxErrors.removeAll()
            pauses.removeAll()
            inboxesToHold.removeAll()
            if let outage = settleFailures.succeeded() {
                logger.notice("delivery results recorded again", metadata: ["after": "\(Int(outage.rounded())) s"])
            }
            for copy in settlement.unreadable {
                logger.error(
                    "copy expired: not readable with its message; kept for an operator",
                    metadata: ["copy-seq": "\(copy.seq)", "inbox": "\(copy.address)"])
            }
            for (address, held) in settlement.held.sorted(by: { $0.key < $1.key }) {
                logger.info("copies held", metadata: ["inbox": "\(address)", "count": "\(held.count)", "reason": "\(held.reason)"])
            }
            for endpoint in endpoints {
                let claimed = settlement.claimed[endpoint.address] ?? []
                breakers[endpoint.address]?.claimed(claimed.map(\.seq))
                for copy in claimed { start(copy, endpoint: endpoint, now: now) }
            }
            return true
        } catch {
            // Kept in memory and tried again next turn; a crash here leaves the copies in flight, which a
            // restart sends again. Said once, then every half minute while the store stays out of reach.
            if let failures = settleFailures.failed() {
                logger.error("cannot record delivery results", metadata: ["error": "\(error)", "failures": "\(failures)"])
            }
            return false
        }
    }

    /// Pull inboxes' copies whose leases ran out unacknowledged go back to the queue (or expire at the end
    /// of their lifetime) without waiting for the next pull, so that a puller that stopped leaves nothing in
    /// flight and its copies' lifetimes run out as pushed ones do.
    ///
    /// With several instances on one database, copies another instance claimed and never settled (it died
    /// mid-send) go back to the queue once their claim lapses, and are sent again from here.
    private func returnLapsedLeases(now: Double) {
        do {
            if !pullAddresses.isEmpty {
                let returned = try queue.returnLapsedLeases(addresses: pullAddresses, now: now, lifetime: policy.lifetime)
                if returned > 0 { logger.info("pull leases ran out unacknowledged; copies returned", metadata: ["copies": "\(returned)"]) }
            }
            // Copies waiting behind an open circuit are not attempted, but their lifetimes still run.
            for (address, breaker) in breakers.sorted(by: { $0.key < $1.key }) where breaker.isOpen {
                if let expired = try expireLapsed?(address, policy.lifetime, now), expired > 0 {
                    logger.error(
                        "copies expired after their lifetime while the inbox's circuit was open; kept for an operator",
                        metadata: ["inbox": "\(address)", "copies": "\(expired)"])
                }
            }
            let taken = try queue.returnLapsedClaims(now: now)
            if taken > 0 {
                logger.warning("copies another instance claimed and never settled were returned to the queue", metadata: ["copies": "\(taken)"])
            }
            _ = sweepFailures.succeeded()
        } catch {
            if sweepFailures.failed() != nil { logger.error("cannot return lapsed leases", metadata: ["error": "\(error)"]) }
        }
    }

    private func start(_ copy: QueuedCopy, endpoint: InboxEndpoint, now: Double) {
        guard let handle = freeHandles.popLast() ?? curl_easy_init() else {
            // curl could not make a handle (out of memory): a failed attempt, retried like any other.
            finish(copy, endpoint, status: 0, retryAfter: nil, error: "curl could not make a transfer handle", now: now)
            return
        }
        let body = copy.deliveryBody()
        let timestamp = Int(now)
        let headers = CurlRequest.headers([
            "Content-Type: application/json", "webhook-id: \(copy.id)", "webhook-timestamp: \(timestamp)",
            "webhook-signature: \(endpoint.signer.signature(id: copy.id, timestamp: timestamp, body: body))",
        ])
        CurlRequest.configure(
            handle, url: endpoint.url, method: "POST", body: body, headers: headers, timeoutSeconds: endpoint.timeoutSeconds,
            caBundle: endpoint.caBundle, clientCertificate: endpoint.clientCertificate, clientKey: endpoint.clientKey)
        liaison_easy_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION) { _, size, count, _ in size * count }
        transfers[handle] = Transfer(copy: copy, endpoint: endpoint, handle: handle, headers: headers)
        inFlight[endpoint.address, default: 0] += 1
        if let person = copy.personKey { busy[endpoint.address, default: []].insert(person) }
        let added = curl_multi_add_handle(multi, handle)
        if added != CURLM_OK {
            // Never sent: a failed attempt like any other, so the copy is retried and its inbox's room and its
            // claimant are not held by a transfer that will never finish.
            guard let transfer = transfers.removeValue(forKey: handle) else { return }
            release(transfer)
            finish(
                transfer.copy, transfer.endpoint, status: 0, retryAfter: nil,
                error: "curl could not start the transfer: \(String(cString: curl_multi_strerror(added)))", now: now)
            curl_easy_reset(handle)
            transfer.free()
            freeHandles.append(handle)
        }
    }

    /// Reads finished transfers. - Returns: whether capacity was freed.
    private func collectCompletions(now: Double) -> Bool {
        var freed = false
        while let done = CurlRequest.nextCompletion(multi) {
            let handle = done.handle
            guard let transfer = transfers.removeValue(forKey: handle) else { continue }
            release(transfer)
            finish(
                transfer.copy, transfer.endpoint, status: done.status, retryAfter: done.retryAfter,
                error: done.error.map(transfer.describe), curlCode: done.code, now: now)
            curl_multi_remove_handle(multi, handle)
            curl_easy_reset(handle)
            transfer.free()
            freeHandles.append(handle)
            freed = true
        }
        return freed
    }

    private func release(_ transfer: Transfer) {
        let address = transfer.endpoint.address
        inFlight[address, default: 1] -= 1
        if let person = transfer.copy.personKey { busy[address]?.remove(person) }
    }

    /// Records the outcome of one attempt to deliver `copy` (its transfer already released).
    private func finish(
        _ copy: QueuedCopy, _ endpoint: InboxEndpoint, status: Int, retryAfter: Double?, error: String?, curlCode: Int = 0,
        now: Double
    ) {
        let address = endpoint.address
        let attempts = copy.attempts + 1
        var metadata: Logger.Metadata = [
            "message": "\(copy.messageID)", "type": "\(copy.type)", "inbox": "\(address)", "attempt": "\(attempts)",
            "nino": "\(copy.maskedNINO ?? "-")",
        ]
        if let error { metadata["error"] = "\(error)" } else { metadata["status"] = "\(status)" }

        // The HTTP status class, or curl's error code when the transfer failed (7 refused, 6 DNS, 28 timeout,
        // 35 and 60 TLS…; `transfer_failed` when it never started).
        let result = error == nil ? "http_\(status / 100)xx" : (curlCode != 0 ? "curl_\(curlCode)" : "transfer_failed")
        let outcome: CircuitBreaker.Outcome =
            error == nil && (200..<300).contains(status) ? .delivered : (error != nil || status >= 500 ? .failed : .answered)
        recordCircuit(outcome, copy: copy, address: address, reason: error ?? "HTTP \(status)", now: now)
        func count(_ outcome: String) {
            CoreMetrics.Counter(
                label: "liaison_delivery_attempts_total", dimensions: [("inbox", address), ("outcome", outcome), ("result", result)], factory: metrics
            )
            .increment()
        }
        if error == nil, (200..<300).contains(status) {
            count("delivered")
            CoreMetrics.Timer(label: "liaison_delivery_latency_seconds", dimensions: [("inbox", address)], factory: metrics)
                .recordNanoseconds(Int64(max(0, now - copy.lifetimeFrom) * 1e9))
            results.append(CopyTransition(seq: copy.seq, to: .delivered, at: now, attempts: attempts, reason: "delivered", httpStatus: status))
            logger.info("delivered", metadata: metadata)
            return
        }
        if error == nil, status == 410 {
            count("held")
            results.append(
                CopyTransition(seq: copy.seq, to: .held, at: now, attempts: attempts, reason: "inbox gone (410): held", httpStatus: 410))
            inboxErrors[address] = "HTTP 410: inbox disabled, copies held"
            inboxesToHold.insert(address)
            logger.critical("inbox answered 410: holding its copies until an operator releases them", metadata: metadata)
            return
        }
        let slowDown = error == nil && (status == 429 || status == 503)
        let next = policy.nextAttempt(
            after: attempts, since: copy.lifetimeFrom, now: now, retryAfter: slowDown ? retryAfter : nil,
            random: Double.random(in: 0..<1))
        let reason = error ?? "HTTP \(status)"
        // Said as it was asked: a pause of the inbox's own choosing, or the schedule's first delay for want of one.
        inboxErrors[address] =
            slowDown ? "\(reason) " + (retryAfter.map { "with Retry-After \(Int($0.rounded())) s" } ?? "without Retry-After") : reason
        if slowDown {
            pauses[address] = max(pauses[address] ?? 0, policy.inboxPause(now: now, retryAfter: retryAfter))
        }
        count(next == nil ? "expired" : "deferred")
        if let next {
            results.append(
                CopyTransition(
                    seq: copy.seq, to: .deferred, at: now, attempts: attempts, nextAttemptAt: next,
                    reason: "retry at \(Timestamp.format(Date(timeIntervalSince1970: next)))",
                    httpStatus: error == nil ? status : nil, error: error))
            logger.warning("delivery failed; will retry", metadata: metadata)
        } else {
            results.append(
                CopyTransition(
                    seq: copy.seq, to: .expired, at: now, attempts: attempts, reason: "lifetime over",
                    httpStatus: error == nil ? status : nil, error: error))
            logger.error("delivery expired after its lifetime; kept for an operator", metadata: metadata)
        }
    }

    /// Feeds an answer to the inbox's circuit breaker, and says what changed.
    private func recordCircuit(_ outcome: CircuitBreaker.Outcome, copy: QueuedCopy, address: String, reason: String, now: Double) {
        var breaker = breakers[address] ?? CircuitBreaker(policy: breakerPolicy)
        let change = breaker.record(outcome, seq: copy.seq, now: now)
        breakers[address] = breaker.isOpen || breaker.consecutiveFailures > 0 ? breaker : nil
        let next = { (at: Double) in Timestamp.format(Date(timeIntervalSince1970: at)) }
        switch change {
        case .none:
            break
        case .opened(let nextProbe):
            circuitChanges[address] = .opened(at: now)
            logger.warning(
                "circuit open: the inbox failed too many times in a row; its copies wait, one probe at a time",
                metadata: [
                    "inbox": "\(address)", "failures": "\(breaker.consecutiveFailures)", "last": "\(reason)", "next-probe": "\(next(nextProbe))",
                ])
        case .probeFailed(let nextProbe):
            logger.info(
                "circuit still open: the probe failed", metadata: ["inbox": "\(address)", "last": "\(reason)", "next-probe": "\(next(nextProbe))"])
        case .closed:
            circuitChanges[address] = .closed
            logger.notice("circuit closed: the inbox answered again; its copies go out", metadata: ["inbox": "\(address)"])
        }
    }

    private func abandonAll(now: Double) {
        for (handle, transfer) in transfers {
            release(transfer)
            curl_multi_remove_handle(multi, handle)
            curl_easy_cleanup(handle)
            transfer.free()
            results.append(CopyTransition(seq: transfer.copy.seq, to: .queued, at: now, reason: "shutdown before an answer"))
        }
        transfers.removeAll()
    }
}
