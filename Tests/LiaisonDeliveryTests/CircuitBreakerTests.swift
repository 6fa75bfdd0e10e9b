import LiaisonDelivery
import Testing

/// The circuit breaker on a fake clock: open after a run of failures, one probe at a time with a growing
/// delay, closed by the first delivery.
@Suite struct CircuitBreakerTests {
    let policy = CircuitBreaker.Policy(failures: 3, probeDelay: 10, maximumProbeDelay: 35)

    @Test func aRunOfFailuresOpensItAndAnAnswerInBetweenStartsTheRunAgain() {
        var breaker = CircuitBreaker(policy: policy)
        #expect(breaker.record(.failed, seq: 1, now: 0) == .none)
        #expect(breaker.record(.failed, seq: 2, now: 1) == .none)
        // A 4xx is an answer: the inbox is there.
        #expect(breaker.record(.answered, seq: 3, now: 2) == .none)
        #expect(breaker.consecutiveFailures == 0)
        #expect(breaker.record(.failed, seq: 4, now: 3) == .none)
        #expect(breaker.record(.failed, seq: 5, now: 4) == .none)
        #expect(breaker.allowance(room: 8, now: 4) == 8)
        #expect(breaker.record(.failed, seq: 6, now: 5) == .opened(nextProbe: 15))
        #expect(breaker.isOpen && breaker.openSince == 5)
    }

    @Test func whileOpenOneProbeAtATimeWithADoublingDelayUpToTheMaximum() {
        var breaker = CircuitBreaker(policy: policy)
        for seq in 1...3 { _ = breaker.record(.failed, seq: Int64(seq), now: 0) }
        #expect(breaker.allowance(room: 8, now: 9) == 0)
        // Copies in flight when it opened fail too: they do not move the probe.
        #expect(breaker.record(.failed, seq: 4, now: 1) == .none)
        #expect(breaker.allowance(room: 8, now: 10) == 1)
        breaker.claimed([7])
        #expect(breaker.allowance(room: 8, now: 11) == 0, "one probe at a time")
        #expect(breaker.record(.failed, seq: 7, now: 12) == .probeFailed(nextProbe: 32))
        #expect(breaker.allowance(room: 8, now: 31) == 0)
        #expect(breaker.allowance(room: 8, now: 32) == 1)
        breaker.claimed([8, 9])
        #expect(breaker.record(.failed, seq: 8, now: 33) == .probeFailed(nextProbe: 68), "doubled to 40, capped at 35")
        breaker.claimed([10])
        #expect(breaker.record(.failed, seq: 10, now: 70) == .probeFailed(nextProbe: 105))
        #expect(breaker.allowance(room: 0, now: 200) == 0, "no room, no probe")
    }

    @Test func theFirstDeliveryClosesItAndTheNextOpeningStartsFromTheFirstDelay() {
        var breaker = CircuitBreaker(policy: policy)
        for seq in 1...3 { _ = breaker.record(.failed, seq: Int64(seq), now: 0) }
        breaker.claimed([4])
        _ = breaker.record(.failed, seq: 4, now: 10)
        breaker.claimed([5])
        #expect(breaker.record(.delivered, seq: 5, now: 30) == .closed)
        #expect(!breaker.isOpen && breaker.allowance(room: 8, now: 30) == 8)
        for seq in 6...8 { _ = breaker.record(.failed, seq: Int64(seq), now: 40) }
        #expect(breaker.nextProbe == 50)
    }
}
