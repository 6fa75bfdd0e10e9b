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
    private var child: Child?

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
    ///
    /// Spawned with `posix_spawn` and reaped with `waitpid`, not Foundation's `Process`: the fault tests kill
    /// and restart daemons many times, and `Process` on Linux watches children through libdispatch, which has
    /// crashed the test process under that churn.
    @discardableResult
    public func start(timeout: Double = 60) throws -> Int {
        var arguments = [binary.path, "serve", "--config", configPath.path]
        if let level = ProcessInfo.processInfo.environment["LIAISON_BENCH_LOG_LEVEL"] { arguments += ["--log-level", level] }
        let child = try Child.spawn(arguments, standardError: logPath.path)
        self.child = child
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let data = child.read(timeout: deadline.timeIntervalSinceNow) else { break }
            text += String(decoding: data, as: UTF8.self)
            if let range = text.range(of: #"listening on https://[^:]+:(\d+)"#, options: .regularExpression) {
                port = Int(text[range].split(separator: ":").last!)!
                // The start-up text is written at once; whatever came with the line is kept.
                startupText = text
                // Keep draining stdout so the daemon never blocks on a full pipe.
                child.drainInBackground()
                return port
            }
        }
        _ = child.stop(signal: SIGKILL)
        self.child = nil
        throw DaemonError(description: "daemon did not start: \(text)\n\((try? String(contentsOf: logPath, encoding: .utf8))?.suffix(2000) ?? "")")
    }

    /// SIGTERM, then waits. - Returns: the exit status.
    @discardableResult
    public func terminate() -> Int32 {
        guard let child else { return -1 }
        self.child = nil
        return child.stop(signal: SIGTERM)
    }

    /// SIGTERM, without waiting: the daemon drains meanwhile; `waitForExit` collects it.
    public func beginTermination() {
        if let child { Foundation.kill(child.pid, SIGTERM) }
    }

    /// Waits for a daemon told to stop, at most `timeout` seconds; one still running then is killed.
    /// - Returns: the exit status, or -1 when it had to be killed.
    @discardableResult
    public func waitForExit(timeout: Double = 60) -> Int32 {
        guard let child else { return -1 }
        let deadline = Date().addingTimeInterval(timeout)
        while child.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if child.isRunning {
            kill()
            return -1
        }
        self.child = nil
        return child.status ?? -1
    }

    /// SIGKILL: no chance to clean up.
    public func kill() {
        guard let child else { return }
        self.child = nil
        _ = child.stop(signal: SIGKILL)
    }

    public var isRunning: Bool { child?.isRunning ?? false }

    public var processID: Int32? { child?.pid }

    /// Runs a command to its end, as the tests run `liaison` and scripts: spawned as daemons are, so that what
    /// it leaves running (a database server) holds none of this process's descriptors.
    /// - Returns: its exit status, and what it wrote on standard output and error.
    public static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Child.run(arguments)
    }

    public struct DaemonError: Error, CustomStringConvertible {
        public let description: String
    }
}

/// A child process: its id, the read end of its standard output, and its exit status once reaped.
private final class Child: @unchecked Sendable {
    // @unchecked: `status` is written under `lock`; the descriptor is read by one thread at a time (the
    // starter, then the drainer).
    let pid: pid_t
    private let output: Int32
    private let lock = NSLock()
    private var reaped: Int32?

    private init(pid: pid_t, output: Int32) {
        self.pid = pid
        self.output = output
    }

    /// Spawns `arguments[0]` with the rest as its arguments, standard output to a pipe, standard error appended
    /// to `standardError` (or to the same pipe when nil), and the default signal mask and dispositions. The
    /// pipe's own descriptors are close-on-exec, so that a daemon the child starts (pg_ctl's postgres) holds
    /// only its standard output, which it redirects, and the pipe ends when the child does. (Foundation's
    /// `Process` leaves them open in the child: a test waiting for `pg_ctl restart` to finish waited as long as
    /// the server it started ran.)
    static func spawn(_ arguments: [String], standardError: String?) throws -> Child {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw DaemonProcess.DaemonError(description: "pipe: errno \(errno)") }
        // Neither end leaks into another child (dup2 gives the child its own copy without the flag).
        for end in pipe { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let log = standardError.map { open($0, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600) } ?? dup(pipe[1])
        guard log >= 0 else {
            close(pipe[0])
            close(pipe[1])
            throw DaemonProcess.DaemonError(description: "cannot open \(standardError ?? "a pipe"): errno \(errno)")
        }
        _ = fcntl(log, F_SETFD, FD_CLOEXEC)
        defer {
            close(pipe[1])
            close(log)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, log, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else {
            close(pipe[0])
            throw DaemonProcess.DaemonError(description: "cannot start \(arguments[0]): errno \(result)")
        }
        return Child(pid: pid, output: pipe[0])
    }

    /// Runs a command to its end. - Returns: its exit status, and what it wrote on standard output and error.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let child = try spawn(arguments, standardError: nil)
        var output = Data()
        while let data = child.read(timeout: 3600) { output += data }
        return (child.stop(signal: 0), String(decoding: output, as: UTF8.self))
    }

    /// What the child wrote next, waiting at most `timeout` seconds. - Returns: nil at its end or the timeout.
    func read(timeout: Double) -> Data? {
        var poller = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(max(0, min(timeout, 3600)) * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = Glibc.read(output, &buffer, buffer.count)
        return count > 0 ? Data(buffer[0..<count]) : nil
    }

    /// Reads and discards what the child writes until it closes its output, on a thread of its own.
    func drainInBackground() {
        let output = self.output
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = Glibc.read(output, &buffer, buffer.count)
                if count > 0 { continue }
                if count < 0, errno == EINTR { continue }
                break
            }
            close(output)
        }
        drained = true
    }

    private var drained = false

    /// The exit status (the code, or the signal that ended it) once reaped.
    var status: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return reaped
    }

    var isRunning: Bool { reap(blocking: false) == nil }

    /// Sends `signal` (none when 0) and waits for the child to end. - Returns: its exit status.
    func stop(signal: Int32) -> Int32 {
        if signal != 0, isRunning { Foundation.kill(pid, signal) }
        let status = reap(blocking: true) ?? -1
        if !drained { close(output) }
        return status
    }

    private func reap(blocking: Bool) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let reaped { return reaped }
        var raw: Int32 = 0
        while true {
            let result = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
            if result == pid { break }
            if result < 0, errno == EINTR { continue }
            // Still running (0), or not ours to reap any more (-1, ECHILD): nothing to report.
            return result == 0 ? nil : -1
        }
        let signal = raw & 0x7f
        reaped = signal == 0 ? (raw >> 8) & 0xff : signal
        return reaped
    }
}
