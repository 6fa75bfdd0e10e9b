import Foundation
import LiaisonCore
import LiaisonLoad
import LiaisonRuntime
import LiaisonStore

/// One configuration of the store comparison: its daemons, and what they did.
struct Instances {
    let name: String
    let daemons: [DaemonProcess]
    let caBundle: String

    /// Starts `count` daemons on `store` (nil: each its own SQLite file), the second and later with the first's
    /// server certificate, as behind a load balancer.
    static func start(_ name: String, count: Int, store: String?, sinkPort: Int, sinkCA: String) throws -> Instances {
        var daemons: [DaemonProcess] = []
        for index in 0..<count {
            var config = benchConfig(sinkPort: sinkPort, caBundle: sinkCA)
            if let store { config += "\nstore: {url: '\(store)', poolSize: 12}\ninstance: \(name)-\(index)\n" }
            if let first = daemons.first {
                let tls = first.folder.appendingPathComponent("data/tls").path
                config += "tls: {certificate: \(tls)/server.pem, key: \(tls)/server-key.pem, clientCA: \(tls)/ca.pem}\n"
            }
            let daemon = try DaemonProcess(
                binary: DaemonProcess.builtBinary(), folder: folder.appendingPathComponent("\(name)-\(index)"), config: config)
            try daemon.start()
            daemons.append(daemon)
        }
        return Instances(name: name, daemons: daemons, caBundle: daemons[0].folder.appendingPathComponent("data/tls/ca.pem").path)
    }

    /// Sends `bodies` spread evenly over the instances, each over `connections / count` keep-alive connections,
    /// all at once. - Returns: how many were accepted, and the seconds it took.
    func send(_ bodies: [[UInt8]], connections: Int) async throws -> (accepted: Int, seconds: Double) {
        let headers = ["Authorization: Bearer \(token)", "Content-Type: application/json"]
        let started = Date()
        let accepted = try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, daemon) in daemons.enumerated() {
                let load = LoadClient(port: daemon.port, caBundle: caBundle)
                let mine = stride(from: index, to: bodies.count, by: daemons.count).map {
                    load.post(path: "/v1/messages", headers: headers, body: bodies[$0])
                }
                let perInstance = max(1, connections / daemons.count)
                group.addTask { try await load.run(mine, connections: perInstance).filter { $0.status == 202 }.count }
            }
            return try await group.reduce(0, +)
        }
        return (accepted, Date().timeIntervalSince(started))
    }

    func stop() { for daemon in daemons.reversed() { daemon.terminate() } }
}

