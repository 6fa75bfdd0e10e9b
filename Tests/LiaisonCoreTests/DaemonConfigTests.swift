import Foundation
import LiaisonCore
import LiaisonRuntime
import LiaisonStore
import Testing

@Suite struct DaemonConfigTests {
    @Test func operatorsAreWarnedHalfAYearBeforeTheBankHolidayDataRunsOut() {
        // The shipped data runs to the end of 2027.
        #expect(shippedCalendars.lastYear == 2027)
        #expect(RuleFiles.holidayDataWarning(shippedCalendars, today: day("2027-07-01")) == nil)
        let warning = RuleFiles.holidayDataWarning(shippedCalendars, today: day("2027-07-02"))
        #expect(warning?.contains("ends with 2027") == true)
        #expect(RuleFiles.holidayDataWarning(shippedCalendars, today: day("2028-03-01")) != nil)
    }

    @Test func theShippedConfigurationLoadsWithDefaults() throws {
        let config = try DaemonConfig.load(from: configFolder.appendingPathComponent("liaison.yaml"))
        #expect(config.port == 8443)
        #expect(config.maxBodyBytes == 262_144)
        #expect(config.ratePerSecond == 1_000 && config.rateBurst == 5_000)
        #expect(config.delivery.lifetimeSeconds == 5 * 86_400)
        #expect(config.delivery.retrySchedule.first == 10)
        #expect(config.parties.count == 8)
        #expect(config.storePath.hasSuffix("/data/liaison.sqlite"))
        if case .pull = config.inbox(Address("jcp-leeds", .spoc))! {} else { Issue.record("unlisted inboxes are pull inboxes") }
        #expect(config.inbox(Address("cwp-a", .dma)) == nil)
        // The jobcentres read the metrics by default, not the providers.
        #expect(config.metricsReaders == ["jcp-leeds", "jcp-york", "jcp-glasgow", "jcp-belfast"])
        #expect(try RuleFiles.loadRules(at: URL(fileURLWithPath: config.rulesPath)).workProgramme.programmeWeeks == 104)
    }

