import Foundation
import Synchronization

/// The real `liaison` binary running as a child process, for integration, fault and load tests.
public final class DaemonProcess: @unchecked Sendable {
    // @unchecked: the process handle is used from the test's own task only.
    public let folder: URL
    public let binary: URL
    public var configPath: URL { folder.appendingPathComponent("liaison.yaml") }
    public var storePath: String { folder.appendingPathComponent("data/liaison.sqlite").path }
    public var logPath: URL { folder.appendingPathComponent("daemon.log") }
    public private(set) var port = 0
    /// What the daemon printed on standard output as it started (the port, first-start help, set-up links).
    public private(set) var startupText = ""
    private var process: Process?

    /// - Parameters:
    ///   - binary: the built `liaison` executable.
    ///   - folder: a fresh folder for the configuration, store and logs.
    ///   - config: the YAML configuration (`listen.port: 0` lets the daemon choose).
    public init(binary: URL, folder: URL, config: String) throws {
        self.binary = binary
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try config.write(to: configPath, atomically: true, encoding: .utf8)
    }

    /// The `liaison` binary next to the running test or benchmark executable.
    public static func builtBinary() -> URL {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("liaison")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/liaison")
    }

    /// Starts the daemon and waits until it listens. - Returns: its port.
    @discardableResult
    public func start(timeout: Double = 60) throws -> Int {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--config", configPath.path]
            + (ProcessInfo.processInfo.environment["LIAISON_BENCH_LOG_LEVEL"].map { ["--log-level", $0] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        if !FileManager.default.fileExists(atPath: logPath.path) { _ = FileManager.default.createFile(atPath: logPath.path, contents: nil) }
        let log = try FileHandle(forWritingTo: logPath)
        log.seekToEndOfFile()
        process.standardError = log
        try process.run()
        self.process = process
        let reader = output.fileHandleForReading
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let data = reader.availableData
            if data.isEmpty {
                guard process.isRunning else { break }
                continue
            }
            text += String(decoding: data, as: UTF8.self)
            if let range = text.range(of: #"listening on https://[^:]+:(\d+)"#, options: .regularExpression) {
                port = Int(text[range].split(separator: ":").last!)!
                // The start-up text is written at once; whatever came with the line is kept.
                startupText = text
                // Keep draining stdout so the daemon never blocks on a full pipe.
                reader.readabilityHandler = { handle in _ = handle.availableData }
                return port
            }
        }
        process.terminate()
        throw DaemonError(description: "daemon did not start: \(text)\n\((try? String(contentsOf: logPath, encoding: .utf8))?.suffix(2000) ?? "")")
    }

    /// SIGTERM, then waits. - Returns: the exit status.
    @discardableResult
    public func terminate() -> Int32 {
        guard let process else { return -1 }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
        return process.terminationStatus
    }

    /// SIGTERM, without waiting: the daemon drains meanwhile; `waitForExit` collects it.
    public func beginTermination() {
        process?.terminate()
    }

    /// Waits for a daemon told to stop, at most `timeout` seconds; one still running then is killed.
    /// - Returns: the exit status, or -1 when it had to be killed.
    @discardableResult
    public func waitForExit(timeout: Double = 60) -> Int32 {
        guard let process else { return -1 }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill()
            return -1
        }
        self.process = nil
        return process.terminationStatus
    }

    /// SIGKILL: no chance to clean up.
    public func kill() {
        guard let process else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    public var isRunning: Bool { process?.isRunning ?? false }

    public var processID: Int32? { process?.processIdentifier }

    public struct DaemonError: Error, CustomStringConvertible {
        public let description: String
    }
}
