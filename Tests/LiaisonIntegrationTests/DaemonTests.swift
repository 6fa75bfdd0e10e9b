import Foundation
import GRDB
import LiaisonCore
import LiaisonLoad
import LiaisonServer
import LiaisonStore
import Testing

/// The real daemon on 127.0.0.1 with real HTTPS sinks that verify signatures. Serialized: each test owns
/// the machine's two cores while it runs.
@Suite(.serialized) struct DaemonTests {
    @Test func aRoutedAbsenceNoticeReachesTheSPOCSinkSigned() async throws {
        let spocFolder = temporaryFolder("spoc-sink")
        defer { try? FileManager.default.removeItem(at: spocFolder) }
        let spoc = try WebhookSink(folder: spocFolder, secrets: [testSecret])
        let providerFolder = temporaryFolder("provider-sink")
        defer { try? FileManager.default.removeItem(at: providerFolder) }
        let provider = try WebhookSink(folder: providerFolder, secrets: [testSecret])
        let spocPort = try await spoc.start()
        let providerPort = try await provider.start()
        let exchange = try Exchange(
            name: "absence",
            inboxes: [
                PushInbox(party: "jcp-leeds", role: "spoc", port: spocPort, caBundle: spoc.caBundle),
                PushInbox(party: "cwp-a", role: "spoc", port: providerPort, caBundle: provider.caBundle),
            ])
        defer { exchange.stop() }
        try exchange.daemon.start()

        #expect(exchange.send(Messages.cwpReferral(nino: "AB123456C"), as: "jcp-leeds").status == 202)
        #expect(exchange.send(Messages.cwpStart(nino: "AB123456C"), as: "cwp-a").status == 202)
        let absence = Messages.sickness(nino: "AB123456C")
        let answer = exchange.send(absence, as: "cwp-a")
        #expect(answer.status == 202)
        #expect(answer.text.contains(#""routedTo":["jcp-leeds/spoc"]"#))

        #expect(await eventually { spoc.deliveries.count == 1 && provider.deliveries.count == 1 })
        let delivered = try #require(spoc.deliveries.first)
        #expect(delivered.signatureValid)
        #expect(delivered.body["id"] == absence["id"])
        #expect(delivered.body["deliveredTo"] == .string("jcp-leeds/spoc"))
        #expect(delivered.body["decision"]?["outcome"] == .string("treat-as-available"))
        #expect(delivered.body["from"] == .string("cwp-a"))

        // The sender can follow its message; another party cannot see it.
        let id = absence["id"]!.stringValue!
        #expect(
            await eventually {
                exchange.client("cwp-a").perform(exchange.request("GET", "/v1/messages/\(id)", as: "cwp-a")).text.contains(#""state":"delivered""#)
            })
        #expect(exchange.client("cwp-b").perform(exchange.request("GET", "/v1/messages/\(id)", as: "cwp-b")).status == 404)
        // Log lines are written within a few milliseconds, in batches.
        #expect(await eventually { (try? String(contentsOf: exchange.daemon.logPath, encoding: .utf8))?.contains("nino=AB12****") == true })
        let log = try String(contentsOf: exchange.daemon.logPath, encoding: .utf8)
        #expect(!log.contains("AB123456C"))
        await spoc.stop()
        await provider.stop()
    }

