import Foundation
import LiaisonCore
import LiaisonStore

// Reading `liaison.yaml` into a `DaemonConfig`: every problem collected with its key (the types are in
// DaemonConfig.swift, the store's settings in DaemonConfig+Store.swift).
extension DaemonConfig {
    /// Reads and checks a daemon configuration file. Relative paths are taken from the file's folder.
    /// - Parameter checkingFiles: whether the certificate, key and CA files it names must be readable: the
    ///   daemon needs them, but an operator's queue command, which only needs the store, need not read them.
    /// - Throws: `ConfigProblems` listing every problem found (not just the first).
    public static func load(from url: URL, checkingFiles: Bool = true) throws -> DaemonConfig {
        let tree: JSONValue
        do {
            tree = try RuleFiles.readTree(at: url)
        } catch let error as ConfigError {
            throw ConfigProblems(problems: [error])
        }
        return try parse(tree, base: url.deletingLastPathComponent(), checkingFiles: checkingFiles)
    }

    /// A path from a configuration file: absolute, or relative to the file's folder.
    static func resolve(_ text: String, base: URL) -> String {
        text.hasPrefix("/") ? text : base.appendingPathComponent(text).standardizedFileURL.path
    }

    /// Where a configuration file's rules and bank-holiday data are, however much else is wrong with it:
    /// the files it names, else those beside it by default; nil when the file cannot be read at all.
    public static func ruleFilePaths(of url: URL) -> (rules: String, holidays: String)? {
        guard let tree = try? RuleFiles.readTree(at: url) else { return nil }
        let base = url.deletingLastPathComponent()
        func named(_ key: String, _ fallback: String) -> String {
            resolve(tree[key]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? fallback, base: base)
        }
        return (named("rules", RuleFiles.rulesFileName), named("holidays", RuleFiles.holidaysFileName))
    }

