import Foundation
import LiaisonCore
import LiaisonLoad
import Testing

/// SIGHUP: liaison.yaml, the rules and the bank holidays read again without a restart.
@Suite struct ReloadTests {
    @Test func aReloadMovesAnInboxAndChangesATokenWithoutDroppingAConnection() async throws {
        let folders = (temporaryFolder("reload-sink-a"), temporaryFolder("reload-sink-b"))
        defer {
            try? FileManager.default.removeItem(at: folders.0)
            try? FileManager.default.removeItem(at: folders.1)
        }
        let first = try WebhookSink(folder: folders.0, secrets: [testSecret])
        let second = try WebhookSink(folder: folders.1, secrets: [testSecret])
        let (firstPort, secondPort) = (try await first.start(), try await second.start())
        let exchange = try Exchange(
            name: "reload", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: firstPort, caBundle: first.caBundle)])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let pid = try #require(exchange.daemon.processID)

        // Before: jcp-leeds's copies for cwp-a/spoc go to the first sink; cwp-a's client keeps its connection.
        let watcher = exchange.client("cwp-a")
        #expect(watcher.perform(exchange.request("GET", "/healthz", as: "cwp-a")).status == 200)
        #expect(exchange.send(Messages.cwpReferral(nino: nino(801)), as: "jcp-leeds").status == 202)
        #expect(await eventually { first.count == 1 })

        // The inbox moves to the second sink and jcp-leeds gets a new token; nothing else changes.
        let oldToken = Exchange.token("jcp-leeds")
        let newToken = "rotated-jcp-leeds-token-0123456789"
        let original = try String(contentsOf: exchange.daemon.configPath, encoding: .utf8)
        var edited = original.replacingOccurrences(of: "url: https://127.0.0.1:\(firstPort)/hook", with: "url: https://127.0.0.1:\(secondPort)/hook")
        edited = edited.replacingOccurrences(of: "tokens: [\(oldToken)]", with: "tokens: [\(newToken)]")
        edited = edited.replacingOccurrences(of: "caBundle: \(first.caBundle)", with: "caBundle: \(second.caBundle)")
        #expect(edited != original)
        try edited.write(to: exchange.daemon.configPath, atomically: true, encoding: .utf8)
        kill(pid, SIGHUP)
        func submit(_ message: JSONValue, token: String) -> HTTPSResult {
            var request = exchange.request("POST", "/v1/messages", as: "jcp-leeds", body: message)
            request.headers = ["Authorization: Bearer \(token)", "Content-Type: application/json"]
            return exchange.client("jcp-leeds").perform(request)
        }
        #expect(await eventually { submit(Messages.change(nino: nino(801), detail: "after"), token: newToken).status == 202 })
        #expect(submit(Messages.change(nino: nino(801), detail: "old token"), token: oldToken).status == 401)
        #expect(await eventually { second.count == 1 })
        #expect(first.count == 1, "nothing more went to the old endpoint")
        #expect(exchange.daemon.isRunning)
        // The connection opened before the reload still serves.
        let after = watcher.perform(exchange.request("GET", "/healthz", as: "cwp-a"))
        #expect(after.status == 200 && after.newConnections == 0)
        let log = try String(contentsOf: exchange.daemon.logPath, encoding: .utf8)
        #expect(log.contains("configuration reloaded"))

        // A bad file is refused with every problem, and the configuration in force stays.
        let bad = edited.replacingOccurrences(of: "jitterPercent: 0", with: "jitterPercent: 150") + "\ncolour: blue\n"
        try bad.write(to: exchange.daemon.configPath, atomically: true, encoding: .utf8)
        kill(pid, SIGHUP)
        #expect(
            await eventually {
                let log = (try? String(contentsOf: exchange.daemon.logPath, encoding: .utf8)) ?? ""
                return log.contains("reload refused: the configuration in force stays")
            })
        let refused = try String(contentsOf: exchange.daemon.logPath, encoding: .utf8)
        #expect(refused.contains("key=delivery.jitterPercent") && refused.contains("key=colour"), "every problem is logged")
        #expect(exchange.daemon.isRunning)
        #expect(submit(Messages.change(nino: nino(801), detail: "still"), token: newToken).status == 202)
        #expect(await eventually { second.count == 2 })
        let still = watcher.perform(exchange.request("GET", "/healthz", as: "cwp-a"))
        #expect(still.status == 200 && still.newConnections == 0)
        await first.stop()
        await second.stop()
    }
}
