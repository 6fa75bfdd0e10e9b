import Foundation
import LiaisonCore

/// The staff pages' settings (`staff:` in liaison.yaml): sessions, set-up links, sign-in limits, and the
/// accounts the daemon creates at start-up if they are missing (the example parties' main roles in the
/// shipped configuration, so that someone can try the pages at once).
public struct StaffConfig: Sendable {
    /// An account to create at start-up when its e-mail has none.
    public struct Account: Sendable, Equatable {
        public var email: String
        public var name: String
        public var party: String
        public var roles: [InboxRole]
    }

    /// A session ends after this long without a request (default 30 minutes).
    public var idleTimeoutSeconds: Double = 1800
    /// And this long after sign-in, however busy (default 12 hours).
    public var sessionLifetimeSeconds: Double = 12 * 3600
    /// How long a set-up link works (default 3 days).
    public var setupLinkSeconds: Double = 3 * 86_400
    /// Failed sign-ins in a row: answered at once up to `slowAfter`, then ever slower; the account locks at
    /// `lockAfter`, for `lockSeconds`.
    public var signIn = StaffSignInPolicy()
    /// Where set-up links point: the address people reach the daemon at (default `https://localhost:<port>`).
    public var publicURL: String?
    public var accounts: [Account] = []

    public init() {}

    /// The address people reach the daemon at, for a listening `port`.
    public func baseURL(port: Int) -> String { publicURL ?? "https://localhost:\(port)" }
}

extension DaemonConfig {
    /// Reads `staff:`; parties and roles are checked against the configured parties.
    static func staffConfig(_ section: inout ConfigReader?, parties: [PartyConfig], collector: Collector) -> StaffConfig {
        var staff = StaffConfig()
        guard var reader = section else { return staff }
        func seconds(_ key: String, within range: ClosedRange<Double>) -> Double? {
            guard let text = collector.attempt({ try reader.optionalString(key) }) else { return nil }
            return collector.attempt { try duration(text, key: "staff.\(key)", within: range) }
        }
        if let value = seconds("idleTimeout", within: 60...(24 * 3600)) { staff.idleTimeoutSeconds = value }
        if let value = seconds("sessionLifetime", within: 300...(7 * 86_400)) { staff.sessionLifetimeSeconds = value }
        if let value = seconds("setupLinkLifetime", within: 300...(30 * 86_400)) { staff.setupLinkSeconds = value }
        if let value = seconds("lockFor", within: 1...(7 * 86_400)) { staff.signIn.lockFor = value }
        if let value = collector.attempt({ try reader.optionalInteger("slowAfterFailures", in: 0...100) }) { staff.signIn.slowAfter = value }
        if let value = collector.attempt({ try reader.optionalInteger("lockAfterFailures", in: 1...100) }) { staff.signIn.lockAfter = value }
        if let url = collector.attempt({ try reader.optionalString("publicURL") }) {
            if URL(string: url)?.scheme == "https", URL(string: url)?.host?.isEmpty == false {
                staff.publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
            } else {
                collector.problems.append(ConfigError(key: "staff.publicURL", problem: "must be an https:// address, not \(url)"))
            }
        }
        if let list = collector.attempt({
            reader.has("accounts")
                ? try reader.value("accounts").arrayValue.orThrow(
                    ConfigError(key: "staff.accounts", problem: "must be a list")) : nil
        }) {
            let kinds = Dictionary(parties.map { ($0.party.id, $0.party.kind) }, uniquingKeysWith: { first, _ in first })
            for (index, entry) in list.enumerated() {
                let key = "staff.accounts[\(index)]"
                guard var account = collector.attempt({ try ConfigReader(entry, path: key) }) else { continue }
                let email = collector.attempt { try account.string("email") } ?? ""
                let name = collector.attempt { try account.string("name") } ?? ""
                let party = collector.attempt { try account.string("party") } ?? ""
                let roleNames = collector.attempt { try account.strings("roles") } ?? []
                collector.problems += account.unknownKeys()
                if !email.isEmpty, !StaffMember.isEmail(email) {
                    collector.problems.append(ConfigError(key: "\(key).email", problem: "must be an e-mail address"))
                }
                guard let kind = kinds[party] else {
                    if !party.isEmpty { collector.problems.append(ConfigError(key: "\(key).party", problem: "\(party) is not a configured party")) }
                    continue
                }
                var roles: [InboxRole] = []
                for (place, name) in roleNames.enumerated() {
                    if let role = InboxRole(rawValue: name), InboxRole.roles(of: kind).contains(role) {
                        roles.append(role)
                    } else {
                        let known = InboxRole.roles(of: kind).map(\.rawValue).joined(separator: ", ")
                        collector.problems.append(ConfigError(key: "\(key).roles[\(place)]", problem: "must be one of \(party)'s roles: \(known)"))
                    }
                }
                if roles.isEmpty, roleNames.isEmpty { collector.problems.append(ConfigError(key: "\(key).roles", problem: "lists no role")) }
                staff.accounts.append(StaffConfig.Account(email: StaffMember.normalised(email: email), name: name, party: party, roles: roles))
            }
        }
        collector.problems += reader.unknownKeys()
        section = reader
        return staff
    }
}
