/// When a failed copy is tried again: the configured schedule with jitter, bounded by the copy's lifetime
/// (PROTOCOL.md "Delivery").
public struct RetryPolicy: Sendable {
    /// Delays before each retry, in seconds; the last repeats.
    public let schedule: [Double]
    /// Fraction of a delay added or removed at random.
    public let jitter: Double
    /// Seconds from acceptance after which a copy is no longer tried.
    public let lifetime: Double

    public init(schedule: [Double], jitter: Double, lifetime: Double) {
        precondition(!schedule.isEmpty, "a retry schedule needs a delay")
        self.schedule = schedule
        self.jitter = jitter
        self.lifetime = lifetime
    }

    /// What to do after failed attempt number `attempts` (1-based) of a copy whose lifetime began at `since`
    /// (its acceptance, or when an operator last sent it back to the queue).
    /// - Parameters:
    ///   - retryAfter: the receiver's `Retry-After`, in seconds, which replaces the schedule's delay.
    ///   - random: a number in 0..<1, for the jitter.
    /// - Returns: the time of the next attempt, or nil when the lifetime is over and the copy expires.
    public func nextAttempt(
        after attempts: Int, since: Double, now: Double, retryAfter: Double? = nil, random: Double
    ) -> Double? {
        let end = since + lifetime
        guard now < end else { return nil }
        let base = retryAfter ?? schedule[min(max(attempts, 1), schedule.count) - 1]
        let spread = retryAfter == nil ? base * jitter * (2 * random - 1) : 0
        return min(now + max(0, base + spread), end)
    }

    /// Until when a whole inbox waits after it answered 429 or 503: as long as its `Retry-After` asked (at most a
    /// lifetime, so that an absurd value cannot stop an inbox for good), or the schedule's first delay when it
    /// gave none. It is the inbox's pause, not one copy's: it does not grow with that copy's attempts, and it
    /// holds whether or not that copy has any lifetime left.
    public func inboxPause(now: Double, retryAfter: Double?) -> Double {
        now + min(max(0, retryAfter ?? schedule[0]), lifetime)
    }
}
