import Foundation
import LiaisonCore
import LiaisonStore

/// The daemon's configuration (`config/liaison.yaml`): where it listens, its parties with their
/// credentials and inboxes, the store, limits and the delivery schedule.
public struct DaemonConfig: Sendable {
    /// How an inbox receives its copies.
    public enum InboxMode: Sendable {
        /// Liaison POSTs each copy to the endpoint.
        case push(PushEndpoint)
        /// The party fetches with `GET /v1/inbox/{role}` and acknowledges.
        case pull
    }

    /// An HTTPS endpoint Liaison delivers to.
    public struct PushEndpoint: Sendable {
        public var url: String
        /// Standard Webhooks signing secrets; several during rotation, all signed with.
        public var secrets: [String]
        public var clientCertificate: String?
        public var clientKey: String?
        /// CA bundle to verify the endpoint with; the system's when absent.
        public var caBundle: String?
        /// Transfers in flight at once.
        public var concurrency: Int
        public var timeoutSeconds: Double
    }

    /// One party with its credentials and inboxes.
    public struct PartyConfig: Sendable {
        public var party: Party
        /// Bearer tokens this party may present.
        public var tokens: [String]
        /// The client-certificate common name that identifies this party over mutual TLS.
        public var certificateName: String?
        public var inboxes: [InboxRole: InboxMode]
    }

    /// The delivery schedule (PROTOCOL.md "Delivery").
    public struct Delivery: Sendable {
        /// Delays before each retry, in seconds; the last repeats.
        public var retrySchedule: [Double]
        /// Fraction of each delay added or removed at random.
        public var jitter: Double
        /// How long a copy is retried before it expires.
        public var lifetimeSeconds: Double
        /// How long a pulled copy stays leased before it is offered again.
        public var pullLeaseSeconds: Double
        /// How long shutdown waits for transfers in flight.
        public var drainSeconds: Double
        /// Consecutive failed attempts that open a push inbox's circuit breaker.
        public var circuitFailures = 5
        /// The delay before an open circuit's first probe, doubling with each failed probe up to the maximum.
        public var circuitProbeSeconds: Double = 30
        public var circuitProbeMaximumSeconds: Double = 600
    }

    public var host: String
    public var port: Int
    /// Where generated keys, certificates and the store live.
    public var dataDirectory: String
    /// The embedded store's file: where it is when `store` is the file (the default), unused otherwise.
    public var storePath: String
    /// Where the store is: the SQLite file, or a PostgreSQL database shared by several instances.
    public var store: StoreLocation
    /// How long the daemon waits at start for a PostgreSQL server it cannot reach yet, in seconds.
    public var storeWaitSeconds: Double = 60
    /// This instance's name among several on one database, kept with the copies it sends, so that a restart
    /// takes back what it left in flight; the host's name and port by default.
    public var instance: String
    public var serverCertificate: String?
    public var serverKey: String?
    /// CA bundle that client certificates must chain to.
    public var clientCA: String?
    public var maxBodyBytes: Int
    /// How long a request's head and body may take to arrive, from its first byte; a slower client is
    /// answered 408 and disconnected.
    public var requestTimeoutSeconds: Double
    /// Requests per second per party (token bucket), with its burst.
    public var ratePerSecond: Double
    public var rateBurst: Double
    public var delivery: Delivery
    public var parties: [PartyConfig]
    public var rulesPath: String
    public var holidaysPath: String
    /// The parties that may read `/metrics`, which shows every inbox's queue: those named under
    /// `metricsReaders`, else the jobcentres (the Department's own offices), never the providers by default.
    public var metricsReaders: Set<String>
    /// The staff pages' settings.
    public var staff = StaffConfig()

    /// The directory of parties.
    public func directory() throws -> PartyDirectory { try PartyDirectory(parties.map(\.party)) }

    /// Every inbox of every party: each role its kind receives.
    public var inboxAddresses: [Address] {
        parties.flatMap { party in InboxRole.roles(of: party.party.kind).map { Address(party.party.id, $0) } }
    }

    /// The inboxes that are pulled, not pushed.
    public var pullAddresses: [Address] {
        inboxAddresses.filter { address in
            if case .pull = inbox(address) { true } else { false }
        }
    }

    /// The inbox mode of an address; roles a party does not configure are pull inboxes.
    public func inbox(_ address: Address) -> InboxMode? {
        guard let party = parties.first(where: { $0.party.id == address.party }) else { return nil }
        guard InboxRole.roles(of: party.party.kind).contains(address.role) else { return nil }
        return party.inboxes[address.role] ?? .pull
    }
}

/// Every problem found in a configuration file, each with its key.
public struct ConfigProblems: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigError]

    public var description: String {
        problems.map { "\($0.key): \($0.problem)" }.joined(separator: "\n")
    }
}

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
        var collector = Collector(checksFiles: checkingFiles)
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
            root.optionalValue("store"), defaultPath: dataDirectory + "/liaison.sqlite", path: path, collector: &collector)
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
                if let party = Collector.nested(&collector, { try partyConfig(entry, key: "parties[\(index)]", path: path, collector: &$0) }) ?? nil {
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
        let staff = staffConfig(&staffSection, parties: parties, collector: &collector)
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
        _ entry: JSONValue, key: String, path: (String) -> String, collector: inout Collector
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
                if let endpoint = Collector.nested(&collector, { try pushEndpoint(value, key: roleKey, path: path, collector: &$0) }) ?? nil,
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
        _ value: JSONValue, key: String, path: (String) -> String, collector: inout Collector
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

    /// Gathers problems instead of stopping at the first.
    struct Collector {
        var problems: [ConfigError] = []
        /// Whether files named must be readable now.
        var checksFiles = true

        /// `file`, with a problem under `key` when it must be readable and is not.
        mutating func readable(_ file: String?, key: String) -> String? {
            if checksFiles, let file, !FileManager.default.isReadableFile(atPath: file) {
                problems.append(ConfigError(key: key, problem: "\(file) cannot be read"))
            }
            return file
        }

        @discardableResult
        mutating func attempt<T>(_ work: () throws -> T?) -> T? {
            do {
                return try work()
            } catch let error as ConfigError {
                problems.append(error)
            } catch {
                problems.append(ConfigError(key: "(config)", problem: "\(error)"))
            }
            return nil
        }

        /// Runs work that itself collects problems, adding what it throws.
        static func nested<T>(_ collector: inout Collector, _ work: (inout Collector) throws -> T) -> T? {
            do {
                return try work(&collector)
            } catch let error as ConfigError {
                collector.problems.append(error)
            } catch {
                collector.problems.append(ConfigError(key: "(config)", problem: "\(error)"))
            }
            return nil
        }
    }
}

extension Optional {
    func orThrow(_ error: @autoclosure () -> any Error) throws -> Wrapped {
        guard let value = self else { throw error() }
        return value
    }
}