    /// Reads a configuration tree.
    /// - Throws: `ConfigProblems` listing every problem.
    public static func parse(_ tree: JSONValue, base: URL, checkingFiles: Bool = true) throws -> DaemonConfig {
        let collector = Collector(checksFiles: checkingFiles)
        func path(_ text: String) -> String { resolve(text, base: base) }
        guard var root = collector.attempt({ try ConfigReader(tree) }) else {
            throw ConfigProblems(problems: collector.problems)
        }

        var listen = collector.attempt { try root.optionalSection("listen") }
        let host = collector.attempt { try listen?.optionalString("host") } ?? "127.0.0.1"
        let port = collector.attempt { try listen?.optionalInteger("port", in: 0...65535) } ?? 8443
        collector.problems += listen?.unknownKeys() ?? []

        let dataDirectory = path(collector.attempt { try root.optionalString("dataDirectory") } ?? "data")
        let storeSettings = storeSettings(
            root.optionalValue("store"), defaultPath: dataDirectory + "/liaison.sqlite", path: path, collector: collector)
        let storePath: String
        if case .file(let file) = storeSettings.location { storePath = file } else { storePath = dataDirectory + "/liaison.sqlite" }
        let instance = collector.attempt { try root.optionalString("instance") } ?? "\(ProcessInfo.processInfo.hostName):\(port)"
        let rulesPath = path(collector.attempt { root.has("rules") ? try root.string("rules") : nil } ?? RuleFiles.rulesFileName)
        let holidaysPath = path(
            collector.attempt { root.has("holidays") ? try root.string("holidays") : nil } ?? RuleFiles.holidaysFileName)

        var tls = collector.attempt { try root.optionalSection("tls") }
        let serverCertificate = collector.readable(collector.attempt { try tls?.optionalString("certificate").map(path) }, key: "tls.certificate")
        let serverKey = collector.readable(collector.attempt { try tls?.optionalString("key").map(path) }, key: "tls.key")
        let clientCA = collector.readable(collector.attempt { try tls?.optionalString("clientCA").map(path) }, key: "tls.clientCA")
        if (serverCertificate == nil) != (serverKey == nil) {
            collector.problems.append(ConfigError(key: "tls", problem: "certificate and key go together"))
        }
        collector.problems += tls?.unknownKeys() ?? []

        var limits = collector.attempt { try root.optionalSection("limits") }
        let maxBodyBytes = collector.attempt { try limits?.optionalInteger("maxBodyBytes", in: 1024...(64 << 20)) } ?? 262_144
        let rate = Double(collector.attempt { try limits?.optionalInteger("requestsPerSecondPerParty", in: 1...10_000_000) } ?? 1_000)
        let burst = Double(collector.attempt { try limits?.optionalInteger("burstPerParty", in: 1...10_000_000) } ?? 5_000)
        var requestTimeout: Double = 30
        if let text = collector.attempt({ try limits?.optionalString("requestTimeout") }),
            let seconds = collector.attempt({ try duration(text, key: "limits.requestTimeout") })
        {
            if seconds >= 1 {
                requestTimeout = seconds
            } else {
                collector.problems.append(ConfigError(key: "limits.requestTimeout", problem: "must be at least 1s"))
            }
        }
        collector.problems += limits?.unknownKeys() ?? []

        var deliverySection = collector.attempt { try root.optionalSection("delivery") }
        var delivery = Delivery(
            retrySchedule: [10, 30, 120, 600, 1800, 3600], jitter: 0.2, lifetimeSeconds: 5 * 86_400,
            pullLeaseSeconds: 300, drainSeconds: 10)
        if var section = deliverySection {
            if let schedule = collector.attempt({ section.has("retrySchedule") ? try section.strings("retrySchedule") : nil }) {
                let parsed = schedule.enumerated().compactMap { index, text in
                    collector.attempt { try duration(text, key: "delivery.retrySchedule[\(index)]") }
                }
                if schedule.isEmpty {
                    collector.problems.append(ConfigError(key: "delivery.retrySchedule", problem: "needs at least one delay"))
                } else if parsed.count == schedule.count {
                    delivery.retrySchedule = parsed
                }
            }
            if let jitter = collector.attempt({ try section.optionalInteger("jitterPercent", in: 0...100) }) {
                delivery.jitter = Double(jitter) / 100
            }
            if let failures = collector.attempt({ try section.optionalInteger("circuitFailures", in: 1...10_000) }) {
                delivery.circuitFailures = failures
            }
            for (key, keyPath) in [
                ("lifetime", \Delivery.lifetimeSeconds), ("pullLease", \.pullLeaseSeconds), ("drain", \.drainSeconds),
                ("circuitProbe", \.circuitProbeSeconds), ("circuitProbeMaximum", \.circuitProbeMaximumSeconds),
            ] {
                if let text = collector.attempt({ try section.optionalString(key) }),
                    let seconds = collector.attempt({ try duration(text, key: "delivery.\(key)") })
                {
                    delivery[keyPath: keyPath] = seconds
                }
            }
            collector.problems += section.unknownKeys()
            deliverySection = section
        }

        // Each party with its index in the file, so that a problem names the entry it is in even when an
        // earlier entry could not be read.
        var listed: [(index: Int, config: PartyConfig)] = []
        if let list = collector.attempt({ try root.value("parties").arrayValue.orThrow(ConfigError(key: "parties", problem: "must be a list")) }) {
            for (index, entry) in list.enumerated() {
                if let party = collector.attempt({ try partyConfig(entry, key: "parties[\(index)]", path: path, collector: collector) }) {
                    listed.append((index, party))
                }
            }
        }
        let parties = listed.map(\.config)
        var seen = Set<String>()
        var tokens = Set<String>()
        var names = Set<String>()
        for (index, party) in listed {
            if !seen.insert(party.party.id).inserted {
                collector.problems.append(ConfigError(key: "parties[\(index)].id", problem: "\(party.party.id) is listed twice"))
            }
            for token in Set(party.tokens) where !tokens.insert(token).inserted {
                collector.problems.append(ConfigError(key: "parties[\(index)].tokens", problem: "a token is shared with another party"))
            }
            if party.tokens.count != Set(party.tokens).count {
                collector.problems.append(ConfigError(key: "parties[\(index)].tokens", problem: "lists the same token twice"))
            }
            if let name = party.certificateName, !names.insert(name).inserted {
                collector.problems.append(ConfigError(key: "parties[\(index)].certificateName", problem: "\(name) names another party too"))
            }
        }
        if parties.isEmpty, collector.problems.isEmpty {
            collector.problems.append(ConfigError(key: "parties", problem: "lists no parties"))
        }
        var metricsReaders = Set(parties.filter { $0.party.kind == .jobcentre }.map(\.party.id))
        if let named = collector.attempt({ root.has("metricsReaders") ? try root.strings("metricsReaders") : nil }) {
            for (index, id) in named.enumerated() where !seen.contains(id) {
                collector.problems.append(ConfigError(key: "metricsReaders[\(index)]", problem: "\(id) is not a configured party"))
            }
            metricsReaders = Set(named)
        }
        var staffSection = collector.attempt { try root.optionalSection("staff") }
        let staff = staffConfig(&staffSection, parties: parties, collector: collector)
        collector.problems += root.unknownKeys()

        var config = DaemonConfig(
            host: host, port: port, dataDirectory: dataDirectory, storePath: storePath, store: storeSettings.location, instance: instance,
            serverCertificate: serverCertificate, serverKey: serverKey, clientCA: clientCA, maxBodyBytes: maxBodyBytes,
            requestTimeoutSeconds: requestTimeout, ratePerSecond: rate, rateBurst: burst, delivery: delivery, parties: parties, rulesPath: rulesPath,
            holidaysPath: holidaysPath, metricsReaders: metricsReaders)
        config.staff = staff
        config.storeWaitSeconds = storeSettings.waitAtStart
        guard collector.problems.isEmpty else { throw ConfigProblems(problems: collector.problems) }
        return config
    }

