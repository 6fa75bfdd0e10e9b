import Foundation

/// One push inbox's circuit breaker, in the manner of webhook services such as Convoy: after a run of
/// consecutive failed attempts (connection refused, DNS, TLS, a timeout, a 5xx) it opens, and the inbox's other
/// copies wait, unattempted, while one probe copy at a time is tried, with a growing delay between probes. The
/// first delivery closes it. So a dead inbox costs the deliverer one transfer per probe, not one per copy per
/// step of the retry schedule, and the other inboxes keep its time. Pure: the deliverer drives it with its clock.
public struct CircuitBreaker: Sendable, Equatable {
    public struct Policy: Sendable, Equatable {
        /// Consecutive failures that open it.
        public var failures: Int
        /// The delay before the first probe; each failed probe doubles it, up to `maximumProbeDelay`.
        public var probeDelay: Double
        public var maximumProbeDelay: Double

        public init(failures: Int = 5, probeDelay: Double = 30, maximumProbeDelay: Double = 600) {
            (self.failures, self.probeDelay, self.maximumProbeDelay) = (failures, probeDelay, maximumProbeDelay)
        }
    }

    /// What an attempt's answer says of the inbox.
    public enum Outcome: Sendable {
        /// Delivered (2xx).
        case delivered
        /// Unreachable or broken: the transfer failed (refused, DNS, TLS, timeout) or a 5xx.
        case failed
        /// It answered, though not with a delivery (a 4xx, a 429): reachable, so no run of failures.
        case answered
    }

    /// What changed, for the log, the store and the metrics.
    public enum Change: Sendable, Equatable {
        case none
        case opened(nextProbe: Double)
        /// A probe failed: the next is later.
        case probeFailed(nextProbe: Double)
        case closed
    }

    public let policy: Policy
    public private(set) var consecutiveFailures = 0
    /// Since when it is open; nil while closed.
    public private(set) var openSince: Double?
    public private(set) var nextProbe = 0.0
    private var delay: Double
    /// The copy sent as the probe, while it is in flight.
    private var probe: Int64?

    public init(policy: Policy) {
        self.policy = policy
        delay = policy.probeDelay
    }

    public var isOpen: Bool { openSince != nil }

    /// How many of `room` free transfer slots may be claimed now: all while closed; while open, one when the
    /// probe is due and none is in flight.
    public func allowance(room: Int, now: Double) -> Int {
        guard isOpen else { return room }
        return probe == nil && now >= nextProbe ? min(1, room) : 0
    }

    /// Notes the copies claimed under `allowance`: while open, the first is the probe.
    public mutating func claimed(_ seqs: [Int64]) {
        if isOpen, probe == nil, let first = seqs.first { probe = first }
    }

    /// Records the answer to copy `seq`'s attempt at `now`.
    public mutating func record(_ outcome: Outcome, seq: Int64, now: Double) -> Change {
        let wasProbe = probe == seq
        if wasProbe { probe = nil }
        switch outcome {
        case .delivered, .answered:
            consecutiveFailures = 0
            guard isOpen else { return .none }
            openSince = nil
            delay = policy.probeDelay
            probe = nil
            return .closed
        case .failed:
            consecutiveFailures += 1
            if isOpen {
                // Copies that were in flight when it opened fail too; only the probe's failure moves the next probe.
                guard wasProbe else { return .none }
                delay = min(delay * 2, policy.maximumProbeDelay)
                nextProbe = now + delay
                return .probeFailed(nextProbe: nextProbe)
            }
            guard consecutiveFailures >= policy.failures else { return .none }
            openSince = now
            delay = policy.probeDelay
            nextProbe = now + delay
            return .opened(nextProbe: nextProbe)
        }
    }
}