    @Test func aSinkThatIsDownAndComesBackGetsEverything() async throws {
        let sinkFolder = temporaryFolder("down-sink")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        let port = try await sink.start()
        await sink.stop()
        let exchange = try Exchange(
            name: "down", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle)],
            delivery: ["circuitProbe: 1s", "circuitProbeMaximum: 1s"])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let messages = (0..<50).map { Messages.cwpReferral(nino: nino($0)) }
        #expect(exchange.send(messages, as: "jcp-leeds").allSatisfy { $0.status == 202 })
        let queue = try operators(atPath: exchange.daemon.storePath)
        // The inbox's circuit opens after a run of refused connections: the copies wait, deferred or not yet tried.
        #expect(
            await eventually {
                (try? queue.status(now: Date().timeIntervalSince1970).first).map { $0.circuitOpenSince != nil && $0.deferred + $0.queued == 50 }
                    == true
            })
        let status = try #require(try queue.status(now: Date().timeIntervalSince1970).first)
        // curl's own detail, not only the kind of failure: which port could not be reached.
        // (Or, should another test's server have taken the freed port meanwhile, curl's detail of the TLS failure.)
        #expect(
            status.lastError.map { $0.contains("port \(port)") || $0.contains("Recv failure") || $0.contains("SSL") } == true,
            "\(status.lastError ?? "-")")
        #expect(status.nextAttempt != nil)

        try await sink.start(port: port)
        #expect(await eventually { Set(sink.deliveries.map(\.webhookID)).count == 50 })
        #expect(Set(sink.deliveries.compactMap { $0.body["id"]?.stringValue }) == Set(messages.compactMap { $0["id"]?.stringValue }))
        #expect(sink.deliveries.allSatisfy { $0.signatureValid })
        #expect(await eventually { (try? queue.status(now: Date().timeIntervalSince1970).first?.deliveredLast24h) == 50 })
        await sink.stop()
    }

    @Test func aGoneInboxIsHeldUntilAnOperatorReleasesIt() async throws {
        let sinkFolder = temporaryFolder("gone-sink")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        sink.respond { _ in .init(status: 410) }
        let port = try await sink.start()
        let exchange = try Exchange(name: "gone", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle)])
        defer { exchange.stop() }
        try exchange.daemon.start()
        #expect(exchange.send((0..<10).map { Messages.cwpReferral(nino: nino($0)) }, as: "jcp-leeds").allSatisfy { $0.status == 202 })
        let queue = try operators(atPath: exchange.daemon.storePath)
        #expect(await eventually { (try? queue.status(now: Date().timeIntervalSince1970).first?.held) == 10 })
        let attemptsWhileHeld = sink.count
        try await Task.sleep(for: .seconds(1))
        #expect(sink.count == attemptsWhileHeld)
        let held = try queue.status(now: Date().timeIntervalSince1970).first!
        #expect(held.lastError?.contains("410") == true)
        // The inbox is disabled: what is accepted for it afterwards is held too, not sent.
        #expect(exchange.send((10..<15).map { Messages.cwpReferral(nino: nino($0)) }, as: "jcp-leeds").allSatisfy { $0.status == 202 })
        #expect(await eventually { (try? queue.status(now: Date().timeIntervalSince1970).first?.held) == 15 })
        #expect(sink.count == attemptsWhileHeld)
        // The operator is told why, and what to do.
        let disabled = try runLiaison(["queue", "status", "--store", exchange.daemon.storePath])
        #expect(disabled.output.contains("cwp-a/spoc is disabled since"))
        #expect(disabled.output.contains("liaison queue release --inbox cwp-a/spoc"))

        sink.respond { _ in .init(status: 204) }
        // The operator releases the inbox with the CLI, reading the store the daemon is using.
        // A mistyped id or inbox is not taken for done.
        let typo = try runLiaison(["queue", "release", "00000000-0000-4000-8000-0000000dead0", "--json", "--store", exchange.daemon.storePath])
        #expect(typo.status == 1)
        let typoReport = try JSONValue.parse(typo.output)
        #expect(typoReport["moved"] == .number(0))
        #expect(typoReport["notFound"]?.arrayValue?.count == 1)
        #expect(try runLiaison(["queue", "release", "--inbox", "cwp-b/spoc", "--store", exchange.daemon.storePath]).status == 1)
        let release = try runLiaison(["queue", "release", "--inbox", "cwp-a/spoc", "--store", exchange.daemon.storePath])
        #expect(release.output == "release: 15 copies\n")
        #expect(release.status == 0)
        #expect(await eventually { (try? queue.status(now: Date().timeIntervalSince1970).first?.deliveredLast24h) == 15 })
        let histories = try Set(sink.deliveries.map(\.webhookID)).flatMap { try queue.show($0) }
        #expect(histories.count == 15)
        #expect(histories.allSatisfy { $0.events.map(\.state).contains("held") && $0.copy.state == "delivered" })
        // A delivery is not an error: the last error is still the 410 (or none), never "HTTP 204".
        #expect(histories.allSatisfy { $0.copy.lastError == nil || $0.copy.lastError == "HTTP 410" })
        #expect(histories.contains { $0.events.contains { $0.httpStatus == 410 } })
        let status = try runLiaison(["queue", "status", "--json", "--store", exchange.daemon.storePath])
        let report = try JSONValue.parse(status.output)
        #expect(report["totals"]?["deliveredLast24h"] == .number(15))
        #expect(report["inboxes"]?.arrayValue?.first?["inbox"] == .string("cwp-a/spoc"))
        #expect(report["inboxes"]?.arrayValue?.first?["disabledSince"] == nil)
        let shown = try runLiaison(["queue", "show", histories[0].copy.messageID, "--store", exchange.daemon.storePath])
        #expect(shown.output.contains("held"))
        #expect(shown.output.contains("HTTP 410") || histories[0].events.allSatisfy { $0.httpStatus != 410 })
        await sink.stop()
    }

    @Test func retryAfterIsHonoured() async throws {
        let sinkFolder = temporaryFolder("slow-sink")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        sink.respond { number in number == 1 ? .init(status: 429, retryAfter: 2) : .init(status: 200) }
        let port = try await sink.start()
        let exchange = try Exchange(name: "retry-after", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle)])
        defer { exchange.stop() }
        try exchange.daemon.start()
        #expect(exchange.send(Messages.cwpReferral(nino: nino(1)), as: "jcp-leeds").status == 202)
        #expect(await eventually { sink.deliveries.count == 2 })
        let gap = sink.deliveries[1].at.timeIntervalSince(sink.deliveries[0].at)
        // The schedule alone would retry after 200 ms; Retry-After says 2 s. (The upper bound only says the
        // pause ends: a loaded machine may take seconds more to come round to it.)
        #expect(gap >= 1.9)
        #expect(gap < 15)
        #expect(sink.deliveries[0].webhookID == sink.deliveries[1].webhookID)
        await sink.stop()
    }

    @Test func oneDeadInboxDoesNotSlowAnother() async throws {
        let liveFolder = temporaryFolder("live-sink")
        defer { try? FileManager.default.removeItem(at: liveFolder) }
        let live = try WebhookSink(folder: liveFolder, secrets: [testSecret], record: false)
        let livePort = try await live.start()
        let deadFolder = temporaryFolder("dead-sink")
        defer { try? FileManager.default.removeItem(at: deadFolder) }
        let dead = try WebhookSink(folder: deadFolder, secrets: [testSecret])
        let deadPort = try await dead.start()
        await dead.stop()
        let exchange = try Exchange(
            name: "dead-live",
            inboxes: [
                PushInbox(party: "cwp-a", role: "spoc", port: livePort, caBundle: live.caBundle, concurrency: 32),
                PushInbox(party: "cwp-b", role: "spoc", port: deadPort, caBundle: dead.caBundle, concurrency: 32),
            ])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let toDead = (0..<1000).map { Messages.cwpReferral(nino: nino(100_000 + $0), to: "cwp-b") }
        #expect(exchange.send(toDead, as: "jcp-leeds", concurrency: 32).allSatisfy { $0.status == 202 })
        let started = Date()
        let toLive = (0..<1000).map { Messages.cwpReferral(nino: nino($0), to: "cwp-a") }
        #expect(exchange.send(toLive, as: "jcp-leeds", concurrency: 32).allSatisfy { $0.status == 202 })
        #expect(await eventually(60) { live.count >= 1000 })
        let seconds = Date().timeIntervalSince(started)
        print("with cwp-b/spoc dead, 1000 messages accepted and delivered to cwp-a/spoc in \(String(format: "%.2f", seconds)) s")
        let queue = try operators(atPath: exchange.daemon.storePath)
        let recorded = await eventually {
            (try? queue.status(now: Date().timeIntervalSince1970).first { $0.inbox == "cwp-a/spoc" }?.deliveredLast24h) == 1000
        }
        #expect(recorded)
        let status = try queue.status(now: Date().timeIntervalSince1970)
        #expect(status.first { $0.inbox == "cwp-b/spoc" }.map { $0.deferred + $0.inFlight + $0.queued } == 1000)
        await live.stop()
    }

    @Test func copiesForOneClaimantArriveInAcceptanceOrderUnderRetries() async throws {
        let sinkFolder = temporaryFolder("order-sink")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        // Every third delivery fails, so copies are retried while later ones wait.
        sink.respond { number in number % 3 == 0 ? .init(status: 503) : .init(status: 200) }
        let port = try await sink.start()
        let exchange = try Exchange(
            name: "order", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle, concurrency: 16)],
            retrySchedule: "[100ms, 200ms]")
        defer { exchange.stop() }
        try exchange.daemon.start()
        let claimants = (0..<8).map { nino(500 + $0) }
        var accepted: [String: [String]] = [:]
        for claimant in claimants {
            let referral = Messages.cwpReferral(nino: claimant)
            #expect(exchange.send(referral, as: "jcp-leeds").status == 202)
            accepted[claimant, default: []].append(referral["id"]!.stringValue!)
        }
        for round in 0..<10 {
            let changes = claimants.map { Messages.change(nino: $0, detail: "round \(round)") }
            let answers = exchange.send(changes, as: "jcp-leeds", concurrency: 8)
            #expect(answers.allSatisfy { $0.status == 202 })
            for (claimant, change) in zip(claimants, changes) { accepted[claimant]!.append(change["id"]!.stringValue!) }
        }
        let total = accepted.values.map(\.count).reduce(0, +)
        #expect(await eventually(30) { Set(sink.deliveries.filter { $0.body != .null }.map(\.webhookID)).count >= total && sink.count >= total })
        for claimant in claimants {
            var firstArrival: [String] = []
            for delivery in sink.deliveries where delivery.body["nino"]?.stringValue == claimant {
                let id = delivery.body["id"]!.stringValue!
                if !firstArrival.contains(id) { firstArrival.append(id) }
            }
            #expect(firstArrival == accepted[claimant])
        }
        await sink.stop()
    }

    @Test func pushInboxesMayDemandAClientCertificate() async throws {
        let clientFolder = temporaryFolder("client-ca")
        defer { try? FileManager.default.removeItem(at: clientFolder) }
        let clientCertificates = LocalCertificatesFixture(folder: clientFolder)
        let sinkFolder = temporaryFolder("mtls-sink")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret], clientCA: clientCertificates.ca)
        let port = try await sink.start()
        let exchange = try Exchange(
            name: "mtls",
            inboxes: [
                PushInbox(
                    party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle,
                    clientCertificate: clientCertificates.certificate, clientKey: clientCertificates.key),
                PushInbox(party: "cwp-b", role: "spoc", port: port, caBundle: sink.caBundle),
            ])
        defer { exchange.stop() }
        try exchange.daemon.start()
        #expect(exchange.send(Messages.cwpReferral(nino: nino(1), to: "cwp-a"), as: "jcp-leeds").status == 202)
        #expect(exchange.send(Messages.cwpReferral(nino: nino(2), to: "cwp-b"), as: "jcp-leeds").status == 202)
        #expect(await eventually { sink.deliveries.count == 1 })
        #expect(sink.deliveries.first?.body["deliveredTo"] == .string("cwp-a/spoc"))
        let queue = try operators(atPath: exchange.daemon.storePath)
        #expect(await eventually { (try? queue.status(now: Date().timeIntervalSince1970).first { $0.inbox == "cwp-b/spoc" }?.deferred) == 1 })
        await sink.stop()
    }

    @Test func aClientCertificateAuthenticatesItsParty() async throws {
        let exchange = try Exchange(name: "mtls-in", inboxes: [], certificates: true)
        defer { exchange.stop() }
        try exchange.daemon.start()
        func request(_ method: String, _ path: String, body: JSONValue? = nil, headers: [String] = []) -> HTTPSRequest {
            HTTPSRequest(
                method: method, url: exchange.url + path, headers: headers + ["Content-Type: application/json"],
                body: body.map { Array($0.canonicalText.utf8) })
        }
        // jcp-leeds's certificate alone: the message is jcp-leeds's, `from` filled in from the certificate.
        let leeds = exchange.certificateClient("jcp-leeds")
        let referral = Messages.cwpReferral(nino: nino(41))
        let accepted = leeds.perform(request("POST", "/v1/messages", body: referral))
        #expect(accepted.status == 202)
        let id = referral["id"]!.stringValue!
        let followed = try JSONValue.parse(leeds.perform(request("GET", "/v1/messages/\(id)")).text)
        #expect(followed["from"] == .string("jcp-leeds"))
        // cwp-a's certificate pulls cwp-a's inbox.
        let pulled = try JSONValue.parse(exchange.certificateClient("cwp-a").perform(request("GET", "/v1/inbox/spoc")).text)
        #expect(pulled["messages"]?.arrayValue?.first?["message"]?["id"] == .string(id))
        // Claiming to be another party in `from` is refused, whatever the certificate.
        var claimed = Messages.cwpReferral(nino: nino(42))
        if case .object(var fields) = claimed {
            fields["from"] = .string("jcp-york")
            claimed = .object(fields)
        }
        #expect(leeds.perform(request("POST", "/v1/messages", body: claimed)).text.contains(#""code":"not-permitted""#))
        // A certificate the daemon's CA signed for a name no party has: 401, as with no credentials.
        try exchange.localCertificates.ensure(clientNames: ["stranger"])
        let stranger = exchange.certificateClient("stranger").perform(request("GET", "/healthz"))
        #expect(stranger.status == 401)
        #expect(stranger.text.contains(#""code":"unauthenticated""#))
        // A bearer token decides over a certificate; a token that matches no party is not made up for by one.
        let asPrime = leeds.perform(request("GET", "/v1/messages/\(id)", headers: ["Authorization: Bearer \(Exchange.token("prime-a"))"]))
        #expect(asPrime.status == 404)
        #expect(leeds.perform(request("GET", "/healthz", headers: ["Authorization: Bearer not-a-real-token-at-all"])).status == 401)
        // An Authorization header of another scheme (a proxy's, say) is passed over for the certificate.
        #expect(leeds.perform(request("GET", "/healthz", headers: ["Authorization: Basic dXNlcjpwYXNz"])).status == 200)
    }

    @Test func aRecipientSeesItsOwnRoutesAndTheSenderSeesAllWithoutTheirErrors() async throws {
        // cwp-a's inbox is an endpoint that refuses connections: its attempts fail with curl's error, which names
        // the endpoint.
        let sinkFolder = temporaryFolder("closed-sink")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let closed = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        let closedPort = try await closed.start()
        await closed.stop()
        let exchange = try Exchange(
            name: "routes", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: closedPort, caBundle: closed.caBundle)],
            retrySchedule: "[1h]")
        defer { exchange.stop() }
        try exchange.daemon.start()
        let referral = Messages.cwpReferral(nino: nino(51))
        #expect(exchange.send(referral, as: "jcp-leeds").status == 202)
        // A transfer before the placement started goes to the provider and to the new jobcentre.
        let transfer = Messages.envelope(
            "cwp.claim-transfer", nino: nino(51),
            body: [
                "newJobcentre": .string("jcp-york"), "transferDate": .string(Messages.today.description), "withinCpa": .bool(true),
                "withinTravelDistance": .bool(true),
            ])
        let answer = exchange.send(transfer, as: "jcp-leeds")
        #expect(answer.status == 202)
        #expect(answer.text.contains(#""routedTo":["cwp-a/spoc","jcp-york/work-coach"]"#))
        func routes(of message: JSONValue, as party: String) throws -> [JSONValue] {
            let id = message["id"]!.stringValue!
            let text = exchange.client(party).perform(exchange.request("GET", "/v1/messages/\(id)", as: party)).text
            return try JSONValue.parse(text)["routes"]?.arrayValue ?? []
        }
        func addresses(as party: String) throws -> [String] { try routes(of: transfer, as: party).compactMap { $0["address"]?.stringValue } }
        #expect(try addresses(as: "jcp-leeds") == ["cwp-a/spoc", "jcp-york/work-coach"])
        #expect(try addresses(as: "cwp-a") == ["cwp-a/spoc"])
        #expect(try addresses(as: "jcp-york") == ["jcp-york/work-coach"])
        #expect(try routes(of: transfer, as: "cwp-b").isEmpty)
        // The referral's failed attempt: its error (curl's, naming cwp-a's endpoint) is shown only to cwp-a.
        let queue = try operators(atPath: exchange.daemon.storePath)
        #expect(await eventually { (try? queue.status(now: Date().timeIntervalSince1970).first { $0.inbox == "cwp-a/spoc" }?.deferred) == 1 })
        func errors(as party: String) throws -> [String] {
            try routes(of: referral, as: party).flatMap { $0["events"]?.arrayValue ?? [] }.compactMap { $0["error"]?.stringValue }
        }
        #expect(try errors(as: "jcp-leeds") == ["delivery failed"])
        let own = try errors(as: "cwp-a")
        #expect(own.count == 1)
        #expect(own.first?.contains("127.0.0.1") == true)
    }

    @Test func pullInboxesLeaseAndAcknowledge() async throws {
        let exchange = try Exchange(name: "pull", inboxes: [])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let referral = Messages.cwpReferral(nino: nino(7))
        #expect(exchange.send(referral, as: "jcp-leeds").status == 202)
        let client = exchange.client("cwp-a")
        let pulled = try JSONValue.parse(client.perform(exchange.request("GET", "/v1/inbox/spoc?limit=10", as: "cwp-a")).text)
        let messages = try #require(pulled["messages"]?.arrayValue)
        #expect(messages.count == 1)
        #expect(messages.first?["message"]?["id"] == referral["id"])
        #expect(messages.first?["message"]?["deliveredTo"] == .string("cwp-a/spoc"))
        // Leased: not offered again until the lease runs out.
        let again = try JSONValue.parse(client.perform(exchange.request("GET", "/v1/inbox/spoc", as: "cwp-a")).text)
        #expect(again["messages"]?.arrayValue?.isEmpty == true)
        // The lease runs out with no pull: the deliverer returns the copy to the queue by itself.
        let queue = try operators(atPath: exchange.daemon.storePath)
        #expect(
            await eventually {
                (try? queue.status(now: Date().timeIntervalSince1970).first { $0.inbox == "cwp-a/spoc" }).map { $0.queued == 1 && $0.inFlight == 0 }
                    == true
            })
        let offered = try JSONValue.parse(client.perform(exchange.request("GET", "/v1/inbox/spoc", as: "cwp-a")).text)
        let copyID = try #require(offered["messages"]?.arrayValue?.first?["id"])
        // The answer says when the lease ends.
        let leasedUntil = try #require(offered["leasedUntil"]?.stringValue.flatMap(Timestamp.parse))
        #expect(leasedUntil > Date() && leasedUntil < Date().addingTimeInterval(3))
        let ack = try JSONValue.parse(
            client.perform(exchange.request("POST", "/v1/inbox/spoc/ack", as: "cwp-a", body: .object(["ids": .array([copyID])]))).text)
        #expect(ack["acknowledged"] == .array([copyID]))
        #expect(ack["notAcknowledged"] == .array([]))
        // Acknowledged twice: the second is said not to count.
        let twice = try JSONValue.parse(
            client.perform(exchange.request("POST", "/v1/inbox/spoc/ack", as: "cwp-a", body: .object(["ids": .array([copyID])]))).text)
        #expect(twice["acknowledged"] == .array([]))
        #expect(twice["notAcknowledged"] == .array([copyID]))
        // Something that is not a copy id of this inbox is refused by its place, not repeated.
        let otherInbox = JSONValue.string("00000000-0000-4000-8000-000000000000/AB123456C/spoc")
        let bad = client.perform(
            exchange.request(
                "POST", "/v1/inbox/spoc/ack", as: "cwp-a", body: .object(["ids": .array([copyID, .string("AB123456C"), otherInbox])])))
        #expect(bad.status == 422)
        #expect(bad.text.contains(#""field":"ids[1]""#))
        #expect(bad.text.contains(#""field":"ids[2]""#))
        #expect(!bad.text.contains("AB123456C"))
        // The message id alone acknowledges its copy too (an inbox has one copy of a message), answered as given.
        let second = Messages.cwpReferral(nino: nino(8))
        #expect(exchange.send(second, as: "jcp-leeds").status == 202)
        let secondPull = try JSONValue.parse(client.perform(exchange.request("GET", "/v1/inbox/spoc", as: "cwp-a")).text)
        let messageID = try #require(secondPull["messages"]?.arrayValue?.first?["message"]?["id"])
        #expect(messageID == second["id"])
        let byMessage = try JSONValue.parse(
            client.perform(exchange.request("POST", "/v1/inbox/spoc/ack", as: "cwp-a", body: .object(["ids": .array([messageID])]))).text)
        #expect(byMessage["acknowledged"] == .array([messageID]))
        #expect(byMessage["notAcknowledged"] == .array([]))
        // A limit that is not a positive whole number is refused; one over 1,000 is taken as 1,000.
        for limit in ["abc", "0", "-3", "2.5"] {
            let refused = client.perform(exchange.request("GET", "/v1/inbox/spoc?limit=\(limit)", as: "cwp-a"))
            #expect(refused.status == 422)
            #expect(refused.text.contains(#""field":"limit""#))
        }
        #expect(client.perform(exchange.request("GET", "/v1/inbox/spoc?limit=5000", as: "cwp-a")).status == 200)
        // Acknowledged copies are not offered again once a lease would have lapsed: shown on the store's injected
        // clock (StoreTests.aPullInboxKeepsEachClaimantsOrderAcrossLeases), not by sleeping here.
        let empty = try JSONValue.parse(client.perform(exchange.request("GET", "/v1/inbox/spoc", as: "cwp-a")).text)
        #expect(empty["messages"]?.arrayValue?.isEmpty == true)
        // Another party cannot pull this inbox: it pulls its own.
        let other = try JSONValue.parse(exchange.client("cwp-b").perform(exchange.request("GET", "/v1/inbox/spoc", as: "cwp-b")).text)
        #expect(other["messages"]?.arrayValue?.isEmpty == true)
    }

    @Test func refusalsOverHTTPSCarryStableCodes() async throws {
        let exchange = try Exchange(name: "refusals", inboxes: [])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let client = exchange.client("jcp-leeds")
        var anonymous = exchange.request("POST", "/v1/messages", as: "jcp-leeds", body: Messages.cwpReferral(nino: nino(1)))
        anonymous.headers = ["Content-Type: application/json"]
        let unauthenticated = client.perform(anonymous)
        #expect(unauthenticated.status == 401)
        #expect(unauthenticated.headers["content-type"] == "application/problem+json")
        #expect(unauthenticated.headers["www-authenticate"] == #"Bearer realm="liaison""#)
        var wrongToken = anonymous
        wrongToken.headers.append("Authorization: Bearer not-a-real-token-at-all")
        #expect(client.perform(wrongToken).status == 401)

        var malformed = exchange.request("POST", "/v1/messages", as: "jcp-leeds")
        malformed.body = Array("{not json".utf8)
        #expect(client.perform(malformed).text.contains(#""code":"malformed-json""#))

        var large = exchange.request("POST", "/v1/messages", as: "jcp-leeds")
        large.body = Array(repeating: UInt8(ascii: " "), count: 300_000)
        let tooLarge = client.perform(large)
        #expect(tooLarge.status == 413)
        #expect(tooLarge.text.contains(#""code":"too-large""#))
        // Kept in the audit log like any other refusal, with nothing of the body.
        let kept = try storeRows(atPath: exchange.daemon.storePath, "SELECT sender, code, message_id FROM refusal WHERE code = 'too-large'")
        #expect(kept.count == 1)
        #expect(kept.first?["sender"] == "jcp-leeds")

        // Every other error is problem+json with a stable code too: an unknown path, an oversized acknowledgement.
        // The path is not repeated (it could hold a NINO), and without credentials it is 401, so that the
        // routes cannot be mapped anonymously.
        let nowhere = client.perform(exchange.request("GET", "/v1/AB123456C", as: "jcp-leeds"))
        #expect(nowhere.status == 404)
        #expect(nowhere.headers["content-type"] == "application/problem+json")
        #expect(nowhere.text.contains(#""code":"not-found""#))
        #expect(!nowhere.text.contains("AB123456C"))
        var anonymousNowhere = exchange.request("GET", "/v1/nowhere", as: "jcp-leeds")
        anonymousNowhere.headers = []
        #expect(client.perform(anonymousNowhere).status == 401)
        let notAnID = client.perform(exchange.request("GET", "/v1/messages/AB123456C", as: "jcp-leeds"))
        #expect(notAnID.status == 404)
        #expect(!notAnID.text.contains("AB123456C"))
        var bigAck = exchange.request("POST", "/v1/inbox/spoc/ack", as: "jcp-leeds")
        bigAck.body = Array(repeating: UInt8(ascii: " "), count: 300_000)
        let ackTooLarge = client.perform(bigAck)
        #expect(ackTooLarge.status == 413)
        #expect(ackTooLarge.headers["content-type"] == "application/problem+json")
        #expect(ackTooLarge.text.contains(#""code":"too-large""#))

        let referral = Messages.cwpReferral(nino: nino(2))
        #expect(exchange.send(referral, as: "jcp-leeds").status == 202)
        let resent = exchange.send(referral, as: "jcp-leeds")
        #expect(resent.status == 202)
        #expect(resent.headers["idempotent-replayed"] == "true")
        let conflict = exchange.send(Messages.cwpReferral(nino: nino(3), id: referral["id"]!.stringValue!), as: "jcp-leeds")
        #expect(conflict.status == 409)
        // The id in upper case is the same UUID: the same message, answered as before, and found by it.
        let upperID = referral["id"]!.stringValue!.uppercased()
        guard case .object(var upperFields) = referral else { return }
        upperFields["id"] = .string(upperID)
        let upper = exchange.send(.object(upperFields), as: "jcp-leeds")
        #expect(upper.status == 202)
        #expect(upper.headers["idempotent-replayed"] == "true")
        #expect(client.perform(exchange.request("GET", "/v1/messages/\(upperID)", as: "jcp-leeds")).status == 200)
        #expect(exchange.send(Messages.cwpStart(nino: nino(2)), as: "cwp-b").text.contains(#""code":"unknown-case""#))
        #expect(exchange.send(Messages.cwpStart(nino: nino(2)), as: "jcp-leeds").status == 403)
        #expect(client.perform(exchange.request("GET", "/healthz", as: "jcp-leeds")).status == 200)
        #expect(client.perform(exchange.request("GET", "/readyz", as: "jcp-leeds")).status == 200)
        // Probes too answer only a configured party: no unauthenticated request reaches a handler.
        for path in ["/healthz", "/readyz"] {
            var probe = exchange.request("GET", path, as: "jcp-leeds")
            probe.headers = []
            #expect(client.perform(probe).status == 401)
        }
        // The metrics show every inbox's queue: a jobcentre's to read, not a provider's.
        let providerMetrics = exchange.client("cwp-a").perform(exchange.request("GET", "/metrics", as: "cwp-a"))
        #expect(providerMetrics.status == 403)
        #expect(providerMetrics.text.contains(#""code":"not-permitted""#))
        let metrics = client.perform(exchange.request("GET", "/metrics", as: "jcp-leeds")).text
        #expect(metrics.contains(#"liaison_messages_accepted_total{type="cwp.referral"} 1"#))
        #expect(metrics.contains(#"liaison_messages_refused_total{code="too-large"} 1"#))
        // Only the two submissions without a party's credentials are refused messages: a probe or a path without
        // them is refused too, but is no message.
        #expect(metrics.contains(#"liaison_messages_refused_total{code="unauthenticated"} 2"#))
    }

    @Test func aPartyOverItsRateIsToldToWait() async throws {
        let exchange = try Exchange(name: "rate", inboxes: [], extra: "limits: {requestsPerSecondPerParty: 1, burstPerParty: 3}")
        defer { exchange.stop() }
        try exchange.daemon.start()
        let answers = (0..<5).map { exchange.send(Messages.cwpReferral(nino: nino($0)), as: "jcp-leeds") }
        #expect(answers.prefix(3).allSatisfy { $0.status == 202 })
        let limited = answers[3]
        #expect(limited.status == 429)
        #expect(limited.text.contains(#""code":"rate-limited""#))
        #expect(Int(limited.headers["retry-after"] ?? "") ?? 0 >= 1)
        // Another party has its own allowance. (How the allowance refills is tested on an injected clock:
        // ServerPartsTests.theRateLimiterRefillsOnItsClockNotTheWallsAndEachPartyHasItsOwn.)
        #expect(exchange.send(Messages.cwpReferral(nino: nino(9), to: "cwp-b"), as: "jcp-york").status == 202)
    }

    @Test func sigtermDrainsExitsZeroAndARestartResumesEveryCopy() async throws {
        let sinkFolder = temporaryFolder("restart-sink")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        let port = try await sink.start()
        await sink.stop()
        let exchange = try Exchange(name: "restart", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle)])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let messages = (0..<30).map { Messages.cwpReferral(nino: nino($0)) }
        #expect(exchange.send(messages, as: "jcp-leeds").allSatisfy { $0.status == 202 })
        let started = Date()
        #expect(exchange.daemon.terminate() == 0)
        #expect(Date().timeIntervalSince(started) < 10)

        try await sink.start(port: port)
        try exchange.daemon.start()
        exchange.resetClients()
        #expect(await eventually { Set(sink.deliveries.map(\.webhookID)).count == 30 })
        await sink.stop()
    }

    @Test func whileItDrainsItRefusesWorkWith503ButAnswersProbesAndMetrics() async throws {
        let sinkFolder = temporaryFolder("slow-sink")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let sink = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        let port = try await sink.start()
        // A slow inbox: the delivery is in flight for 2 s, so the daemon drains that long after SIGTERM (its
        // drain bound is 5 s).
        sink.respond { _ in .init(status: 200, delay: .seconds(2)) }
        let exchange = try Exchange(name: "drain", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: port, caBundle: sink.caBundle)])
        defer { exchange.stop() }
        try exchange.daemon.start()
        #expect(exchange.send(Messages.cwpReferral(nino: nino(61)), as: "jcp-leeds").status == 202)
        #expect(await eventually { sink.count == 1 })
        exchange.daemon.beginTermination()
        try await Task.sleep(for: .milliseconds(300))
        let client = exchange.client("jcp-leeds")
        // New work: 503 with Retry-After, nothing stored.
        let refused = exchange.send(Messages.cwpReferral(nino: nino(62)), as: "jcp-leeds")
        #expect(refused.status == 503)
        #expect(refused.headers["retry-after"] == "5")
        #expect(refused.text.contains(#""code":"unavailable""#))
        // No credentials: 401 as ever, whatever the path.
        var anonymous = exchange.request("GET", "/v1/messages/\(UUID().uuidString.lowercased())", as: "jcp-leeds")
        anonymous.headers = []
        #expect(client.perform(anonymous).status == 401)
        // Alive, not ready, and the metrics still readable.
        #expect(client.perform(exchange.request("GET", "/healthz", as: "jcp-leeds")).status == 200)
        #expect(client.perform(exchange.request("GET", "/readyz", as: "jcp-leeds")).status == 503)
        #expect(client.perform(exchange.request("GET", "/metrics", as: "jcp-leeds")).status == 200)
        // The delivery in flight finishes within the drain bound, and the daemon exits 0.
        #expect(exchange.daemon.waitForExit(timeout: 30) == 0)
        #expect(sink.count == 1)
        let queue = try operators(atPath: exchange.daemon.storePath)
        let delivered = try queue.status(now: Date().timeIntervalSince1970).first { $0.inbox == "cwp-a/spoc" }
        #expect(delivered?.queued == 0 && delivered?.inFlight == 0)
        // The refused message left nothing behind.
        let stored = try storeRows(atPath: exchange.daemon.storePath, "SELECT COUNT(*) FROM message").first?.values.first?.integer
        #expect(stored == 1)
        await sink.stop()
    }

    @Test func configCheckReportsEveryProblemWithItsKey() throws {
        let folder = temporaryFolder("config")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("bad.yaml")
        // The rules file it names is checked too, whatever else is wrong, and every problem in it listed.
        try "workProgramme: 3\nsanctoins: {}\n".write(to: folder.appendingPathComponent("bad-rules.yaml"), atomically: true, encoding: .utf8)
        try """
        rules: bad-rules.yaml
        listen: {host: 127.0.0.1, port: 99999}
        limits: {maxBodyBytes: 10}
        delivery: {retrySchedule: [soon], lifetime: 5d}
        parties:
          - {id: jcp-x, kind: jobcentre, calendar: wales, tokens: [short]}
          - {id: cwp-x, kind: charity, tokens: [a-long-enough-token-value]}
          - id: cwp-y
            kind: cwp
            tokens: [another-long-enough-token]
            inboxes: {dma: pull, spoc: {url: http://insecure.example, secrets: []}}
        """.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = DaemonProcess.builtBinary()
        process.arguments = ["config", "check", file.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        let report = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        for key in [
            "listen.port", "limits.maxBodyBytes", "delivery.retrySchedule[0]", "parties[0].calendar", "parties[0].tokens[0]",
            "parties[1].kind", "parties[2].inboxes.dma", "parties[2].inboxes.spoc.url", "parties[2].inboxes.spoc.secrets",
            "workProgramme", "communityWorkPlacements", "absences", "sanctions", "sanctoins",
        ] {
            #expect(report.contains(key + ":"), "missing \(key) in \(report)")
        }
    }

    @Test func configCheckListsThePushAndPullInboxesOfAGoodFile() throws {
        let folder = temporaryFolder("good-config")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("good.yaml")
        try """
        rules: \(repository.path)/config/rules.yaml
        holidays: \(repository.path)/config/uk-bank-holidays.json
        parties:
          - {id: jcp-x, kind: jobcentre, calendar: england-and-wales, tokens: [a-long-enough-token-value-1]}
          - id: cwp-y
            kind: cwp
            tokens: [another-long-enough-token]
            inboxes: {spoc: {url: "https://cwp-y.example/liaison", secrets: [\(testSecret)]}}
        """.write(to: file, atomically: true, encoding: .utf8)
        let (output, status) = try runLiaison(["config", "check", "--config", file.path])
        #expect(status == 0)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.first == "config ok")
        #expect(lines.contains("push inboxes (1): cwp-y/spoc"))
        #expect(
            lines.contains {
                $0.hasPrefix("pull inboxes (6, ")
                    && $0.hasSuffix("): jcp-x/spoc, jcp-x/work-coach, jcp-x/dma, jcp-x/nominated-manager, jcp-x/nominated-officer, jcp-x/performance")
            })
        #expect(lines.contains("bank holidays: to the end of 2027"))
    }
}

