import Foundation
import LiaisonCore
import LiaisonLoad
import Synchronization
import Testing

@testable import LiaisonStore

/// The test database's URL, when there is one (`scripts/test` starts a throwaway cluster).
let testPostgresURL = ProcessInfo.processInfo.environment["LIAISON_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }
/// The throwaway cluster's folder, for restarting it (`scripts/pg-cluster restart`).
let testPostgresFolder = ProcessInfo.processInfo.environment["LIAISON_TEST_POSTGRES_DIR"].flatMap { $0.isEmpty ? nil : $0 }

/// Two daemons on one PostgreSQL database, as two instances behind a load balancer: the same server
/// certificate (the first's local CA), their own names, one store.
final class InstancePair {
    let settings: PostgresSettings
    let a: Exchange
    let b: Exchange

    init(name: String, inboxes: [PushInbox], retrySchedule: String = "[200ms, 400ms]") throws {
        let url = try #require(testPostgresURL)
        let schema = "it_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        settings = try PostgresSettings(url: url).inSchema(String(schema))
        let store = "store: {url: '\(url)&schema=\(schema)', poolSize: 8, waitAtStart: 60s}"
        a = try Exchange(name: "\(name)-a", inboxes: inboxes, retrySchedule: retrySchedule, extra: "\(store)\ninstance: \(name)-a")
        try a.daemon.start()
        let tls = a.folder.appendingPathComponent("data/tls")
        let shared = """
            tls: {certificate: \(tls.path)/server.pem, key: \(tls.path)/server-key.pem, clientCA: \(tls.path)/ca.pem}
            """
        b = try Exchange(name: "\(name)-b", inboxes: inboxes, retrySchedule: retrySchedule, extra: "\(store)\ninstance: \(name)-b\n\(shared)")
        try b.daemon.start()
    }

    /// The client for either instance: one CA signs both's certificate.
    var caBundle: String { a.caBundle }

    /// Rows of a query on the shared store.
    func rows(_ sql: String) throws -> [SQLRow] { try storeRows(.postgres(settings), sql) }

    func stop() {
        b.stop()
        a.stop()
        _ = try? Store.openExisting(.postgres(settings), logger: Store.quietLogger).database.write { session in
            try session.execute("DROP SCHEMA \(settings.schema ?? "") CASCADE", [])
        }
    }
}

@Suite(.serialized, .enabled(if: testPostgresURL != nil, "LIAISON_TEST_POSTGRES names no test database"))
struct SeveralInstancesTests {
    @Test func messagesSentAlternatelyToTwoInstancesAreDeliveredOnceEachInEachClaimantsOrder() async throws {
        let sinkFolder = temporaryFolder("instances-sink")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        let port = try await sink.start()
        let pair = try InstancePair(name: "alternate", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle)])
        defer { pair.stop() }
        let clients = [pair.a, pair.b].map { exchange in (exchange, HTTPSClient(caBundle: pair.caBundle, connections: 16)) }
        // Forty claimants, each sent a referral and then three changes, one round at a time; within a round the
        // claimants' messages go alternately to one instance and the other, at once.
        let claimants = (0..<40).map { nino(300 + $0) }
        var sent: [String: [String]] = [:]
        for round in 0..<4 {
            var requests: [[HTTPSRequest]] = [[], []]
            for (index, claimant) in claimants.enumerated() {
                let message =
                    round == 0
                    ? Messages.cwpReferral(nino: claimant) : Messages.change(nino: claimant, detail: "round \(round)")
                sent[claimant, default: []].append(try #require(message["id"]?.stringValue))
                let (exchange, _) = clients[(index + round) % 2]
                requests[(index + round) % 2].append(exchange.request("POST", "/v1/messages", as: "jcp-leeds", body: message))
            }
            // Both instances at once, each from a thread of its own.
            let answers = Mutex<[HTTPSResult]>([])
            let done = DispatchGroup()
            for side in 0..<2 {
                let work = Unchecked((clients[side].1, requests[side]))
                done.enter()
                Thread {
                    let results = work.value.0.perform(work.value.1, concurrency: 8)
                    answers.withLock { $0 += results }
                    done.leave()
                }.start()
            }
            done.wait()
            let statuses = answers.withLock { $0.map(\.status) }
            #expect(statuses == Array(repeating: 202, count: claimants.count), "round \(round)")
        }
        let total = claimants.count * 4
        #expect(await eventually(60) { sink.count >= total })
        try await Task.sleep(for: .milliseconds(500))
        let deliveries = sink.deliveries
        // Each copy once, signed, and each claimant's in the order they were accepted.
        #expect(deliveries.count == total)
        #expect(Set(deliveries.map(\.webhookID)).count == total)
        #expect(deliveries.allSatisfy { $0.signatureValid })
        for claimant in claimants {
            let arrived = deliveries.filter { $0.body["nino"]?.stringValue == claimant }.compactMap { $0.body["id"]?.stringValue }
            #expect(arrived == sent[claimant], "\(claimant)")
        }
        // Each copy was attempted once, by one instance or the other. (Which takes part is a race: a deliverer
        // woken by its own instance's commit may claim the other's copies too, so that one may take them all.)
        let attempts = try pair.rows("SELECT reason FROM copy_event WHERE state = 'in-flight'").compactMap { $0.values.first?.text }
        #expect(attempts.count == total)
        #expect(attempts.allSatisfy { $0.hasSuffix(" by alternate-a") || $0.hasSuffix(" by alternate-b") })
        #expect(try pair.rows("SELECT seq FROM copy WHERE claimed_by IS NOT NULL").isEmpty, "claims are cleared once settled")
        await sink.stop()
    }

    @Test func a410SeenThroughOneInstanceHoldsTheInboxForBoth() async throws {
        let sinkFolder = temporaryFolder("instances-gone")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        sink.respond { _ in .init(status: 410) }
        let port = try await sink.start()
        let pair = try InstancePair(
            name: "gone", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle, concurrency: 1)])
        defer { pair.stop() }
        let client = HTTPSClient(caBundle: pair.caBundle, connections: 4)
        #expect(client.perform(pair.a.request("POST", "/v1/messages", as: "jcp-leeds", body: Messages.cwpReferral(nino: nino(401)))).status == 202)
        // The inbox answers 410 once: the inbox is disabled in the store, for both instances.
        #expect(await eventually(20) { sink.count == 1 })
        #expect(
            await eventually(20) {
                (try? pair.rows("SELECT count(*) FROM inbox_status WHERE disabled_at IS NOT NULL").first?.values.first?.integer) == 1
            })
        // What is sent through the other instance afterwards is held there, never tried.
        for n in 402..<407 {
            #expect(client.perform(pair.b.request("POST", "/v1/messages", as: "jcp-leeds", body: Messages.cwpReferral(nino: nino(n)))).status == 202)
        }
        #expect(
            await eventually(20) {
                (try? pair.rows("SELECT count(*) FROM copy WHERE state = 'held'").first?.values.first?.integer) == 6
            })
        try await Task.sleep(for: .seconds(1))
        #expect(sink.count == 1)
        // Either instance's queue status says so.
        let status = try runLiaison(["queue", "status", "--json", "--store", "\(try #require(testPostgresURL))&schema=\(pair.settings.schema ?? "")"])
        #expect(status.status == 0)
        let report = try JSONValue.parse(status.output)
        let line = report["inboxes"]?.arrayValue?.first { $0["inbox"]?.stringValue == "cwp-a/spoc" }
        #expect(line?["held"] == .number(6), "\(status.output)")
        #expect(line?["disabledSince"]?.stringValue != nil)
        await sink.stop()
    }

    @Test func configCheckReachesTheStoreAndSaysWhatIsWrongWithIt() throws {
        let url = try #require(testPostgresURL)
        let settings = try PostgresSettings(url: url)
        func check(_ store: String) throws -> (status: Int32, output: String) {
            let exchange = try Exchange(name: "check", inboxes: [], extra: "store: '\(store)'")
            defer { exchange.stop() }
            return try DaemonProcess.run([DaemonProcess.builtBinary().path, "config", "check", "--config", exchange.daemon.configPath.path])
        }
        let schema = "check_" + UUID().uuidString.lowercased().prefix(8)
        let good = try check("\(url)&schema=\(schema)")
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("store: PostgreSQL") && good.output.contains("synchronous_commit is on"))
        #expect(good.output.contains("not there yet"))
        // Another role's rights and settings, a closed port, a wrong password: each said, none repeating it.
        let lax = url.replacingOccurrences(of: "://\(settings.user):", with: "://liaison_lax:")
        let laxCheck = try check("\(lax)&schema=\(schema)")
        #expect(laxCheck.status == 2)
        #expect(laxCheck.output.contains("synchronous_commit is off for liaison_lax"))
        #expect(laxCheck.output.contains("schema \(schema) does not exist and liaison_lax may not create it"), "\(laxCheck.output)")
        let closed = try check(url.replacingOccurrences(of: ":\(settings.port)/", with: ":1/"))
        #expect(closed.status == 2 && closed.output.contains("cannot reach PostgreSQL at 127.0.0.1:1"))
        let wrong = try check(url.replacingOccurrences(of: ":\(settings.password ?? "")@", with: ":not-the-password@"))
        #expect(wrong.status == 2 && wrong.output.contains("refused the login of \(settings.user)"))
        #expect(!wrong.output.contains("not-the-password"))
        // The daemon itself will not start on a role whose commits are not durable.
        let refused = try Exchange(name: "lax", inboxes: [], extra: "store: '\(lax)&schema=\(schema)'")
        defer { refused.stop() }
        #expect {
            try refused.daemon.start(timeout: 30)
        } throws: { error in
            "\(error)".contains("synchronous_commit is off")
        }
    }

    @Test func anEmbeddedStoreCopiedToPostgreSQLCarriesOnThere() throws {
        let url = try #require(testPostgresURL)
        let exchange = try Exchange(name: "copy", inboxes: [])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let ids = try (0..<20).map { n -> String in
            let message = Messages.cwpReferral(nino: nino(600 + n))
            #expect(exchange.send(message, as: "jcp-leeds").status == 202)
            return try #require(message["id"]?.stringValue)
        }
        // One pulled and acknowledged, the rest waiting.
        _ = exchange.client("cwp-a").perform(exchange.request("GET", "/v1/inbox/spoc?limit=1", as: "cwp-a"))
        #expect(exchange.daemon.terminate() == 0)
        let schema = "copy_" + UUID().uuidString.lowercased().prefix(8)
        let target = "\(url)&schema=\(schema)"
        let binary = DaemonProcess.builtBinary().path
        let copied = try DaemonProcess.run([binary, "store", "copy", "--from", exchange.daemon.storePath, "--to", target])
        #expect(copied.status == 0, "\(copied.output)")
        #expect(copied.output.contains("message") && copied.output.contains("every table counts the same on both sides"))
        #expect(copied.output.contains("liaison-test-only") == false)
        // Again: refused, the target is not empty.
        let again = try DaemonProcess.run([binary, "store", "copy", "--from", exchange.daemon.storePath, "--to", target])
        #expect(again.status != 0 && again.output.contains("the target is not empty"))
        // A daemon on the copy: the leased copy comes back when its lease runs out, the rest are there to pull.
        let moved = try Exchange(name: "copied", inboxes: [], extra: "store: '\(target)'")
        defer {
            moved.stop()
            _ = try? Store.openExisting(.postgres(try PostgresSettings(url: target)), logger: Store.quietLogger).database.write { session in
                try session.execute("DROP SCHEMA \(schema) CASCADE", [])
            }
        }
        try moved.daemon.start()
        let pulled = try JSONValue.parse(moved.client("cwp-a").perform(moved.request("GET", "/v1/inbox/spoc?limit=50", as: "cwp-a")).text)
        let got = pulled["messages"]?.arrayValue?.compactMap { $0["message"]?["id"]?.stringValue } ?? []
        #expect(got == Array(ids.dropFirst()))
    }

    /// Under load from several connections to both instances, one or the other killed at random moments 20
    /// times (and started again), and PostgreSQL itself restarted once in the middle: every message answered
    /// 202 arrives at least once, each claimant's copies arrive in order, no timer fires twice, and while
    /// PostgreSQL restarts the only refusals are 503 with Retry-After.
    @Test(.enabled(if: testPostgresFolder != nil, "LIAISON_TEST_POSTGRES_DIR names no cluster to restart"))
    func killedAtRandomAndTheDatabaseRestartedTheyLoseNothingAcknowledged() async throws {
        let sinkFolder = temporaryFolder("instances-fault")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        let port = try await sink.start()
        let pair = try InstancePair(name: "fault", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle)])
        defer { pair.stop() }
        let loader = PairLoader(caBundle: pair.caBundle, urls: [pair.a.url, pair.b.url])
        loader.start()

        let exchanges = [pair.a, pair.b]
        var restartedDatabase = false
        for kill in 0..<20 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...1200)))
            if kill == 10 {
                // PostgreSQL restarts (fast shutdown) under the two live instances.
                let folder = try #require(testPostgresFolder)
                loader.note("database restart")
                let restart = try runCommand("\(repository.path)/scripts/pg-cluster", ["restart", folder])
                restartedDatabase = restart.status == 0
                loader.note("database back")
                try await Task.sleep(for: .milliseconds(500))
            }
            let victim = Int.random(in: 0...1)
            loader.down(victim)
            exchanges[victim].daemon.kill()
            try exchanges[victim].daemon.start()
            loader.up(victim, url: exchanges[victim].url)
        }
        try await Task.sleep(for: .milliseconds(500))
        await loader.stop()
        #expect(restartedDatabase)
        // Refused only with 503 and Retry-After (or not answered: an instance killed mid-request).
        #expect(loader.unexpected.isEmpty, "\(loader.unexpected.prefix(5))")
        print(
            "instances fault test: \(loader.accepted.count) messages acknowledged across 20 kills and a database restart; 503s: \(loader.unavailable)"
        )

        let accepted = loader.accepted
        let pushed = accepted.filter { $0.value.kind != "prime" }
        #expect(pushed.count > 100)
        func arrivals() -> [String: Int] {
            var first: [String: Int] = [:]
            for (index, delivery) in sink.deliveries.enumerated() {
                if let id = delivery.body["id"]?.stringValue, first[id] == nil { first[id] = index }
            }
            return first
        }
        let allArrived = await eventually(120) { Set(pushed.keys).isSubset(of: Set(arrivals().keys)) }
        #expect(allArrived, "\(Set(pushed.keys).subtracting(Set(arrivals().keys)).count) acknowledged messages never arrived")
        // Each claimant's change arrived after their referral (first arrivals: a copy may come twice).
        let first = arrivals()
        let byClaimant = Dictionary(grouping: pushed, by: { $0.value.nino })
        var outOfOrder = 0
        for (_, messages) in byClaimant where messages.count == 2 {
            let ordered = messages.sorted { $0.value.step < $1.value.step }
            if let referral = first[ordered[0].key], let change = first[ordered[1].key], referral > change { outOfOrder += 1 }
        }
        #expect(outOfOrder == 0)
        #expect(byClaimant.values.filter { $0.count == 2 }.count > 20)

        // Every Work Programme referral dated 2024-12-02 sets timers already due, fired exactly once.
        var perCause: [String: Int] = [:]
        for row in try pair.rows("SELECT envelope FROM message WHERE origin = 'generated'") {
            let message = try JSONValue.parse(try row.text("envelope"))
            let key = "\(message["type"]?.stringValue ?? "") \(message["to"]?.stringValue ?? "") \(message["body"]?["regarding"]?.stringValue ?? "")"
            perCause[key, default: 0] += 1
        }
        let referrals = accepted.filter { $0.value.kind == "prime" }.keys
        #expect(!referrals.isEmpty)
        #expect(perCause.values.allSatisfy { $0 == 1 }, "a timer fired twice")
        for id in referrals {
            #expect(perCause["wp.attachment.overdue prime-a/contact \(id)"] == 1)
        }
        await sink.stop()
    }
}

