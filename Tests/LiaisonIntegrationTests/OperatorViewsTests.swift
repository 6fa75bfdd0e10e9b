import Foundation
import LiaisonCore
import LiaisonLoad
import LiaisonRuntime
import LiaisonServer
import Testing

/// What operators and parties see of the queue and of a thread of messages, through the real daemon and
/// commands (issue 22's operator views).
@Suite struct OperatorViewsTests {
    @Test func aLookUpLinksAnAbsenceAndTheSPOCsAdviceBothWays() throws {
        let exchange = try Exchange(name: "thread", inboxes: [])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let claimant = "AB123456C"
        #expect(exchange.send(Messages.cwpReferral(nino: claimant), as: "jcp-leeds").status == 202)
        #expect(exchange.send(Messages.cwpStart(nino: claimant), as: "cwp-a").status == 202)
        // Jury service is not decided by the rules: it is referred to the SPOC, who answers it.
        let absence = Messages.envelope(
            "cwp.absence", nino: claimant,
            body: [
                "reported": .bool(true), "reason": .string("jury-service"), "from": .string(Messages.today.description),
                "to": .string(Messages.today.description),
            ])
        let referred = exchange.send(absence, as: "cwp-a")
        #expect(referred.status == 202 && referred.text.contains("referred-to-spoc"), "\(referred.text)")
        let absenceID = try #require(absence["id"]?.stringValue)
        func lookUp(_ id: String, as party: String) throws -> (status: Int, body: JSONValue?) {
            let result = exchange.client(party).perform(exchange.request("GET", "/v1/messages/\(id)", as: party))
            return (result.status, try? JSONValue.parse(result.text))
        }
        #expect(try lookUp(absenceID, as: "cwp-a").body?["answeredBy"] == .array([]))

        let advice = Messages.envelope(
            "cwp.absence.advice", nino: claimant, to: "cwp-a",
            body: ["inReplyTo": .string(absenceID.uppercased()), "treatAsAvailable": .bool(true), "note": .string("")])
        #expect(exchange.send(advice, as: "jcp-leeds").status == 202)
        let adviceID = try #require(advice["id"]?.stringValue)
        // The provider that asked finds the answer from its own query, and the query from the answer.
        #expect(try lookUp(absenceID, as: "cwp-a").body?["answeredBy"] == .array([.string(adviceID)]))
        #expect(try lookUp(adviceID, as: "cwp-a").body?["inReplyTo"] == .string(absenceID))
        #expect(try lookUp(absenceID, as: "jcp-leeds").body?["answeredBy"] == .array([.string(adviceID)]))
        // Another provider sees neither.
        #expect(try lookUp(absenceID, as: "cwp-b").status == 404)
    }

