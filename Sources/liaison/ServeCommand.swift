import ArgumentParser
import Foundation
import LiaisonRuntime
import LiaisonServer
import Logging

/// `liaison serve`: runs the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the exchange: HTTPS ingest, timers and delivery.")

    @Option(help: "The daemon configuration (default: $LIAISON_CONFIG, else config/liaison.yaml).")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Listen on this port instead of the configuration's (several instances on one host).")
    var port: Int?

    @Option(help: "This instance's name among several on one database, instead of the configuration's.")
    var instance: String?

    @Option(help: "Keep this instance's keys and certificates (and a SQLite store) here instead of the configuration's dataDirectory.")
    var dataDirectory: String?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be 0 to 65535") }
    }

    /// The configuration file with this command line's overrides: read at start, and again on SIGHUP.
    static func load(_ url: URL, port: Int?, instance: String?, dataDirectory: String?) throws -> DaemonConfig {
        var daemonConfig = try DaemonConfig.load(from: url)
        if let port { daemonConfig.port = port }
        if let instance { daemonConfig.instance = instance }
        if let dataDirectory { daemonConfig.moveData(to: URL(fileURLWithPath: dataDirectory).standardizedFileURL.path) }
        return daemonConfig
    }

    func run() async throws {
        let url = configURL(config)
        let (port, instance, dataDirectory) = (self.port, self.instance, self.dataDirectory)
        let daemonConfig: DaemonConfig
        do {
            daemonConfig = try Self.load(url, port: port, instance: instance, dataDirectory: dataDirectory)
        } catch {
            throw fail(error)
        }
        sayUsing(configuration: url, store: daemonConfig.store.description)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        // Log lines wait a few milliseconds to be written in batches: whatever waits is written before exit.
        defer { LogOutput.standardError.flush() }
        do {
            try await Daemon(config: daemonConfig, logger: Logger(label: "liaison")) {
                try Self.load(url, port: port, instance: instance, dataDirectory: dataDirectory)
            }.run()
        } catch {
            throw fail(error)
        }
    }
}
