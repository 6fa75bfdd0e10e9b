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

    func run() async throws {
        var daemonConfig: DaemonConfig
        do {
            daemonConfig = try DaemonConfig.load(from: configURL(config))
        } catch {
            throw fail(error)
        }
        sayUsing(configuration: configURL(config), store: daemonConfig.store.description)
        if let port {
            guard (0...65535).contains(port) else { throw fail(ValidationError("--port must be 0 to 65535")) }
            daemonConfig.port = port
        }
        if let instance { daemonConfig.instance = instance }
        if let dataDirectory { daemonConfig.moveData(to: URL(fileURLWithPath: dataDirectory).standardizedFileURL.path) }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        // Log lines wait a few milliseconds to be written in batches: whatever waits is written before exit.
        defer { LogOutput.standardError.flush() }
        do {
            try await Daemon(config: daemonConfig, logger: Logger(label: "liaison")).run()
        } catch {
            throw fail(error)
        }
    }
}
