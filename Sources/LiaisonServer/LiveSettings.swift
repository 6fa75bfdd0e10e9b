import Foundation
import LiaisonCore
import LiaisonDelivery
import LiaisonRuntime
import Logging
import Synchronization

/// What a reload (SIGHUP) may change while the daemon runs: the configuration's parties, credentials, inboxes,
/// limits and delivery schedule, the rules and the bank holidays, with what is made from them (the router,
/// the authenticator, the OpenAPI document). Swapped whole: a request, a shared commit or a timer tick
/// takes one snapshot and uses it throughout, so nothing sees half of one configuration and half of another.
final class LiveSettings: Sendable {
    struct Snapshot: Sendable {
        let config: DaemonConfig
        let rules: RuleSet
        let router: LiaisonCore.SubmissionDesk
        let authenticator: Authenticator
        let openAPI: String

        /// Reads the rules and bank holidays `config` names and makes the rest from them.
        /// - Throws: the first file that cannot be read or is wrong (a `ConfigProblems` lists every problem).
        init(config: DaemonConfig) throws {
            let rules = try RuleFiles.loadRules(at: URL(fileURLWithPath: config.rulesPath))
            let calendars = try RuleFiles.loadCalendars(at: URL(fileURLWithPath: config.holidaysPath))
            self.config = config
            self.rules = rules
            router = LiaisonCore.SubmissionDesk(context: RuleContext(directory: try config.directory(), rules: rules, calendars: calendars))
            authenticator = Authenticator(parties: config.parties)
            openAPI = OpenAPIDocument.make(rules: rules).canonicalText
        }

        var directory: PartyDirectory { router.rules.context.directory }
    }

    private let current: Mutex<Snapshot>

    init(_ snapshot: Snapshot) {
        current = Mutex(snapshot)
    }

    var snapshot: Snapshot { current.withLock { $0 } }

    func replace(with snapshot: Snapshot) {
        current.withLock { $0 = snapshot }
    }

    /// The settings a reload cannot change, named by key, that differ between `old` and `new`: they take
    /// effect at the next restart (the listening socket, TLS, the store and the data folder are made once).
    static func restartOnly(_ old: DaemonConfig, _ new: DaemonConfig) -> [String] {
        var changed: [String] = []
        if old.host != new.host { changed.append("listen.host") }
        if old.port != new.port { changed.append("listen.port") }
        if old.dataDirectory != new.dataDirectory { changed.append("dataDirectory") }
        if old.store.description != new.store.description { changed.append("store") }
        if old.instance != new.instance { changed.append("instance") }
        if old.serverCertificate != new.serverCertificate || old.serverKey != new.serverKey || old.clientCA != new.clientCA {
            changed.append("tls")
        }
        if old.requestTimeoutSeconds != new.requestTimeoutSeconds { changed.append("limits.requestTimeout") }
        if old.ratePerSecond != new.ratePerSecond || old.rateBurst != new.rateBurst { changed.append("limits.requestsPerSecondPerParty") }
        if old.delivery.drainSeconds != new.delivery.drainSeconds { changed.append("delivery.drain") }
        if old.staff.signIn != new.staff.signIn { changed.append("staff.signIn") }
        return changed
    }
}

/// A value shared between threads and closures, behind a lock (a `Mutex` cannot be captured by an escaping
/// closure).
final class Guarded<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    var value: Value {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
}