/// A value handed to another thread that uses it alone.
struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Runs a command and waits for it. - Returns: its exit status and what it printed.
func runCommand(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    try DaemonProcess.run([path] + arguments)
}

/// Sends messages to two instances from its own threads until stopped: CWP referrals to the push inbox, each
/// followed (once accepted) by a change of circumstances for the same claimant through the other instance, and
/// Work Programme referrals whose timers are already due. A message whose answer was lost is sent again with
/// the same id, as a real sender would; one answered 503 too, after its Retry-After.
final class PairLoader: Sendable {
    struct Sent: Sendable {
        let kind: String
        let nino: String
        let step: Int
    }

    private struct State {
        var urls: [String?]
        var stop = false
        var accepted: [String: Sent] = [:]
        var unexpected: [String] = []
        var unavailable = 0
        var notes: [String] = []
        var followUps: [(JSONValue, Sent)] = []
    }

    private let state: Mutex<State>
    private let running = Atomic<Int>(0)
    let caBundle: String

    init(caBundle: String, urls: [String]) {
        self.caBundle = caBundle
        state = Mutex(State(urls: urls))
    }

    var accepted: [String: Sent] { state.withLock { $0.accepted } }
    var unexpected: [String] { state.withLock { $0.unexpected } }
    var unavailable: Int { state.withLock { $0.unavailable } }

