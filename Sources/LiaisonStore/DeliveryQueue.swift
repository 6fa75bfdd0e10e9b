import Foundation
import LiaisonCore

/// A routed copy waiting for (or in) delivery, with what is needed to send it.
public struct QueuedCopy: Sendable {
    public let seq: Int64
    /// The copy's id: `webhook-id`, stable across retries.
    public let id: String
    public let address: String
    public let personKey: String?
    /// Attempts made before this one.
    public let attempts: Int
    /// When its lifetime began: acceptance, or the last time an operator sent it back to the queue.
    public let lifetimeFrom: Double
    public let messageID: String
    public let type: String
    /// The envelope (or generated message) as stored.
    public let envelope: String
    /// The decision, for accepted messages (read from the stored answer).
    public let decision: String?

    /// The claimant's NINO masked for logs (`AB12****`), as every log line and operator view shows it.
    public var maskedNINO: String? { personKey.map(NINO.maskPersonKey) }

    /// The JSON body delivered: the envelope plus `deliveredTo` and the `decision`. The stored envelope is
    /// a JSON object written by Liaison, so the two fields are spliced in before its closing brace rather
    /// than parsing and re-writing it for every attempt.
    public func deliveryBody() -> [UInt8] {
        var body = Array(envelope.utf8)
        guard body.count > 2, body.last == UInt8(ascii: "}") else { return body }
        let address = JSONValue.string(address).canonicalText
        body.reserveCapacity(body.count + address.utf8.count + (decision?.utf8.count ?? 0) + 32)
        body.removeLast()
        body.append(contentsOf: ",\"deliveredTo\":".utf8)
        body.append(contentsOf: address.utf8)
        if let decision {
            body.append(contentsOf: ",\"decision\":".utf8)
            body.append(contentsOf: decision.utf8)
        }
        body.append(UInt8(ascii: "}"))
        return body
    }
}

/// One change of a copy's state, as the deliverer or an operator makes it.
public struct CopyTransition: Sendable {
    public let seq: Int64
    public let to: CopyState
    public let at: Double
    public let attempts: Int?
    public let nextAttemptAt: Double?
    public let reason: String
    public let httpStatus: Int?
    public let error: String?

    public init(
        seq: Int64, to: CopyState, at: Double, attempts: Int? = nil, nextAttemptAt: Double? = nil, reason: String,
        httpStatus: Int? = nil, error: String? = nil
    ) {
        self.seq = seq
        self.to = to
        self.at = at
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.reason = reason
        self.httpStatus = httpStatus
        self.error = error
    }
}

/// The delivery queue on the store: what the deliverer claims and records, what pull inboxes lease and
/// acknowledge. SQLite (`SQLiteDeliveryQueue`) and PostgreSQL (`PostgresDeliveryQueue`) implement it.
public struct DeliveryQueue: Sendable {
    let backend: any DeliveryBackend

    init(backend: any DeliveryBackend) {
        self.backend = backend
    }

    /// The queue of a SQLite store (tests and the benchmark; the daemon opens its store with `Store.open`).
    public init(store: SQLiteCaseStore) {
        backend = SQLiteDeliveryQueue(pool: store.pool)
    }

    /// Why an inbox sends nothing until an operator releases it, as `stoppedSQL` reads it from `inbox_status`.
    enum Stop: Int64 {
        case gone = 1
        case heldByOperator = 2

        /// The reason its waiting copies are held with.
        var reason: String {
            switch self {
            case .gone: "inbox gone (410): held"
            case .heldByOperator: "inbox held by an operator"
            }
        }
    }

    static let stoppedSQL = "CASE WHEN disabled_at IS NOT NULL THEN 1 WHEN held_at IS NOT NULL THEN 2 ELSE 0 END"

    /// Why the inbox is stopped, from a row of `stoppedSQL`; nil when it sends.
    static func stopReason(_ code: Int64?) -> String? { code.flatMap(Stop.init(rawValue:))?.reason }

    /// Copies of a stopped inbox held per settle or pull, at most: the rest are held by the next ones (a stopped
    /// inbox sends nothing meanwhile), so that a large backlog never holds the store's write lock for long.
    static let holdBatch = 1_000

    /// A request to claim copies of one inbox.
    public struct ClaimRequest: Sendable {
        public let address: String
        public let limit: Int
        /// Claimants with a copy in flight to this address from this instance. The SQLite store does not track
        /// them for ordering (copy_waiting holds only deferred and held copies), so this set must be complete.
        public let busy: Set<String>
        /// The inbox's concurrency across every instance: with several on one database, the copies in flight
        /// from all of them count against it.
        public let capacity: Int
        /// How long a claimed copy stays this instance's before another may take it over (it died mid-send).
        public let claimLease: Double

        public init(address: String, limit: Int, busy: Set<String>, capacity: Int? = nil, claimLease: Double = 300) {
            self.address = address
            self.limit = limit
            self.busy = busy
            self.capacity = capacity ?? limit
            self.claimLease = claimLease
        }
    }

    /// What a settle claimed, and the copies it found it could never send.
    public struct Settlement: Sendable {
        /// The copies claimed, by inbox address.
        public var claimed: [String: [QueuedCopy]] = [:]
        /// Copies expired because they cannot be read with their message (see `claimCopies`).
        public var unreadable: [UnreadableCopy] = []
        /// Copies held because their inbox is stopped (a 410, or an operator's hold), by inbox address, with why.
        public var held: [String: (count: Int, reason: String)] = [:]
    }