    @Test func queueCommandsShapeFindAClaimantFromStandardInputAndExplainBadOptions() throws {
        let exchange = try Exchange(name: "operator-views", inboxes: [])
        defer { exchange.stop() }
        try exchange.daemon.start()
        for n in 0..<3 { #expect(exchange.send(Messages.cwpReferral(nino: nino(700 + n)), as: "jcp-leeds").status == 202) }
        let store = exchange.daemon.storePath

        let shape = try runLiaison(["queue", "shape", "--store", store])
        #expect(shape.status == 0)
        let lines = shape.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(lines.first == ["INBOX", "TOTAL", "5M", "10M", "20M", "40M", "80M", "160M", "320M", "640M", "1280M", "OLDER"])
        #expect(lines.contains(["cwp-a/spoc", "3", "3", "0", "0", "0", "0", "0", "0", "0", "0", "0"]), "\(shape.output)")

        // The NINO comes on standard input, never on the command line; any suffix letter finds the claimant.
        let found = try runLiaison(["queue", "list", "--store", store, "--nino", "--json"], input: String(nino(701).dropLast()) + "D\n")
        #expect(found.status == 0)
        let copies = try JSONValue.parse(found.output).arrayValue ?? []
        #expect(copies.count == 1)
        let none = try runLiaison(["queue", "list", "--store", store, "--nino", "--json"], input: "AB999999A\n")
        #expect(try JSONValue.parse(none.output).arrayValue == [])
        let invalid = try runLiaison(["queue", "list", "--store", store, "--nino"], input: "QQ123456C\n", errors: true)
        #expect(invalid.status != 0 && invalid.output.contains("QQ12****") && !invalid.output.contains("QQ123456C"))

        // A bad value is explained with the subcommand's own usage and the values it takes.
        let bogus = try runLiaison(["queue", "list", "--state", "bogus"], errors: true)
        #expect(bogus.status != 0)
        #expect(bogus.output.contains("liaison queue list"), "\(bogus.output)")
        #expect(bogus.output.contains("in-flight") && bogus.output.contains("expired"), "\(bogus.output)")
    }

    @Test func everyCommandFindsTheConfigurationOneWayAndSaysWhichItUsed() throws {
        let exchange = try Exchange(name: "config-lookup", inboxes: [])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let elsewhere = temporaryFolder("config-lookup-elsewhere")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        var environment = ProcessInfo.processInfo.environment
        environment["LIAISON_CONFIG"] = nil
        // From a folder with no config/, nothing is found: not the checkout's the binary was built in.
        let lost = try runLiaison(["queue", "status"], errors: true, directory: elsewhere, environment: environment)
        #expect(lost.status != 0)
        #expect(lost.output.contains(elsewhere.appendingPathComponent("config/liaison.yaml").path), "\(lost.output)")
        // $LIAISON_CONFIG names it; the command says which configuration and store it used.
        environment["LIAISON_CONFIG"] = exchange.daemon.configPath.path
        let named = try runLiaison(["queue", "status"], errors: true, directory: elsewhere, environment: environment)
        #expect(named.status == 0, "\(named.output)")
        #expect(
            named.output.contains("using configuration \(exchange.daemon.configPath.path), store \(exchange.daemon.storePath)"), "\(named.output)")
        let json = try runLiaison(["queue", "status", "--json"], directory: elsewhere, environment: environment)
        #expect(try JSONValue.parse(json.output)["store"] == .string(exchange.daemon.storePath))
        // --config wins over the environment; config check takes it too (and still the bare file of old).
        environment["LIAISON_CONFIG"] = "/nonexistent/liaison.yaml"
        let given = try runLiaison(
            ["config", "check", "--config", exchange.daemon.configPath.path], errors: true, directory: elsewhere, environment: environment)
        #expect(given.status == 0 && given.output.contains("config ok"), "\(given.output)")
        #expect(given.output.contains("using configuration \(exchange.daemon.configPath.path)"))
        let twice = try runLiaison(
            ["config", "check", "--config", exchange.daemon.configPath.path, exchange.daemon.configPath.path], errors: true)
        #expect(twice.status != 0 && twice.output.contains("name the configuration once"))
    }

    @Test func certificatesAreWarnedOfThirtyDaysBeforeTheyExpire() throws {
        let exchange = try Exchange(name: "certificates", inboxes: [])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let config = try DaemonConfig.load(from: exchange.daemon.configPath)
        let certificates = CertificateExpiry.certificates(of: config, local: exchange.localCertificates)
        let server = try #require(certificates.first)
        #expect(certificates.map(\.role) == ["tls.certificate"])
        // The local CA issues the server's certificate for two years.
        #expect(abs(server.notAfter.timeIntervalSinceNow - 2 * 365 * 86_400) < 86_400)
        #expect(CertificateExpiry.warnings(certificates, now: Date()).isEmpty)
        #expect(CertificateExpiry.warnings(certificates, now: server.notAfter.addingTimeInterval(-31 * 86_400)).isEmpty)
        let soon = CertificateExpiry.warnings(certificates, now: server.notAfter.addingTimeInterval(-10 * 86_400 - 60))
        #expect(soon.count == 1 && soon[0].hasPrefix("tls.certificate (") && soon[0].contains("in 10 days"), "\(soon)")
        let late = CertificateExpiry.warnings(certificates, now: server.notAfter.addingTimeInterval(1))
        #expect(late.count == 1 && late[0].contains("expired at"))
        // config check says when each runs out.
        let check = try runLiaison(["config", "check", "--config", exchange.daemon.configPath.path])
        #expect(check.output.contains("certificate: tls.certificate valid until \(Timestamp.format(server.notAfter))"), "\(check.output)")
    }

    @Test func aPortInUseIsNamedWithItsSetting() throws {
        let exchange = try Exchange(name: "port-in-use", inboxes: [])
        defer { exchange.stop() }
        try exchange.daemon.start()
        let data = temporaryFolder("port-in-use-second")
        defer { try? FileManager.default.removeItem(at: data) }
        let second = try runLiaison(
            ["serve", "--config", exchange.daemon.configPath.path, "--port", "\(exchange.daemon.port)", "--data-directory", data.path],
            errors: true)
        #expect(second.status != 0)
        #expect(second.output.contains("cannot listen on 127.0.0.1:\(exchange.daemon.port)"), "\(second.output)")
        #expect(second.output.contains("already in use") && second.output.contains("listen.port"), "\(second.output)")
    }
}
