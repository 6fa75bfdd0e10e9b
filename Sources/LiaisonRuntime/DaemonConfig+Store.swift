import Foundation
import LiaisonCore
import LiaisonStore

/// The `store:` setting: the embedded SQLite file (a path, `dataDirectory/liaison.sqlite` by default), or a
/// PostgreSQL database shared by several instances, as a URL or a section:
///
/// ```yaml
/// store: postgresql://liaison@db.example:5432/liaison?sslmode=verify-full&sslrootcert=/etc/liaison/db-ca.pem
/// # or
/// store:
///   url: postgresql://liaison@db.example:5432/liaison
///   sslmode: verify-full
///   sslrootcert: /etc/liaison/db-ca.pem
///   passwordFile: /etc/liaison/db-password
///   poolSize: 8
///   connectTimeout: 5s
///   waitAtStart: 60s
/// ```
extension DaemonConfig {
    /// What the store section holds beside the location.
    struct StoreSettings {
        var location: StoreLocation
        var waitAtStart: Double
    }

    static func storeSettings(
        _ value: JSONValue?, defaultPath: String, path: (String) -> String, collector: Collector
    ) -> StoreSettings {
        var settings = StoreSettings(location: .file(defaultPath), waitAtStart: 60)
        switch value {
        case nil, .null?:
            return settings
        case .string(let text)?:
            if let location = collector.attempt({ try location(text, key: "store", path: path) }) { settings.location = location }
            return settings
        case let value?:
            guard var section = collector.attempt({ try ConfigReader(value, path: "store") }) else { return settings }
            guard let url = collector.attempt({ try section.string("url") }),
                case .postgres(var postgres)? = collector.attempt({ try location(url, key: "store.url", path: path) })
            else {
                collector.problems += section.unknownKeys()
                if collector.problems.isEmpty {
                    collector.problems.append(ConfigError(key: "store.url", problem: "a section is for PostgreSQL: url must be postgresql://"))
                }
                return settings
            }
            if let size = collector.attempt({ try section.optionalInteger("poolSize", in: 2...500) }) { postgres.poolSize = size }
            if let mode = collector.attempt({ try section.optionalString("sslmode") }) {
                if let parsed = PostgresSettings.SSLMode(rawValue: mode) {
                    postgres.sslMode = parsed
                } else {
                    collector.problems.append(
                        ConfigError(
                            key: "store.sslmode",
                            problem: "must be one of \(PostgresSettings.SSLMode.allCases.map(\.rawValue).joined(separator: ", "))"))
                }
            }
            if let root = collector.readable(collector.attempt({ try section.optionalString("sslrootcert").map(path) }), key: "store.sslrootcert") {
                postgres.sslRootCertificate = root
            }
            if let file = collector.readable(collector.attempt({ try section.optionalString("passwordFile").map(path) }), key: "store.passwordFile"),
                let text = try? String(contentsOfFile: file, encoding: .utf8)
            {
                postgres.password = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            for (key, range) in [("connectTimeout", 0.1...300.0), ("statementTimeout", 1.0...3600.0), ("waitAtStart", 0.0...86_400.0)] {
                guard let text = collector.attempt({ try section.optionalString(key) }) else { continue }
                guard let seconds = collector.attempt({ text == "0s" ? 0 : try duration(text, key: "store.\(key)", within: range) }) else { continue }
                switch key {
                case "connectTimeout": postgres.connectTimeout = seconds
                case "statementTimeout": postgres.statementTimeout = seconds
                default: settings.waitAtStart = seconds
                }
            }
            collector.problems += section.unknownKeys()
            if postgres.sslMode == .verifyCA || postgres.sslMode == .verifyFull, postgres.socketFolder != nil {
                collector.problems.append(
                    ConfigError(key: "store.sslmode", problem: "\(postgres.sslMode.rawValue) needs a TCP host, not a Unix socket"))
            }
            settings.location = .postgres(postgres)
            return settings
        }
    }

    /// A store given as text: a `postgresql://` URL, or a file's path.
    private static func location(_ text: String, key: String, path: (String) -> String) throws -> StoreLocation {
        guard PostgresSettings.isURL(text) else { return .file(path(text)) }
        do {
            var settings = try PostgresSettings(url: text)
            settings.sslRootCertificate = settings.sslRootCertificate.map(path)
            return .postgres(settings)
        } catch let problem as PostgresSettings.Problem {
            throw ConfigError(key: key, problem: problem.description)
        }
    }
}

extension DaemonConfig {
    /// Keeps the data (keys, certificates, and the SQLite store when it is the default one) in `folder` instead.
    public mutating func moveData(to folder: String) {
        let defaultStore = dataDirectory + "/liaison.sqlite"
        if case .file(let path) = store, path == defaultStore {
            store = .file(folder + "/liaison.sqlite")
            storePath = folder + "/liaison.sqlite"
        }
        dataDirectory = folder
    }
}