/// Accepted/s and relayed/s of each configuration, pgbench's insert rate, and queue status at a million copies.
func compareStores(postgresURL: String) async throws {
    let base = try PostgresSettings(url: postgresURL)
    let sink = try WebhookSink(folder: folder.appendingPathComponent("sink"), secrets: [secret], record: false)
    let sinkPort = try await sink.start()
    func schemaURL(_ name: String) -> String {
        postgresURL + (postgresURL.contains("?") ? "&" : "?") + "schema=\(name)"
    }
    let runID = UUID().uuidString.lowercased().prefix(6)
    var schemas: [String] = []
    var accepted: [String: Double] = [:]
    say("liaison-bench --postgres: \(base.redacted), \(connections) connections, \(acceptCount) accepted and \(relayCount) relayed per configuration")
    for (name, count, postgres) in [("sqlite", 1, false), ("postgres-1", 1, true), ("postgres-2", 2, true)] {
        let schema = "bench_\(runID)_\(name.replacingOccurrences(of: "-", with: "_"))"
        if postgres { schemas.append(schema) }
        // Each configuration starts just after a checkpoint (where the role may ask for one), so that none pays
        // for one that another's writes brought on.
        _ = try? psql(base, "CHECKPOINT")
        let instances = try Instances.start(name, count: count, store: postgres ? schemaURL(schema) : nil, sinkPort: sinkPort, sinkCA: sink.caBundle)
        defer { instances.stop() }
        // Warm up, then time the accepted messages (to a pull inbox, so that nothing else competes).
        _ = try await instances.send((0..<1000).map { referral(900_000 + $0, to: "cwp-b") }, connections: connections)
        let bodies = (0..<acceptCount).map { referral($0, to: "cwp-b") }
        let cpuBefore = processCPU(instances)
        let run = try await instances.send(bodies, connections: connections)
        let spent = processCPU(instances) - cpuBefore
        let rate = Double(run.accepted) / run.seconds
        accepted[name] = rate
        say(String(format: "%@: accept: %d of %d accepted in %.2f s = %.0f accepted/s", name, run.accepted, acceptCount, run.seconds, rate))
        let perMessage = 1e6 / Double(max(1, run.accepted))
        say(
            String(
                format:
                    "%@: accept: CPU per accepted message: daemons %.0f µs, PostgreSQL %.0f µs, load generator %.0f µs; all CPUs idle %.0f%% of the time",
                name, spent.daemons * perMessage, spent.postgres * perMessage, spent.client * perMessage,
                spent.idle / (run.seconds * Double(ProcessInfo.processInfo.activeProcessorCount)) * 100))
        // Relayed: the sink answers the first 503 with Retry-After, which pauses the inbox (for every instance)
        // while a backlog is accepted; then the drain alone is timed.
        let pause = max(10, relayCount / 1000 + 5)
        let before = sink.count
        sink.respond { number in number == before + 1 ? .init(status: 503, retryAfter: pause) : .init(status: 200) }
        _ = try await instances.send([referral(1_999_999, to: "cwp-a")], connections: 1)
        while sink.count < before + 1 { try await Task.sleep(for: .milliseconds(5)) }
        let backlog = try await instances.send((0..<relayCount).map { referral(1_000_000 + $0, to: "cwp-a") }, connections: connections)
        while sink.count < before + 2 { try await Task.sleep(for: .milliseconds(2)) }
        let drainStarted = Date()
        while sink.count < before + backlog.accepted + 2, Date().timeIntervalSince(drainStarted) < 600 { try await Task.sleep(for: .milliseconds(5)) }
        let drain = Date().timeIntervalSince(drainStarted)
        say(
            String(
                format: "%@: relay: %d copies delivered with verified signatures in %.2f s = %.0f relayed/s", name, backlog.accepted, drain,
                Double(backlog.accepted) / drain))
    }
    await sink.stop()

    // pgbench on the same database: 8 clients, each transaction one single-row insert of about 1 KB, committed.
    _ = try? psql(base, "CHECKPOINT")
    let pgbench = try pgbenchInsertRate(settings: base, seconds: 20)
    say(String(format: "pgbench: 8 clients, single-row insert (1 KB, one commit each): %.0f inserts/s", pgbench))
    if let sqlite = accepted["sqlite"], let two = accepted["postgres-2"], let one = accepted["postgres-1"] {
        say(
            String(
                format:
                    "floors: two PostgreSQL instances %.0f accepted/s = %.2f x pgbench (floor 0.5) and %.2f x one SQLite instance's %.0f/s (floor 0.5); one PostgreSQL instance %.0f/s",
                two, two / pgbench, two / sqlite, sqlite, one))
    }

    // queue status on PostgreSQL with a million copies queued, filled through the same router and store code.
    let schema = "bench_\(runID)_queued"
    schemas.append(schema)
    let location = StoreLocation.postgres(base.inSchema(schema))
    let store = try Store.open(location, instance: "bench-fill", logger: Store.quietLogger)
    let configPath = folder.appendingPathComponent("fill.yaml")
    try benchConfig(sinkPort: 1, caBundle: "/dev/null").write(to: configPath, atomically: true, encoding: .utf8)
    let (router, _) = try inProcess(configPath: configPath, storePath: folder.appendingPathComponent("fill.sqlite").path)
    let started = Date()
    var next = 2_000_000
    while next < 2_000_000 + queuedCount {
        let batch = (next..<min(next + 2000, 2_000_000 + queuedCount)).map { referral($0, to: "cwp-b") }
        next += batch.count
        let prepared = batch.map { router.prepare($0, from: "jcp-leeds", at: Date()) }
        _ = try store.cases.batch(prepared, keys: { BatchKeys(claimant: $0.personKey, messageID: $0.messageID) }) { submission, transaction in
            try router.submit(submission, at: Date(), in: transaction)
        }
    }
    store.close()
    say(
        String(
            format: "queued: PostgreSQL store filled to %d copies in %.0f s (in-process, same router and store code)", queuedCount,
            Date().timeIntervalSince(started)))
    var timings: [Double] = []
    var line = ""
    for _ in 0..<5 {
        let started = Date()
        let result = try DaemonProcess.run([DaemonProcess.builtBinary().path, "queue", "status", "--store", schemaURL(schema)])
        timings.append(Date().timeIntervalSince(started))
        line = result.output.split(separator: "\n").first { $0.hasPrefix("cwp-b/spoc") }.map(String.init) ?? result.output
    }
    timings.sort()
    say(
        String(
            format: "queue status on PostgreSQL with %d copies queued: median %.0f ms, slowest %.0f ms (of 5 runs, whole command; floor 1 s)",
            queuedCount, percentile(timings, 0.5) * 1000, (timings.last ?? 0) * 1000))
    say("  \(line)")

    // The bench's schemas go.
    for schema in schemas { _ = try? psql(base, "DROP SCHEMA IF EXISTS \(schema) CASCADE") }
}

