import LiaisonDelivery
import Testing

@Suite struct WebhookSignerTests {
    @Test func matchesTheStandardWebhooksExample() {
        // The example of the Standard Webhooks specification.
        let signer = WebhookSigner(secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        let signature = signer.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func signsWithEverySecretDuringRotation() {
        let old = WebhookSigner(secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        let new = WebhookSigner(secrets: ["plain-new-secret"])
        let both = WebhookSigner(secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "plain-new-secret"])
        let body = Array("{}".utf8)
        let header = both.signature(id: "id", timestamp: 1, body: body)
        #expect(header.split(separator: " ").count == 2)
        #expect(old.verify(header: header, id: "id", timestamp: 1, body: body))
        #expect(new.verify(header: header, id: "id", timestamp: 1, body: body))
    }

    @Test func aChangedBodyOrTimestampFailsVerification() {
        let signer = WebhookSigner(secrets: ["s3cret-value"])
        let header = signer.signature(id: "id", timestamp: 100, body: Array("{\"a\":1}".utf8))
        #expect(signer.verify(header: header, id: "id", timestamp: 100, body: Array("{\"a\":1}".utf8)))
        #expect(!signer.verify(header: header, id: "id", timestamp: 100, body: Array("{\"a\":2}".utf8)))
        #expect(!signer.verify(header: header, id: "id", timestamp: 101, body: Array("{\"a\":1}".utf8)))
        #expect(!signer.verify(header: header, id: "other", timestamp: 100, body: Array("{\"a\":1}".utf8)))
    }
}

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(schedule: [10, 30, 120], jitter: 0.2, lifetime: 3600)

    @Test func followsTheScheduleAndRepeatsItsLastDelay() {
        #expect(policy.nextAttempt(after: 1, since: 0, now: 100, random: 0.5) == 110)
        #expect(policy.nextAttempt(after: 2, since: 0, now: 100, random: 0.5) == 130)
        #expect(policy.nextAttempt(after: 3, since: 0, now: 100, random: 0.5) == 220)
        #expect(policy.nextAttempt(after: 9, since: 0, now: 100, random: 0.5) == 220)
    }

    @Test func jitterStaysWithinItsFraction() {
        #expect(policy.nextAttempt(after: 1, since: 0, now: 100, random: 0) == 108)
        #expect(policy.nextAttempt(after: 1, since: 0, now: 100, random: 0.999_999)! < 112.001)
    }

    @Test func retryAfterReplacesTheScheduleWithoutJitter() {
        #expect(policy.nextAttempt(after: 1, since: 0, now: 100, retryAfter: 300, random: 0) == 400)
    }

    @Test func theLastAttemptIsAtTheEndOfTheLifetimeThenItExpires() {
        #expect(policy.nextAttempt(after: 3, since: 0, now: 3500, random: 0.5) == 3600)
        #expect(policy.nextAttempt(after: 4, since: 0, now: 3600, random: 0.5) == nil)
    }

    @Test func anInboxThatSaidSlowDownWaitsAsItAskedWhateverTheCopysAttemptsOrLifetime() {
        // As long as Retry-After asked, even when the copy that got it has less lifetime left, or none.
        #expect(policy.inboxPause(now: 3500, retryAfter: 600) == 4100)
        #expect(policy.nextAttempt(after: 1, since: 0, now: 3500, retryAfter: 600, random: 0) == 3600)
        // Without Retry-After, the schedule's first delay: not the copy's own, which grows with its attempts.
        #expect(policy.inboxPause(now: 100, retryAfter: nil) == 110)
        // Never longer than a lifetime, never in the past.
        #expect(policy.inboxPause(now: 100, retryAfter: 1e9) == 3700)
        #expect(policy.inboxPause(now: 100, retryAfter: -50) == 100)
    }
}
