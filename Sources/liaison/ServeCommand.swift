import ArgumentParser
import Foundation
import LiaisonRuntime
import LiaisonServer
import Logging

/// `liaison serve`: runs the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the exchange: HTTPS ingest, timers and delivery.")

    @Option(help: "The daemon configuration (default: config/liaison.yaml).")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        let daemonConfig: DaemonConfig
        do {
            daemonConfig = try DaemonConfig.load(from: configURL(config))
        } catch {
            throw fail(error)
        }
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

/// The daemon configuration's location.
func configURL(_ given: String?) -> URL {
    given.map { URL(fileURLWithPath: $0) } ?? RuleFiles.configDirectory().appendingPathComponent("liaison.yaml")
}
