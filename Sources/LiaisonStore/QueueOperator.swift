import Foundation
import LiaisonCore

/// One inbox's line in `liaison queue status`.
public struct InboxStatus: Sendable, Codable {
    public var inbox: String
    public var queued = 0
    public var inFlight = 0
    public var deferred = 0
    public var held = 0
    public var expired = 0
    public var deliveredLast24h = 0
    /// Seconds since the oldest undelivered copy was accepted.
    public var oldestUndeliveredAgeSeconds: Double?
    /// When the next attempt is due (RFC 3339): the earliest deferred copy's time, or the end of a `Retry-After`
    /// pause when that is later (or when only queued copies wait).
    public var nextAttempt: String?
    /// When the inbox last took a delivery (RFC 3339), and how long ago in seconds.
    public var lastDelivery: String?
    public var lastDeliveryAgeSeconds: Double?
    /// The last failed attempt's error, while no delivery has succeeded since: its time and age say how current
    /// it is.
    public var lastError: String?
    public var lastErrorAt: String?
    public var lastErrorAgeSeconds: Double?
    /// Until when the inbox is paused by a `Retry-After` it answered (RFC 3339), if that is still ahead.
    public var pausedUntil: String?
    /// Since when the inbox is disabled because it answered 410 (RFC 3339): nothing is sent to it until an
    /// operator releases it.
    public var disabledSince: String?
    /// Since when an operator holds the whole inbox (`queue hold --inbox`, RFC 3339): nothing is sent to it
    /// until an operator releases it.
    public var heldSince: String?
    /// Since when the inbox's circuit breaker is open (RFC 3339): after a run of failed attempts its copies
    /// wait and one probe copy at a time is tried, until one is delivered.
    public var circuitOpenSince: String?

    init(inbox: String) {
        self.inbox = inbox
    }
}

/// A copy's line in `liaison queue list`.
public struct CopySummary: Sendable, Codable {
    public var id: String
    public var messageID: String
    public var type: String
    public var inbox: String
    public var state: String
    public var attempts: Int
    public var acceptedAt: String
    public var nextAttempt: String?
    public var lastError: String?
}

/// A change of state in `liaison queue show`.
public struct CopyEvent: Sendable, Codable {
    public var at: String
    public var state: String
    public var reason: String?
    public var httpStatus: Int?
    public var error: String?
}

/// `liaison queue show`: a copy with every change of state and attempt.
public struct CopyDetail: Sendable, Codable {
    public var copy: CopySummary
    public var maskedNINO: String?
    /// The staff member who sent the message from the staff pages, if one did (never delivered).
    public var sentBy: String?
    public var events: [CopyEvent]
}

/// A timer that could not fire, in `liaison queue timers`.
public struct BlockedTimer: Sendable, Codable {
    public var nino: String
    public var kind: String
    public var fireDate: String
    public var reason: String
}

/// Filters for `liaison queue list`.
public struct CopyFilter: Sendable {
    public var states: [CopyState] = []
    /// An address (`jcp-leeds/spoc`) or a party id.
    public var inbox: String?
    public var type: String?
    /// Only copies accepted at least this many seconds ago.
    public var olderThan: Double?
    /// One claimant's copies (`NINO.personKey`).
    public var personKey: String?
    public var limit = 100

    public init() {}
}

/// One inbox's line in `liaison queue shape`: its undelivered copies (queued, in flight, deferred, held) by
/// age since acceptance, in Postfix `qshape`'s doubling buckets.
public struct QueueShape: Sendable, Codable {
    public var inbox: String
    public var total: Int
    /// One count per bucket of `bucketNames`.
    public var counts: [Int]

    /// Each bucket's upper bound in minutes; the last bucket is everything older.
    public static let bucketMinutes = [5, 10, 20, 40, 80, 160, 320, 640, 1280]
    public static let bucketNames = bucketMinutes.map { "\($0)m" } + ["older"]

    /// The bucket of a copy accepted `age` seconds ago.
    public static func bucket(ofAge age: Double) -> Int {
        bucketMinutes.firstIndex { age <= Double($0 * 60) } ?? bucketMinutes.count
    }
}

/// What operators see and do, reading the store directly (also while the daemon runs, and through any
/// instance's store when several share one database).
public struct QueueOperator: Sendable {
    let database: any SQLDatabase
    /// The registry, for unblocking timers in claimants' records.
    let cases: any CaseStore
    /// What of the layout the store has (lookups and scrapes ask on every request: asked once).
    let layout = StoreLayout.Cache()

    init(database: any SQLDatabase, cases: any CaseStore) {
        self.database = database
        self.cases = cases
    }

    /// A stored message as its sender and recipients may look it up (`GET /v1/messages/{id}`).
    public struct MessageSummary: Sendable {
        public let id: String
        public let type: String
        public let sender: String
        public let receivedAt: Double
        /// The stored answer's decision, as JSON text; nil for generated messages.
        public let decision: String?
        /// The message this one answers (`body.inReplyTo`), if it answers one.
        public let inReplyTo: String?
        /// The key of the claimant it is about, if any.
        public let personKey: String?
    }
}