/// The server's own tools, of the newest PostgreSQL installed.
func postgresTool(_ name: String) -> String {
    (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted().last.map { "/usr/lib/postgresql/\($0)/bin/\(name)" }
        ?? name
}

/// The connection arguments of psql and pgbench for `settings` (the password goes in PGPASSWORD).
func connectionArguments(_ settings: PostgresSettings) -> [String] {
    setenv("PGPASSWORD", settings.password ?? "", 1)
    return ["-h", settings.socketFolder ?? settings.host, "-p", "\(settings.port)", "-U", settings.user, settings.database]
}

/// Runs SQL with psql.
@discardableResult
func psql(_ settings: PostgresSettings, _ sql: String) throws -> String {
    try DaemonProcess.run([postgresTool("psql"), "-q", "-X"] + connectionArguments(settings) + ["-c", sql]).output
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

/// pgbench's rate for 8 clients each inserting one ~1 KB row per committed transaction, for `seconds`.
func pgbenchInsertRate(settings: PostgresSettings, seconds: Int) throws -> Double {
    let script = folder.appendingPathComponent("insert.sql")
    try "INSERT INTO liaison_bench_insert (payload) VALUES (repeat('x', 1000));\n".write(to: script, atomically: true, encoding: .utf8)
    try psql(settings, "DROP TABLE IF EXISTS liaison_bench_insert; CREATE TABLE liaison_bench_insert (id bigserial PRIMARY KEY, payload text)")
    defer { _ = try? psql(settings, "DROP TABLE IF EXISTS liaison_bench_insert") }
    let result = try DaemonProcess.run(
        [postgresTool("pgbench"), "-n", "-c", "8", "-j", "2", "-T", "\(seconds)", "-f", script.path] + connectionArguments(settings))
    guard let line = result.output.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }),
        let rate = Double(line.dropFirst(6).split(separator: " ").first ?? "")
    else { throw BenchError(description: "pgbench: \(result.output.suffix(400))") }
    return rate
}

/// CPU seconds so far of the daemons, of every PostgreSQL server process on the machine, and of this process;
/// and the machine's idle seconds.
struct ProcessCPU {
    var daemons: Double
    var postgres: Double
    var client: Double
    var idle: Double

    static func - (after: ProcessCPU, before: ProcessCPU) -> ProcessCPU {
        ProcessCPU(
            daemons: after.daemons - before.daemons, postgres: after.postgres - before.postgres, client: after.client - before.client,
            idle: after.idle - before.idle)
    }
}

func processCPU(_ instances: Instances) -> ProcessCPU {
    let daemons = instances.daemons.compactMap(\.processID).map { cpuSeconds($0, threads: []).process }.reduce(0, +)
    let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? []
    let postgres = pids.filter { pid in
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("postgres") == true
    }.map { cpuSeconds($0, threads: []).process }.reduce(0, +)
    return ProcessCPU(daemons: daemons, postgres: postgres, client: cpuSeconds(getpid(), threads: []).process, idle: idleSeconds())
}