    @Test func everyProblemIsReportedWithItsKey() throws {
        let tree = try JSONValue.parse(
            #"""
            {"listen": {"port": "eighty"}, "colour": "blue",
             "delivery": {"lifetime": "forever", "jitterPercent": 150}, "metricsReaders": ["p", "nobody"],
             "parties": [{"id": "jcp-x", "kind": "jobcentre"},
                         {"id": "p", "kind": "prime", "tokens": ["a-token-long-enough-1"], "inboxes": {"contact": {"url": "https://x", "secrets": ["s"], "clientCertificate": "c.pem"}}},
                         {"id": "p", "kind": "prime", "tokens": ["a-token-long-enough-1"]}]}
            """#)
        let error = #expect(throws: ConfigProblems.self) { try DaemonConfig.parse(tree, base: URL(fileURLWithPath: "/etc/liaison")) }
        let keys = Set(error?.problems.map(\.key) ?? [])
        for key in [
            "listen.port", "colour", "delivery.lifetime", "delivery.jitterPercent", "parties[0].calendar", "parties[0]",
            "parties[1].inboxes.contact.clientKey", "parties[2].id", "parties[2].tokens", "metricsReaders[1]",
        ] {
            #expect(keys.contains(key), "\(key) not in \(keys.sorted())")
        }
    }

    @Test func problemsInsideAPartyAndAnInboxAreAllReportedWithTheirEntrysIndex() throws {
        let tree = try JSONValue.parse(
            #"""
            {"listen": {"hots": "x", "prot": 1},
             "parties": [{"kind": "jobcentre", "calendar": "wales", "tokens": ["short"]},
                         {"id": "cwp-q", "kind": "cwp", "tokens": ["a-token-long-enough-2"],
                          "inboxes": {"spoc": {"secrets": [], "concurrency": -1, "timeout": "1e17s", "colour": "red"}, "dma": "pull"}},
                         {"id": "cwp-q", "kind": "cwp", "tokens": ["a-token-long-enough-3", "a-token-long-enough-3"],
                          "inboxes": {"spoc": {"url": "https://x", "secrets": ["whsec_%%%"], "caBundle": "/nonexistent/ca.pem"}}},
                         {"id": "cwp-r", "kind": "kiosk"}]}
            """#)
        let error = #expect(throws: ConfigProblems.self) { try DaemonConfig.parse(tree, base: URL(fileURLWithPath: "/etc/liaison")) }
        let keys = Set(error?.problems.map(\.key) ?? [])
        for key in [
            "listen.hots", "listen.prot", "parties[0].id", "parties[0].calendar", "parties[0].tokens[0]",
            "parties[1].inboxes.spoc.url", "parties[1].inboxes.spoc.secrets", "parties[1].inboxes.spoc.concurrency",
            "parties[1].inboxes.spoc.timeout", "parties[1].inboxes.spoc.colour", "parties[1].inboxes.dma",
            "parties[2].id", "parties[2].tokens", "parties[2].inboxes.spoc.secrets[0]", "parties[2].inboxes.spoc.caBundle",
            "parties[3].kind", "parties[3]",
        ] {
            #expect(keys.contains(key), "\(key) not in \(keys.sorted())")
        }
    }

    @Test func namedFilesMustBeReadableUnlessOnlyTheStoreIsWanted() throws {
        let tree = try JSONValue.parse(
            #"""
            {"tls": {"certificate": "/nonexistent/server.pem", "key": "/nonexistent/server-key.pem", "clientCA": "/nonexistent/ca.pem"},
             "parties": [{"id": "p", "kind": "prime", "tokens": ["a-token-long-enough-1"],
                          "inboxes": {"contact": {"url": "https://x", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "clientCertificate": "/nonexistent/c.pem",
                                                  "clientKey": "/nonexistent/k.pem"}}}]}
            """#)
        let base = URL(fileURLWithPath: "/etc/liaison")
        let error = #expect(throws: ConfigProblems.self) { try DaemonConfig.parse(tree, base: base) }
        #expect(
            Set(error?.problems.map(\.key) ?? []) == [
                "tls.certificate", "tls.key", "tls.clientCA", "parties[0].inboxes.contact.clientCertificate",
                "parties[0].inboxes.contact.clientKey",
            ])
        // An operator's queue command needs only the store: it reads the configuration without the files.
        #expect(try DaemonConfig.parse(tree, base: base, checkingFiles: false).storePath == "/etc/liaison/data/liaison.sqlite")
    }

    @Test func anInstancesOwnDataFolderTakesTheDefaultStoreButNotOneNamedOrShared() throws {
        func parse(_ extra: String) throws -> DaemonConfig {
            let tree = try JSONValue.parse(#"{"parties": [{"id": "p", "kind": "prime", "tokens": ["a-token-long-enough-1"]}]"# + extra + "}")
            return try DaemonConfig.parse(tree, base: URL(fileURLWithPath: "/etc/liaison"), checkingFiles: false)
        }
        var embedded = try parse("")
        embedded.moveData(to: "/var/lib/liaison/8444")
        #expect(embedded.dataDirectory == "/var/lib/liaison/8444")
        #expect(embedded.storePath == "/var/lib/liaison/8444/liaison.sqlite")
        if case .file(let path) = embedded.store { #expect(path == "/var/lib/liaison/8444/liaison.sqlite") } else { Issue.record("still a file") }

        var named = try parse(#", "store": "/srv/liaison.sqlite""#)
        named.moveData(to: "/var/lib/liaison/8444")
        #expect(named.dataDirectory == "/var/lib/liaison/8444")
        if case .file(let path) = named.store { #expect(path == "/srv/liaison.sqlite") } else { Issue.record("still a file") }

        var shared = try parse(#", "store": "postgresql://liaison@db:5432/liaison""#)
        shared.moveData(to: "/var/lib/liaison/8444")
        #expect(shared.dataDirectory == "/var/lib/liaison/8444")
        if case .postgres(let settings) = shared.store { #expect(settings.host == "db") } else { Issue.record("still PostgreSQL") }
    }

    @Test func inboxURLsPartyIDsAndSigningSecretsThatWouldFailLaterAreCaughtNow() throws {
        let good = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let tree = try JSONValue.parse(
            #"""
            {"parties": [
              {"id": "jcp-a", "kind": "jobcentre", "calendar": "scotland", "tokens": ["a-token-long-enough-1"], "inboxes": {
                "spoc": {"url": "https://spoc .jcp-a.example/hook", "secrets": ["plain-shared-secret"]},
                "dma": {"url": "https://[fe80::1::2]:8443/hook", "secrets": ["whsec_not base64!"]}}},
              {"id": "jcp b/x", "kind": "jobcentre", "calendar": "scotland", "tokens": ["a-token-long-enough-2"], "inboxes": {
                "spoc": {"url": "https://[::1]:8443/hook", "secrets": ["\#(good)"]},
                "dma": {"url": "https://jcp-b.example:99999/hook", "secrets": ["whsec_c2hvcnQ="]}}},
              {"id": "-prime", "kind": "prime", "tokens": ["a-token-long-enough-3"], "inboxes": {
                "contact": {"url": "https://10.0.0.7/hook", "secrets": ["\#(good)"]}}}]}
            """#)
        let error = #expect(throws: ConfigProblems.self) { try DaemonConfig.parse(tree, base: URL(fileURLWithPath: "/etc/liaison")) }
        let problems = Dictionary((error?.problems ?? []).map { ($0.key, $0.problem) }, uniquingKeysWith: { $0 + "; " + $1 })
        #expect(problems["parties[0].inboxes.spoc.url"]?.contains("invalid host") == true)
        #expect(problems["parties[0].inboxes.spoc.secrets[0]"]?.contains("whsec_") == true)
        #expect(problems["parties[0].inboxes.dma.url"]?.contains("invalid IPv6 address") == true)
        #expect(problems["parties[0].inboxes.dma.secrets[0]"]?.contains("base64") == true)
        #expect(problems["parties[1].id"]?.contains("plain identifier") == true)
        #expect(problems["parties[1].inboxes.dma.url"]?.contains("invalid port") == true)
        #expect(problems["parties[1].inboxes.dma.secrets[0]"]?.contains("too short") == true)
        #expect(problems["parties[2].id"]?.contains("start with a letter or a digit") == true)
        // A bracketed IPv6 literal, an IPv4 address and a valid secret pass.
        #expect(problems["parties[1].inboxes.spoc.url"] == nil && problems["parties[1].inboxes.spoc.secrets[0]"] == nil)
        #expect(problems["parties[2].inboxes.contact.url"] == nil)
        #expect(error?.problems.count == 8, "\(problems)")
    }

    @Test func durationsAreFiniteAndBounded() throws {
        for (setting, value) in [("lifetime", "1e999d"), ("drain", "infs"), ("lifetime", "400d"), ("pullLease", "0.5ms")] {
            let tree = try JSONValue.parse(
                #"{"delivery": {"\#(setting)": "\#(value)"}, "parties": [{"id": "p", "kind": "prime", "tokens": ["a-token-long-enough-1"]}]}"#)
            let error = #expect(throws: ConfigProblems.self) { try DaemonConfig.parse(tree, base: URL(fileURLWithPath: "/etc/liaison")) }
            #expect(error?.problems.map(\.key) == ["delivery.\(setting)"])
        }
    }

    @Test func aYAMLErrorSaysWhereWithoutQuotingTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-yaml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("liaison.yaml")
        try "parties:\n  - {id: cwp-z, kind: cwp, tokens: [SECRET-TOKEN-0123456789]}\n  - {id: cwp-y, kind: cwp, kind: prime}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigProblems.self) { try DaemonConfig.load(from: file) }
        let problem = error?.problems.first?.problem ?? ""
        #expect(problem.contains("line 3"))
        #expect(!problem.contains("SECRET"))
    }

    @Test func durationsTakeUnits() throws {
        let tree = try JSONValue.parse(
            #"{"delivery": {"retrySchedule": ["250ms", "10s", "5m", "2h"], "lifetime": "5d"}, "parties": [{"id": "p", "kind": "prime", "tokens": ["a-token-long-enough-1"]}]}"#
        )
        let config = try DaemonConfig.parse(tree, base: URL(fileURLWithPath: "/etc/liaison"))
        #expect(config.delivery.retrySchedule == [0.25, 10, 300, 7200])
        #expect(config.delivery.lifetimeSeconds == 432_000)
        #expect(config.rulesPath == "/etc/liaison/rules.yaml")
    }
}
