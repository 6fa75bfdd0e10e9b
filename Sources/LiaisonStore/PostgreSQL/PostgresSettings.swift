import Foundation

/// Where a PostgreSQL store is and how to reach it: read from a `postgresql://` URL as libpq reads one, with
/// the pool's size and the TLS options beside it.
///
/// `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE?sslmode=verify-full&sslrootcert=/etc/liaison/db-ca.pem`.
/// A password is better kept out of the URL: in `passwordFile`, or in the environment's `PGPASSWORD`.
/// `host=/run/postgresql` in the query reaches the server on its Unix socket in that folder; `schema=NAME`
/// keeps Liaison's tables in a schema of their own (tests and `liaison replay` use a fresh one each).
public struct PostgresSettings: Sendable, Equatable {
    public var host = "localhost"
    public var port = 5432
    /// The folder of the server's Unix socket, when it is reached that way.
    public var socketFolder: String?
    public var user: String
    public var password: String?
    public var database: String
    public var schema: String?
    public var sslMode: SSLMode = .prefer
    /// The CA that signs the server's certificate (`verify-ca`, `verify-full`); the system's CAs otherwise.
    public var sslRootCertificate: String?
    /// Connections each instance keeps open, at most.
    public var poolSize = 8
    /// How long to wait for a connection to be made, in seconds.
    public var connectTimeout: Double = 5
    /// How long a statement may take before its connection is given up as lost, in seconds.
    public var statementTimeout: Double = 60

    /// libpq's `sslmode` values.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable
        case allow
        case prefer
        case require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// A setting that cannot be understood, named by its key.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public init(user: String, database: String) {
        self.user = user
        self.database = database
    }

    /// Whether `text` names a PostgreSQL store (rather than a file).
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// Reads a `postgresql://` URL.
    /// - Throws: `Problem` naming what is wrong; never repeating the password.
    public init(url text: String) throws {
        guard Self.isURL(text), let components = URLComponents(string: text) else {
            throw Problem(description: "not a postgresql:// URL (postgresql://user@host:port/database)")
        }
        guard let user = components.user.flatMap({ $0.removingPercentEncoding ?? $0 }), !user.isEmpty else {
            throw Problem(description: "the URL names no user (postgresql://USER@host/database)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw Problem(description: "the URL names no database (postgresql://user@host/DATABASE)")
        }
        self.init(user: user, database: database.removingPercentEncoding ?? database)
        password = components.password.flatMap { $0.removingPercentEncoding ?? $0 }
        if let host = components.host, !host.isEmpty { self.host = host }
        if let port = components.port {
            guard (1...65535).contains(port) else { throw Problem(description: "the port must be 1 to 65535") }
            self.port = port
        }
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw Problem(description: "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert": sslRootCertificate = value
            case "host":
                if value.hasPrefix("/") { socketFolder = value } else { host = value }
            case "schema":
                guard Self.isPlainName(value) else { throw Problem(description: "schema must be a plain name: letters, digits and _") }
                schema = value
            case "connect_timeout":
                guard let seconds = Double(value), seconds > 0 else { throw Problem(description: "connect_timeout must be seconds") }
                connectTimeout = seconds
            case "application_name": break
            default: throw Problem(description: "unknown URL parameter '\(item.name)' (sslmode, sslrootcert, host, schema, connect_timeout)")
            }
        }
        if sslMode == .verifyCA || sslMode == .verifyFull, socketFolder != nil {
            throw Problem(description: "sslmode \(sslMode.rawValue) needs a TCP host, not a Unix socket")
        }
    }

    /// Whether `name` can be used as an SQL identifier as it is.
    static func isPlainName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || ("a"..."z").contains(first) else { return false }
        return name.count <= 63 && name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }

    /// The URL without its password, for logs and reports.
    public var redacted: String {
        var text = "postgresql://\(user)@"
        text += socketFolder.map { _ in "" } ?? "\(host):\(port)"
        text += "/\(database)"
        var query: [String] = []
        if let socketFolder { query.append("host=\(socketFolder)") }
        if sslMode != .prefer { query.append("sslmode=\(sslMode.rawValue)") }
        if let sslRootCertificate { query.append("sslrootcert=\(sslRootCertificate)") }
        if let schema { query.append("schema=\(schema)") }
        return query.isEmpty ? text : text + "?" + query.joined(separator: "&")
    }

    /// The same store in another schema (a throwaway one, for a test or a replay).
    public func inSchema(_ schema: String) -> PostgresSettings {
        var settings = self
        settings.schema = schema
        return settings
    }
}