    func down(_ index: Int) { state.withLock { $0.urls[index] = nil } }
    func up(_ index: Int, url: String) { state.withLock { $0.urls[index] = url } }
    func note(_ text: String) { state.withLock { $0.notes.append(text) } }

    func start() {
        for side in 0..<2 {
            running.add(1, ordering: .relaxed)
            Thread { [self] in
                run(side: side)
                running.subtract(1, ordering: .releasing)
            }.start()
        }
    }

    func stop() async {
        state.withLock { $0.stop = true }
        _ = await eventually(60) { running.load(ordering: .acquiring) == 0 }
    }

    private func run(side: Int) {
        var client = HTTPSClient(caBundle: caBundle, connections: 4)
        var clientURL: String?
        var backlog: [(JSONValue, Sent)] = []
        var counter = 0
        while true {
            let (urls, stop) = state.withLock { ($0.urls, $0.stop) }
            if stop { return }
            // This side's instance, or the other while it is down.
            guard let url = urls[side] ?? urls[1 - side] else {
                Thread.sleep(forTimeInterval: 0.02)
                continue
            }
            if url != clientURL {
                client = HTTPSClient(caBundle: caBundle, connections: 4)
                clientURL = url
            }
            backlog += state.withLock { state in
                defer { state.followUps.removeAll() }
                return state.followUps
            }
            while backlog.count < 8 {
                counter += 1
                let claimant = nino(500_000 + side * 100_000 + counter)
                if counter % 4 == 0 {
                    backlog.append(
                        (
                            Messages.envelope(
                                "wp.referral", nino: claimant, to: "prime-a",
                                body: ["referralDate": .string("2024-12-02"), "benefit": .string("JSA"), "mandatory": .bool(true)]),
                            Sent(kind: "prime", nino: claimant, step: 0)
                        ))
                } else {
                    backlog.append((Messages.cwpReferral(nino: claimant), Sent(kind: "cwp", nino: claimant, step: 0)))
                }
            }
            let batch = backlog
            backlog.removeAll()
            let results = client.perform(
                batch.map { message, _ in
                    HTTPSRequest(
                        url: url + "/v1/messages",
                        headers: ["Authorization: Bearer \(Exchange.token("jcp-leeds"))", "Content-Type: application/json"],
                        body: Array(message.canonicalText.utf8))
                }, concurrency: 4)
            var waitFor = 0.0
            for ((message, sent), result) in zip(batch, results) {
                switch result.status {
                case 202:
                    state.withLock { state in
                        state.accepted[message["id"]?.stringValue ?? ""] = sent
                        // A claimant's second message goes through the other side, once the first is accepted.
                        if sent.kind == "cwp", sent.step == 0 {
                            state.followUps.append(
                                (Messages.change(nino: sent.nino, detail: "after"), Sent(kind: "change", nino: sent.nino, step: 1)))
                        }
                    }
                case 0:
                    backlog.append((message, sent))
                    waitFor = max(waitFor, 0.05)
                case 503 where result.headers["retry-after"] != nil:
                    state.withLock { $0.unavailable += 1 }
                    backlog.append((message, sent))
                    waitFor = max(waitFor, 0.2)
                default:
                    state.withLock { $0.unexpected.append("\(result.status) \(result.text.prefix(200))") }
                }
            }
            if waitFor > 0 { Thread.sleep(forTimeInterval: waitFor) }
        }
    }
}
