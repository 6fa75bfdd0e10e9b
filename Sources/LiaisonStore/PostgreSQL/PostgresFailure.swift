import Foundation
import NIOCore
import PostgresNIO

/// What went wrong talking to PostgreSQL, in words safe for a log: the server's message and SQLSTATE, never
/// a statement's values (postgres-nio's own description hides everything; its full one shows the binds,
/// which can hold a NINO or a body).
public struct PostgresFailure: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// No connection could be made (refused, timed out, name not found, TLS failed).
        case unreachable
        /// The server refused the login (a wrong password, no such role, not allowed to connect).
        case loginRefused
        /// A connection broke mid-work, or the server is shutting down or starting up.
        case connectionLost
        /// A statement the server refused, with its SQLSTATE.
        case server(sqlState: String)
        /// Every connection of the pool stayed busy for the statement timeout.
        case busy
        /// The server does not keep commits durably (`synchronous_commit` or `fsync` off).
        case notDurable
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var sqlState: String? {
        if case .server(let state) = kind { state } else { nil }
    }

    /// The database cannot be reached or used just now: requests are answered 503 with Retry-After, and the
    /// daemon tries again by itself.
    public var isUnavailable: Bool {
        switch kind {
        case .unreachable, .loginRefused, .connectionLost, .busy: true
        case .server(let state): state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300"
        case .notDurable: false
        }
    }

    /// A transaction that lost a race with another instance's (a deadlock, a serialization failure, or an id
    /// stored by the other first): run again, it sees what the other committed.
    public var isRace: Bool {
        ["40001", "40P01", "23505"].contains(sqlState ?? "")
    }

    public var description: String {
        switch kind {
        case .unreachable: "cannot reach PostgreSQL: \(message)"
        case .loginRefused: "PostgreSQL refused the login: \(message)"
        case .connectionLost: "the connection to PostgreSQL was lost: \(message)"
        case .server(let state): "PostgreSQL: \(message) (SQLSTATE \(state))"
        case .busy: "every PostgreSQL connection stayed busy: \(message)"
        case .notDurable: "PostgreSQL would not keep commits durably: \(message)"
        }
    }

    /// The failure an error from postgres-nio or NIO stands for.
    /// - Parameter connecting: whether it came while a connection was being made.
    static func from(_ error: any Error, connecting: Bool = false) -> PostgresFailure {
        if let failure = error as? PostgresFailure { return failure }
        if let error = error as? PSQLError {
            if error.code == .server, let state = error.serverInfo?[.sqlState] {
                // Data exceptions (class 22) quote the value refused: only the state is kept.
                let message = state.hasPrefix("22") ? "invalid data" : (error.serverInfo?[.message] ?? "error")
                if state.hasPrefix("28") || state == "3D000" { return PostgresFailure(.loginRefused, message) }
                if connecting, state.hasPrefix("57P") || state == "53300" { return PostgresFailure(.unreachable, message) }
                return PostgresFailure(.server(sqlState: state), message)
            }
            let underlying = error.underlying.map { "\($0)" } ?? "\(error.code)"
            switch error.code {
            case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
                return PostgresFailure(.loginRefused, "\(error.code)")
            case .sslUnsupported:
                return PostgresFailure(.unreachable, "the server does not offer TLS, which sslmode requires")
            default:
                return PostgresFailure(connecting ? .unreachable : .connectionLost, underlying)
            }
        }
        if error is ChannelError || error is IOError || error is NIOConnectionError {
            return PostgresFailure(connecting ? .unreachable : .connectionLost, "\(error)")
        }
        return PostgresFailure(connecting ? .unreachable : .connectionLost, "\(type(of: error)): \(error)")
    }
}
