import Foundation
import LiaisonCore
import LiaisonLoad
import LiaisonStore
import Testing

/// A dead inbox's circuit breaker through the real daemon: it opens after a run of refused connections, its
/// copies then wait (probes apart), the queue says so, and the first delivery once the inbox is back closes
/// it and lets the rest through.
@Suite struct CircuitBreakerIntegrationTests {
    @Test func aDeadInboxOpensItsCircuitAndTheFirstDeliveryClosesIt() async throws {
        let folder = temporaryFolder("circuit-sink")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sink = try WebhookSink(folder: folder, secrets: [testSecret])
        let port = try await sink.start()
        await sink.stop()
        let exchange = try Exchange(
            name: "circuit", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle, concurrency: 2)],
            retrySchedule: "[100ms]", delivery: ["circuitFailures: 3", "circuitProbe: 1s", "circuitProbeMaximum: 1s"])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let messages = (0..<20).map { Messages.cwpReferral(nino: nino(1000 + $0)) }
        #expect(exchange.send(messages, as: "jcp-leeds").allSatisfy { $0.status == 202 })

        func attempts() throws -> Int {
            try #require(
                try storeRows(.file(exchange.daemon.storePath), "SELECT count(*) AS n FROM copy_event WHERE state = 'in-flight'").first?["n"].integer)
        }
        func status() throws -> JSONValue {
            try JSONValue.parse(try runLiaison(["queue", "status", "--json", "--store", exchange.daemon.storePath]).output)
        }
        func openSince() -> String? { (try? status())?["inboxes"]?.arrayValue?.first?["circuitOpenSince"]?.stringValue }
        #expect(await eventually { openSince() != nil })
        // Open: in 3 s, with a retry every 100 ms for 20 copies, the schedule alone would make hundreds of
        // attempts; the breaker lets one probe a second through.
        let opened = try attempts()
        try await Task.sleep(for: .seconds(3))
        let later = try attempts()
        #expect(later - opened <= 5, "\(opened) attempts before it opened, \(later) after 3 s")
        let text = try runLiaison(["queue", "status", "--store", exchange.daemon.storePath]).output
        #expect(text.contains("cwp-a/spoc's circuit is open since"), "\(text)")
        let log = try String(contentsOf: exchange.daemon.logPath, encoding: .utf8)
        #expect(log.contains("circuit open"))

        // The inbox comes back: the next probe is delivered, the circuit closes, and every copy goes out.
        let back = try WebhookSink(folder: folder, secrets: [testSecret])
        _ = try await back.start(port: port)
        #expect(await eventually(30) { back.count == messages.count })
        #expect(await eventually { openSince() == nil })
        #expect(try String(contentsOf: exchange.daemon.logPath, encoding: .utf8).contains("circuit closed"))
        await back.stop()
    }

    @Test func copiesWaitingBehindAnOpenCircuitStillExpireOnTime() async throws {
        let folder = temporaryFolder("circuit-expiry")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sink = try WebhookSink(folder: folder, secrets: [testSecret])
        let port = try await sink.start()
        await sink.stop()
        let exchange = try Exchange(
            name: "circuit-expiry", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle, concurrency: 1)],
            retrySchedule: "[100ms]", lifetime: "4s", delivery: ["circuitFailures: 2", "circuitProbe: 1h", "circuitProbeMaximum: 1h"])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let started = Date()
        #expect(exchange.send((0..<6).map { Messages.cwpReferral(nino: nino(1100 + $0)) }, as: "jcp-leeds").allSatisfy { $0.status == 202 })
        // No probe for an hour: the copies never attempted are expired at the end of their lifetime all the same.
        #expect(
            await eventually(20) {
                let expired = try? storeRows(.file(exchange.daemon.storePath), "SELECT count(*) AS n FROM copy WHERE state = 'expired'").first?["n"]
                    .integer
                return expired == 6
            })
        #expect(Date().timeIntervalSince(started) >= 4)
        let reasons = try storeRows(.file(exchange.daemon.storePath), "SELECT reason FROM copy_event WHERE state = 'expired'").compactMap {
            $0["reason"].text
        }
        #expect(reasons.contains("lifetime over while the inbox's circuit was open"), "\(reasons)")
    }
}