    /// One party, every problem in it collected; nil when its id or kind cannot be read.
    private static func partyConfig(
        _ entry: JSONValue, key: String, path: (String) -> String, collector: Collector
    ) throws -> PartyConfig? {
        var reader = try ConfigReader(entry, path: key)
        let id = collector.attempt { try reader.string("id") }
        if let id, let problem = ConfigValues.partyIDProblem(id) {
            collector.problems.append(ConfigError(key: reader.key("id"), problem: problem))
        }
        let kindName = collector.attempt { try reader.string("kind") }
        let kind = kindName.flatMap(PartyKind.init(rawValue:))
        if let kindName, kind == nil {
            collector.problems.append(ConfigError(key: reader.key("kind"), problem: "must be jobcentre, prime or cwp, not \(kindName)"))
        }
        var calendar: CalendarRegion?
        if kind == nil {
            _ = reader.optionalValue("calendar")
        } else if kind == .jobcentre {
            let name = collector.attempt { try reader.string("calendar") }
            calendar = name.flatMap(CalendarRegion.init(rawValue:))
            if let name, calendar == nil {
                collector.problems.append(
                    ConfigError(key: reader.key("calendar"), problem: "must be england-and-wales, scotland or northern-ireland, not \(name)"))
            }
        } else if reader.has("calendar") {
            collector.problems.append(ConfigError(key: reader.key("calendar"), problem: "only jobcentres have a calendar"))
            _ = reader.optionalValue("calendar")
        }
        let tokens = reader.has("tokens") ? (collector.attempt { try reader.strings("tokens") } ?? []) : []
        _ = reader.optionalValue("tokens")
        for (index, token) in tokens.enumerated() where token.utf8.count < 16 {
            collector.problems.append(ConfigError(key: "\(reader.key("tokens"))[\(index)]", problem: "is shorter than 16 characters"))
        }
        let certificateName = collector.attempt { try reader.optionalString("certificateName") }
        if tokens.isEmpty, certificateName == nil {
            collector.problems.append(ConfigError(key: key, problem: "needs tokens or a certificateName to authenticate"))
        }
        var inboxes: [InboxRole: InboxMode] = [:]
        if reader.has("inboxes"), var section = collector.attempt({ try reader.section("inboxes") }) {
            for roleName in section.keys {
                let roleKey = section.key(roleName)
                let role = InboxRole(rawValue: roleName)
                if let kind, role.map({ InboxRole.roles(of: kind).contains($0) }) != true {
                    let roles = InboxRole.roles(of: kind).map(\.rawValue).joined(separator: ", ")
                    collector.problems.append(ConfigError(key: roleKey, problem: "is not an inbox of a \(kind.rawValue) (\(roles))"))
                }
                guard let value = collector.attempt({ try section.value(roleName) }) else { continue }
                if value.stringValue == "pull" {
                    if let role { inboxes[role] = .pull }
                    continue
                }
                if let endpoint = collector.attempt({ try pushEndpoint(value, key: roleKey, path: path, collector: collector) }),
                    let role
                {
                    inboxes[role] = .push(endpoint)
                }
            }
            collector.problems += section.unknownKeys()
        }
        _ = reader.optionalValue("inboxes")
        collector.problems += reader.unknownKeys()
        // Returned even with problems of its own (the whole configuration fails anyway), so that it still takes
        // part in the checks across parties: duplicate ids, shared tokens and certificate names.
        guard let id, let kind else { return nil }
        return PartyConfig(
            party: Party(id: id, kind: kind, calendar: calendar), tokens: tokens, certificateName: certificateName,
            inboxes: inboxes)
    }

