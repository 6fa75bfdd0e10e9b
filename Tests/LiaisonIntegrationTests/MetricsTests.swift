import Foundation
import LiaisonCore
import LiaisonLoad
import Testing

/// `/metrics` after a scripted run, read with Prometheus's own text parser (prometheus-client, installed by
/// scripts/setup): the families, their types and their labels.
@Suite struct MetricsTests {
    /// A family as the parser read it: its type, and each sample's name and labels.
    struct Family: Decodable {
        let type: String
        let samples: [Sample]
    }

    struct Sample: Decodable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    /// Parses an exposition with `prometheus_client.parser`; fails the test when it cannot.
    static func parse(_ text: String) throws -> [String: Family] {
        let folder = temporaryFolder("metrics-parse")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("metrics.txt")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            families = {}
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                families[family.name] = {"type": family.type,
                    "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples]}
            print(json.dumps(families))
            """
        let (status, output) = try DaemonProcess.run(["/usr/bin/env", "python3", "-c", script, file.path])
        try #require(status == 0, "prometheus_client could not parse /metrics: \(output)")
        return try JSONDecoder().decode([String: Family].self, from: Data(output.utf8))
    }

    @Test func aScrapeAfterAScriptedRunHasTheFamiliesTypesAndLabels() async throws {
        let sinkFolder = temporaryFolder("metrics-sink")
        let closedFolder = temporaryFolder("metrics-closed")
        defer {
            try? FileManager.default.removeItem(at: sinkFolder)
            try? FileManager.default.removeItem(at: closedFolder)
        }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        let sinkPort = try await sink.start()
        // cwp-b's inbox refuses connections: its attempts fail.
        let closed = try WebhookSink(folder: closedFolder, secrets: [testSecret])
        let closedPort = try await closed.start()
        await closed.stop()
        let exchange = try Exchange(
            name: "metrics",
            inboxes: [
                PushInbox(party: "cwp-a", role: "spoc", port: sinkPort, caBundle: sink.caBundle),
                PushInbox(party: "cwp-b", role: "spoc", port: closedPort, caBundle: closed.caBundle),
            ],
            retrySchedule: "[1h]")
        defer { exchange.stop() }
        try exchange.daemon.start()

        // Two referrals delivered, one that fails, one refused, one resent, an anonymous scrape.
        let first = Messages.cwpReferral(nino: nino(901))
        #expect(exchange.send(first, as: "jcp-leeds").status == 202)
        #expect(exchange.send(Messages.cwpReferral(nino: nino(902)), as: "jcp-leeds").status == 202)
        #expect(exchange.send(first, as: "jcp-leeds").status == 202)
        #expect(exchange.send(Messages.cwpReferral(nino: nino(903), to: "cwp-b"), as: "jcp-leeds").status == 202)
        #expect(exchange.send(Messages.cwpStart(nino: nino(999)), as: "cwp-a").status == 422)
        #expect(await eventually { sink.count == 2 })
        let anonymous = HTTPSClient(caBundle: exchange.caBundle).perform(HTTPSRequest(method: "GET", url: exchange.url + "/metrics"))
        #expect(anonymous.status == 401)
        // A provider may not read them.
        #expect(exchange.client("cwp-a").perform(exchange.request("GET", "/metrics", as: "cwp-a")).status == 403)

        var families: [String: Family] = [:]
        #expect(
            await eventually {
                let scrape = exchange.client("jcp-leeds").perform(exchange.request("GET", "/metrics", as: "jcp-leeds"))
                families = (try? Self.parse(scrape.text)) ?? [:]
                return families["liaison_delivery_attempts"]?.samples.contains { $0.labels["inbox"] == "cwp-b/spoc" } == true
            })
        func family(_ name: String, _ type: String) -> Family? {
            let found = families[name]
            #expect(found?.type == type, "\(name) is \(found?.type ?? "missing"), not \(type)")
            return found
        }
        func sample(_ family: Family?, _ name: String, _ labels: [String: String]) -> Sample? {
            family?.samples.first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }
        }

        // Requests and acknowledgements: histograms, by route and status.
        let requests = family("liaison_http_request_duration_seconds", "histogram")
        #expect(sample(requests, "liaison_http_request_duration_seconds_count", ["route": "/v1/messages", "status": "202"])?.value == 4)
        #expect(sample(requests, "liaison_http_request_duration_seconds_count", ["route": "/v1/messages", "status": "422"])?.value == 1)
        #expect(sample(requests, "liaison_http_request_duration_seconds_bucket", ["route": "/v1/messages", "status": "202", "le": "+Inf"]) != nil)
        #expect(
            sample(family("liaison_acknowledgement_duration_seconds", "histogram"), "liaison_acknowledgement_duration_seconds_count", [:])?.value == 4
        )

        // Messages: the 422 is a refusal; the anonymous scrape is not.
        #expect(sample(family("liaison_messages_accepted", "counter"), "liaison_messages_accepted_total", ["type": "cwp.referral"])?.value == 3)
        #expect(sample(family("liaison_messages_replayed", "counter"), "liaison_messages_replayed_total", [:])?.value == 1)
        let refused = family("liaison_messages_refused", "counter")
        #expect(refused?.samples.count == 1, "\(refused?.samples.map(\.labels) ?? [])")
        #expect(refused?.samples.contains { $0.labels["code"] == "unauthenticated" } == false)

        // Deliveries: attempts by inbox, outcome and result; latency from acceptance.
        let attempts = family("liaison_delivery_attempts", "counter")
        #expect(
            sample(attempts, "liaison_delivery_attempts_total", ["inbox": "cwp-a/spoc", "outcome": "delivered", "result": "http_2xx"])?.value == 2)
        // curl's code when the transfer failed: 7 (could not connect), or, should another test's server have taken the
        // freed port meanwhile, a TLS failure's.
        let failed = attempts?.samples.filter { $0.labels["inbox"] == "cwp-b/spoc" && $0.labels["outcome"] == "deferred" } ?? []
        #expect(
            failed.count == 1 && failed.allSatisfy { $0.labels["result"]?.hasPrefix("curl_") == true && $0.value == 1 }, "\(failed.map(\.labels))")
        #expect(
            sample(family("liaison_delivery_latency_seconds", "histogram"), "liaison_delivery_latency_seconds_count", ["inbox": "cwp-a/spoc"])?.value
                == 2)

        // The queue: every configured inbox in every state, zeros included; the oldest undelivered copy's age.
        let queue = family("liaison_queue_copies", "gauge")
        for state in ["queued", "in-flight", "deferred", "held", "expired"] {
            #expect(sample(queue, "liaison_queue_copies", ["inbox": "jcp-york/dma", "state": state])?.value == 0, "\(state)")
        }
        #expect(sample(queue, "liaison_queue_copies", ["inbox": "cwp-b/spoc", "state": "deferred"])?.value == 1)
        #expect(
            (sample(
                family("liaison_queue_oldest_undelivered_age_seconds", "gauge"), "liaison_queue_oldest_undelivered_age_seconds",
                ["inbox": "cwp-b/spoc"])?.value ?? 0) > 0)
        for flag in ["liaison_inbox_paused", "liaison_inbox_disabled", "liaison_inbox_held"] {
            #expect(sample(family(flag, "gauge"), flag, ["inbox": "cwp-a/spoc"])?.value == 0)
        }
        #expect(sample(family("liaison_timers_blocked", "gauge"), "liaison_timers_blocked", [:])?.value == 0)

        // Certificates, the build and the process.
        let expiry = sample(
            family("liaison_certificate_expiry_seconds", "gauge"), "liaison_certificate_expiry_seconds", ["certificate": "tls.certificate"])
        #expect((expiry?.value ?? 0) > 365 * 86_400)
        #expect(sample(family("liaison_build_info", "gauge"), "liaison_build_info", [:])?.labels["version"] != nil)
        #expect((sample(family("process_resident_memory_bytes", "gauge"), "process_resident_memory_bytes", [:])?.value ?? 0) > 1_000_000)
        #expect((sample(family("process_open_fds", "gauge"), "process_open_fds", [:])?.value ?? 0) > 3)
        #expect(family("process_cpu_seconds", "counter") != nil)
        #expect((sample(family("process_start_time_seconds", "gauge"), "process_start_time_seconds", [:])?.value ?? 0) > 1_700_000_000)
        await sink.stop()
    }
}