/// Runs the built `liaison` command, with `input` on its standard input (empty by default).
/// - Parameter errors: whether its standard error is read into the output too.
/// - Returns: its standard output and exit status.
/// - Parameter directory: where it runs (this process's folder by default); `environment`, what it runs with
///   (this process's by default).
func runLiaison(
    _ arguments: [String], input: String = "", errors: Bool = false, directory: URL? = nil, environment: [String: String]? = nil
) throws -> (output: String, status: Int32) {
    let process = Process()
    process.executableURL = DaemonProcess.builtBinary()
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    if let environment { process.environment = environment }
    let output = Pipe()
    let standardInput = Pipe()
    process.standardOutput = output
    process.standardError = errors ? output : FileHandle.nullDevice
    process.standardInput = standardInput
    try process.run()
    standardInput.fileHandleForWriting.write(Data(input.utf8))
    try standardInput.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (text, process.terminationStatus)
}

/// A CA and a client certificate signed by it, made with the same code as the daemon's local CA.
struct LocalCertificatesFixture {
    let ca: String
    let certificate: String
    let key: String

    init(folder: URL) {
        let certificates = LiaisonServer.LocalCertificates(folder: folder)
        try! certificates.ensure(clientNames: ["liaison-delivery"])
        ca = certificates.caCertificate.path
        let (certificate, key) = certificates.client("liaison-delivery")
        self.certificate = certificate.path
        self.key = key.path
    }
}