    /// One push inbox, every problem in it collected; nil when its url or secrets cannot be read.
    private static func pushEndpoint(
        _ value: JSONValue, key: String, path: (String) -> String, collector: Collector
    ) throws -> PushEndpoint? {
        var reader = try ConfigReader(value, path: key)
        let url = collector.attempt { try reader.string("url") }
        if let url, let problem = ConfigValues.inboxURLProblem(url) {
            collector.problems.append(ConfigError(key: reader.key("url"), problem: problem))
        }
        let secrets = collector.attempt { try reader.strings("secrets") }
        // A secret must be in the Standard Webhooks form and decode, or the receiver could never verify a signature.
        for (index, secret) in (secrets ?? []).enumerated() {
            if let problem = ConfigValues.signingSecretProblem(secret) {
                collector.problems.append(ConfigError(key: "\(reader.key("secrets"))[\(index)]", problem: problem))
            }
        }
        if secrets?.isEmpty == true {
            collector.problems.append(ConfigError(key: reader.key("secrets"), problem: "needs at least one signing secret"))
        }
        func optionalPath(_ name: String) -> String? {
            collector.readable(collector.attempt { try reader.optionalString(name).map(path) }, key: reader.key(name))
        }
        let certificate = optionalPath("clientCertificate")
        let key = optionalPath("clientKey")
        if (certificate == nil) != (key == nil) {
            collector.problems.append(ConfigError(key: reader.key("clientKey"), problem: "clientCertificate and clientKey go together"))
        }
        let caBundle = optionalPath("caBundle")
        let concurrency = collector.attempt { try reader.optionalInteger("concurrency", in: 1...1024) } ?? 8
        var timeout = 30.0
        if let text = collector.attempt({ try reader.optionalString("timeout") }) {
            timeout = collector.attempt { try duration(text, key: reader.key("timeout"), within: 0.001...3600) } ?? timeout
        }
        collector.problems += reader.unknownKeys()
        guard let url, let secrets else { return nil }
        return PushEndpoint(
            url: url, secrets: secrets, clientCertificate: certificate, clientKey: key, caBundle: caBundle,
            concurrency: concurrency, timeoutSeconds: timeout)
    }

    /// Parses `250ms`, `10s`, `5m`, `2h`, `5d`, and checks it is within `range` (in seconds; by default from a
    /// millisecond to a year, so that no setting is infinite or overflows when turned into milliseconds).
    static func duration(_ text: String, key: String, within range: ClosedRange<Double> = 0.001...(366 * 86_400)) throws -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count)), number.isFinite, number > 0 else { continue }
            let seconds = number * scale
            guard range.contains(seconds) else {
                throw ConfigError(
                    key: key, problem: "must be from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound)), not \(text)")
            }
            return seconds
        }
        throw ConfigError(key: key, problem: "must be a duration such as 250ms, 10s, 5m, 2h or 5d, not \(text)")
    }

    private static func format(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds.truncatingRemainder(dividingBy: 86_400) == 0 { return "\(Int(seconds / 86_400))d" }
        if seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        return "\(Int(seconds))s"
    }

    /// The one problem collector of configuration reading (the rules' too).
    typealias Collector = ConfigProblemLog
}

extension ConfigProblemLog {
    /// `file`, with a problem under `key` when it must be readable and is not.
    func readable(_ file: String?, key: String) -> String? {
        if checksFiles, let file, !FileManager.default.isReadableFile(atPath: file) {
            problems.append(ConfigError(key: key, problem: "\(file) cannot be read"))
        }
        return file
    }
}

extension Optional {
    func orThrow(_ error: @autoclosure () -> any Error) throws -> Wrapped {
        guard let value = self else { throw error() }
        return value
    }
}