    /// A copy expired because it cannot be read with its message, for the deliverer to log.
    public struct UnreadableCopy: Sendable, Equatable {
        public let seq: Int64
        public let address: String
    }

    /// Why an unreadable copy was expired, in its last error.
    public static let unreadableError = "stored copy not readable with its message"

    /// What a pull leased, and why it may be fewer than asked for.
    public struct Lease: Sendable {
        /// The copies leased, oldest first.
        public var copies: [QueuedCopy] = []
        /// Copies that could not be read with their message: expired, not leased.
        public var unreadable: [Int64] = []
        /// Queued copies held back because an earlier copy of the same claimant to this inbox is leased and
        /// not yet acknowledged, deferred or held (per-claimant order); counted up to `waitingCountLimit`.
        public var waitingBehindEarlier = 0
    }

    /// The most queued copies a pull counts as waiting behind a claimant's earlier copy: enough to explain a
    /// short pull, without a pull ever walking a million copies.
    public static let waitingCountLimit = 10_000

    /// After a restart, copies this instance left in flight go back to the queue: they may have been
    /// delivered, so the receiver sees them again (at least once) under the same `webhook-id`. Only the leases
    /// of what are still pull inboxes stay, for their pullers to acknowledge. (Another instance's copies in
    /// flight are its own, taken over only once their claim lapses: `returnLapsedClaims`.)
    /// - Parameter isPullInbox: whether an address is a configured pull inbox.
    /// - Returns: how many copies were requeued.
    @discardableResult
    public func recoverInFlight(at now: Double, isPullInbox: (String) -> Bool) throws -> Int {
        try backend.recoverInFlight(at: now, isPullInbox: isPullInbox)
    }

    /// A push inbox's circuit breaker opening or closing, kept in the store for `queue status`.
    public enum Circuit: Sendable, Equatable {
        case opened(at: Double)
        case closed
    }

    /// Records delivery results, holds gone inboxes, and claims the next copies, all in one transaction
    /// (one commit), so that the deliverer's bookkeeping costs little per copy.
    /// - Parameter circuits: inboxes whose circuit breaker opened or closed since the last settle.
    public func settle(
        _ transitions: [CopyTransition], inboxErrors: [String: String], pausedUntil: [String: Double],
        hold: Set<String>, claims: [ClaimRequest], circuits: [String: Circuit] = [:], now: Double
    ) throws -> Settlement {
        try backend.settle(
            transitions, inboxErrors: inboxErrors, pausedUntil: pausedUntil, hold: hold, claims: claims, circuits: circuits, now: now)
    }

    /// Copies another instance claimed for a push inbox and did not settle before their claim lapsed (it
    /// died mid-send) go back to the queue. A single SQLite instance has none: its restart requeues its own.
    /// - Returns: how many were returned.
    @discardableResult
    public func returnLapsedClaims(now: Double) throws -> Int {
        try backend.returnLapsedClaims(now: now)
    }

    /// Leases up to `limit` copies of a pull inbox, oldest first, in claimant order; an unacknowledged
    /// lease returns them after `lease` seconds (see `returnLapsedLeases`). A copy that cannot be read with
    /// its message is expired, as when pushed, and listed in `unreadable`; the copies leased may then be fewer
    /// than there are, and the next pull has the rest. When fewer than `limit` are leased, the copies held back
    /// behind a claimant's earlier copy are counted, so that the puller can see why.
    public func lease(address: String, limit: Int, now: Double, lease: Double, lifetime: Double) throws -> Lease {
        try backend.lease(address: address, limit: limit, now: now, lease: lease, lifetime: lifetime)
    }

    /// Returns the copies of pull inboxes whose leases ran out unacknowledged, as the deliverer does every
    /// few seconds, so that a puller that stopped leaves nothing in flight for long.
    /// - Returns: how many copies were returned or expired.
    @discardableResult
    public func returnLapsedLeases(addresses: [String], now: Double, lifetime: Double) throws -> Int {
        try backend.returnLapsedLeases(addresses: addresses, now: now, lifetime: lifetime)
    }

    /// Acknowledges pulled copies of an inbox by copy id.
    /// - Returns: the ids acknowledged (others were not leased to this inbox).
    public func acknowledge(address: String, ids: [String], now: Double) throws -> [String] {
        try backend.acknowledge(address: address, ids: ids, now: now)
    }
}

/// What each store implements of the delivery queue (see `DeliveryQueue`).
protocol DeliveryBackend: Sendable {
    func recoverInFlight(at now: Double, isPullInbox: (String) -> Bool) throws -> Int
    func settle(
        _ transitions: [CopyTransition], inboxErrors: [String: String], pausedUntil: [String: Double],
        hold: Set<String>, claims: [DeliveryQueue.ClaimRequest], circuits: [String: DeliveryQueue.Circuit], now: Double
    ) throws -> DeliveryQueue.Settlement
    func returnLapsedClaims(now: Double) throws -> Int
    func lease(address: String, limit: Int, now: Double, lease: Double, lifetime: Double) throws -> DeliveryQueue.Lease
    func returnLapsedLeases(addresses: [String], now: Double, lifetime: Double) throws -> Int
    func acknowledge(address: String, ids: [String], now: Double) throws -> [String]
}
