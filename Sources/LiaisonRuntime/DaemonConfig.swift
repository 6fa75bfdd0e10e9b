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
