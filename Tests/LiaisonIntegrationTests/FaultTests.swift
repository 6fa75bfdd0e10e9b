import Foundation
import GRDB
import LiaisonCore
import LiaisonLoad
import Synchronization
import Testing

/// Sends messages from its own thread until stopped, following the daemon across restarts, and keeps the
/// ids that were answered 202. A message whose answer was lost (the daemon died mid-request) is sent again
/// with the same id, as a real sender would.
final class Loader: Sendable {
    private struct State {
        var url: String?
        var stop = false
        var accepted: [String: String] = [:]
        var unexpected: [String] = []
        var sent = 0
    }

    private let state = Mutex(State())
    private let finished = Atomic<Bool>(false)
    let caBundle: String

    init(caBundle: String) {
        self.caBundle = caBundle
    }

    func point(at url: String?) { state.withLock { $0.url = url } }
    var accepted: [String: String] { state.withLock { $0.accepted } }
    var unexpected: [String] { state.withLock { $0.unexpected } }

    func start() {
        Thread { [self] in
            run()
            finished.store(true, ordering: .releasing)
        }.start()
    }

    func stop() async {
        state.withLock { $0.stop = true }
        _ = await eventually(30) { finished.load(ordering: .acquiring) }
    }

    private func run() {
        var client = HTTPSClient(caBundle: caBundle, connections: 8)
        var clientURL: String?
        var backlog: [(String, JSONValue)] = []
        var counter = 0
        while true {
            let (url, stop) = state.withLock { ($0.url, $0.stop) }
            if stop { return }
            guard let url else {
                Thread.sleep(forTimeInterval: 0.02)
                continue
            }
            if url != clientURL {
                client = HTTPSClient(caBundle: caBundle, connections: 8)
                clientURL = url
            }
            while backlog.count < 16 {
                counter += 1
                let claimant = nino(200_000 + counter)
                if counter % 4 == 0 {
                    backlog.append(
                        (
                            "prime",
                            Messages.envelope(
                                "wp.referral", nino: claimant, to: "prime-a",
                                body: ["referralDate": .string("2024-12-02"), "benefit": .string("JSA"), "mandatory": .bool(true)])
                        ))
                } else {
                    backlog.append(("cwp", Messages.cwpReferral(nino: claimant)))
                }
            }
            let batch = backlog
            backlog.removeAll()
            let requests = batch.map { _, message in
                HTTPSRequest(
                    url: url + "/v1/messages",
                    headers: ["Authorization: Bearer \(Exchange.token("jcp-leeds"))", "Content-Type: application/json"],
                    body: Array(message.canonicalText.utf8))
            }
            let results = client.perform(requests, concurrency: 8)
            for ((kind, message), result) in zip(batch, results) {
                switch result.status {
                case 202:
                    state.withLock {
                        $0.accepted[message["id"]!.stringValue!] = kind
                        $0.sent += 1
                    }
                case 0, 503:
                    backlog.append((kind, message))
                default:
                    state.withLock { $0.unexpected.append("\(result.status) \(result.text.prefix(200))") }
                }
            }
            if results.contains(where: { $0.status == 0 }) { Thread.sleep(forTimeInterval: 0.05) }
        }
    }
}

extension DaemonTests {
    @Test func killedAtRandomUnderLoadItLosesNothingAcknowledgedAndFiresNoTimerTwice() async throws {
        let sinkFolder = temporaryFolder("fault-sink")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        let port = try await sink.start()
        let exchange = try Exchange(name: "fault", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle)])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let loader = Loader(caBundle: exchange.caBundle)
        loader.point(at: exchange.url)
        loader.start()

        var openedCleanly = 0
        for _ in 0..<20 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 250...1200)))
            loader.point(at: nil)
            exchange.daemon.kill()
            // The store must open cleanly after every kill.
            let check = try await DatabaseQueue(path: exchange.daemon.storePath).read { db in
                try String.fetchOne(db, sql: "PRAGMA quick_check")
            }
            if check == "ok" { openedCleanly += 1 }
            try exchange.daemon.start()
            loader.point(at: exchange.url)
        }
        try await Task.sleep(for: .milliseconds(500))
        await loader.stop()
        #expect(openedCleanly == 20)
        #expect(loader.unexpected.isEmpty, "\(loader.unexpected.prefix(3))")

        let accepted = loader.accepted
        let delivered = Set(accepted.filter { $0.value == "cwp" }.keys)
        print("fault test: \(accepted.count) messages acknowledged across 20 kills; \(delivered.count) to the push inbox")
        #expect(delivered.count > 100)
        let allArrived = await eventually(90) {
            delivered.isSubset(of: Set(sink.deliveries.compactMap { $0.body["id"]?.stringValue }))
        }
        #expect(allArrived)
        let missing = delivered.subtracting(Set(sink.deliveries.compactMap { $0.body["id"]?.stringValue }))
        #expect(missing.isEmpty, "\(missing.count) acknowledged messages never arrived")

        // Every Work Programme referral dated 2024-12-02 sets timers that are already due: two
        // attachment-overdue notices and one end-of-programme exit-report request, fired exactly once.
        let generated = try await DatabaseQueue(path: exchange.daemon.storePath).read { db in
            try String.fetchAll(db, sql: "SELECT envelope FROM message WHERE origin = 'generated'")
        }
        var perCause: [String: Int] = [:]
        for text in generated {
            let message = try JSONValue.parse(text)
            let key = "\(message["type"]!.stringValue!) \(message["to"]!.stringValue!) \(message["body"]?["regarding"]?.stringValue ?? "")"
            perCause[key, default: 0] += 1
        }
        let referrals = accepted.filter { $0.value == "prime" }.keys
        #expect(!referrals.isEmpty)
        #expect(perCause.values.allSatisfy { $0 == 1 }, "a timer fired twice")
        for id in referrals {
            #expect(perCause["wp.attachment.overdue prime-a/contact \(id)"] == 1)
            #expect(perCause["wp.attachment.overdue jcp-leeds/work-coach \(id)"] == 1)
        }
        #expect(perCause.keys.filter { $0.hasPrefix("wp.exit-report.request ") }.count == referrals.count)
        await sink.stop()
    }
}
