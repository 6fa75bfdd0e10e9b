import Foundation
import LiaisonCore
import LiaisonLoad
import LiaisonRuntime
import LiaisonServer
import LiaisonStore

// liaison-bench: drives the release daemon over HTTPS and prints figures; no assertions.
//
//   swift run -c release liaison-bench [--accept N] [--probes N] [--relay N] [--queued N] [--connections C]
//
// 1. accepted messages/s with p50/p99 acknowledgement latency: 1 KB messages over C keep-alive HTTPS
//    connections, to a pull inbox so that nothing else competes;
// 1b. authenticated GET /healthz/s over the same connections, with the daemon's CPU per probe: what HTTPS,
//    HTTP, routing and authentication cost without a body, the rules or the store;
// 2. relayed messages/s: messages to a push inbox served by a loopback HTTPS sink that verifies every
//    signature, from first submission to the last delivery;
// 3. with N copies queued, the time of `liaison queue status` and the daemon's resident memory.

/// Prints a figure as soon as it is known (stdout to a file is otherwise flushed only at exit).
func say(_ line: String) {
    print(line)
    fflush(nil)
}

func argument(_ name: String, _ fallback: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Int(arguments[index + 1])
    else { return fallback }
    return value
}

let acceptCount = argument("--accept", 50_000)
let relayCount = argument("--relay", 20_000)
let queuedCount = argument("--queued", 1_000_000)
let connections = argument("--connections", 64)
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-bench-\(UUID().uuidString.prefix(8))")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
/// Removes the bench's folder (stores of 100 MB and more) and exits.
func finish() -> Never {
    try? FileManager.default.removeItem(at: folder)
    exit(0)
}
let secret = "whsec_" + Data("liaison-benchmark-secret".utf8).base64EncodedString()
let token = "bench-token-jcp-leeds-0123456789"
let today = UKTime.localDate(at: Date())

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

/// CPU seconds (user and system) used so far by process `pid`, and by each of its threads named in `threads`.
func cpuSeconds(_ pid: Int32, threads: [String]) -> (process: Double, threads: [Double]) {
    func seconds(_ statPath: String) -> Double { ProcessFigures.cpuSeconds(statFile: statPath) }
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    let names = tasks.map { task in
        (task, (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    let perThread = threads.map { thread in
        names.first { $0.1 == thread }.map { seconds("/proc/\(pid)/task/\($0.0)/stat") } ?? 0
    }
    return (seconds("/proc/\(pid)/stat"), perThread)
}

/// Seconds all CPUs of the machine have been idle so far.
func idleSeconds() -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = stat.split(separator: "\n").first
    else { return 0 }
    let fields = line.split(separator: " ")
    return fields.count > 4 ? (Double(fields[4]) ?? 0) / Double(sysconf(Int32(_SC_CLK_TCK))) : 0
}

func residentMegabytes(_ pid: Int32) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
}

/// A ~1 KB CWP referral for claimant `n` to `provider`.
func referral(_ n: Int, to provider: String) -> [UInt8] {
    // A distinct valid prefix for each million, so no two messages of a run share a claimant.
    let prefixes = ["AB", "CE", "HJ", "JK", "KL", "LM", "MN", "NP", "PR", "RS"]
    let nino = String(format: "%@%06dC", prefixes[(n / 1_000_000) % prefixes.count], n % 1_000_000)
    let message: JSONValue = .object([
        "id": .string(UUID().uuidString.lowercased()), "type": .string("cwp.referral"), "to": .string(provider),
        "nino": .string(nino), "sentAt": .string(Timestamp.format(Date())),
        "body": .object([
            "referralDate": .string(today.description), "wpciDate": .string(today.adding(days: -14).description),
            "engagementMeeting": .string(Timestamp.format(Date().addingTimeInterval(7 * 86_400))),
            "restrictions": .string(String(repeating: "Available weekdays only; no heavy lifting; ", count: 16)),
            "alerts": .array([.string("restricted-availability")]), "hoursAvailable": .number(30),
        ]),
    ])
    return Array(message.canonicalText.utf8)
}

/// The benchmark's configuration, with the push inbox at `sinkPort`.
func benchConfig(sinkPort: Int, caBundle: String) -> String {
    """
    listen: {host: 127.0.0.1, port: 0}
    dataDirectory: data
    rules: \(repository.path)/config/rules.yaml
    holidays: \(repository.path)/config/uk-bank-holidays.json
    limits: {requestsPerSecondPerParty: 10000000, burstPerParty: 10000000}
    parties:
      - {id: jcp-leeds, kind: jobcentre, calendar: england-and-wales, tokens: [\(token)]}
      - id: cwp-a
        kind: cwp
        tokens: [bench-token-cwp-a-0123456789]
        inboxes:
          spoc: {url: "https://127.0.0.1:\(sinkPort)/hook", secrets: [\(secret)], caBundle: \(caBundle), concurrency: 64}
      - {id: cwp-b, kind: cwp, tokens: [bench-token-cwp-b-0123456789]}
    """
}

/// A router and store for in-process runs, configured as the daemon is.
func inProcess(configPath: URL, storePath: String) throws -> (SubmissionDesk, SQLiteCaseStore) {
    let daemonConfig = try DaemonConfig.load(from: configPath)
    let router = SubmissionDesk(
        context: RuleContext(
            directory: try daemonConfig.directory(), rules: try RuleFiles.loadRules(at: URL(fileURLWithPath: daemonConfig.rulesPath)),
            calendars: try RuleFiles.loadCalendars(at: URL(fileURLWithPath: daemonConfig.holidaysPath))))
    return (router, try SQLiteCaseStore(path: storePath))
}

// 0. `--store N`: only the writer's share, in-process and single-threaded: N messages decided and stored in
// shared commits of 32 (each with its fsync), as the daemon's writer thread does under load.
let storeCount = argument("--store", 0)
if storeCount > 0 {
    let configPath = folder.appendingPathComponent("liaison.yaml")
    try benchConfig(sinkPort: 1, caBundle: "/dev/null").write(to: configPath, atomically: true, encoding: .utf8)
    let storePath = folder.appendingPathComponent("store.sqlite").path
    let (router, store) = try inProcess(configPath: configPath, storePath: storePath)
    let checkpointer = try Checkpointer(path: storePath)
    checkpointer.start()
    /// CPU time of this thread so far: the writer's work without its waits for the disk.
    func threadCPUSeconds() -> TimeInterval {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return TimeInterval(now.tv_sec) + TimeInterval(now.tv_nsec) / 1e9
    }
    var writerCPUSeconds: TimeInterval = 0
    func stored(_ first: Int, _ count: Int) throws -> TimeInterval {
        var seconds: TimeInterval = 0
        for start in stride(from: first, to: first + count, by: 32) {
            // Prepared just before, as request handlers do; only the writer's part is timed.
            let prepared = (start..<min(start + 32, first + count)).map { router.prepare(referral($0, to: "cwp-b"), from: "jcp-leeds", at: Date()) }
            let started = Date()
            let cpuStarted = threadCPUSeconds()
            _ = try store.batch(prepared) { item, transaction in try router.submit(item, at: Date(), in: transaction) }
            seconds += Date().timeIntervalSince(started)
            writerCPUSeconds += threadCPUSeconds() - cpuStarted
        }
        return seconds
    }
    // A first, untimed round grows the log file to its working size, as in a daemon that has been running.
    _ = try stored(4_000_000, 10_000)
    writerCPUSeconds = 0
    let checkpointerBefore = cpuSeconds(getpid(), threads: ["liaison-ckpt"]).threads[0]
    let seconds = try stored(5_000_000, storeCount)
    let checkpointerSeconds = cpuSeconds(getpid(), threads: ["liaison-ckpt"]).threads[0] - checkpointerBefore
    checkpointer.stop()
    say(
        String(
            format:
                "store: %d messages decided and stored in commits of 32 in %.2f s = %.0f µs each, %.0f µs of them on the CPU (in-process, one writer thread); the checkpointer %.0f µs of CPU each",
            storeCount, seconds, seconds / Double(storeCount) * 1e6, writerCPUSeconds / Double(storeCount) * 1e6,
            checkpointerSeconds / Double(storeCount) * 1e6))
    finish()
}

// 0b. `--prepare N`: only the request handlers' share of the router, in-process and single-threaded: N bodies
// parsed, validated and given their canonical content, as each request handler does before the writer.
let prepareCount = argument("--prepare", 0)
if prepareCount > 0 {
    let configPath = folder.appendingPathComponent("liaison.yaml")
    try benchConfig(sinkPort: 1, caBundle: "/dev/null").write(to: configPath, atomically: true, encoding: .utf8)
    let (router, _) = try inProcess(configPath: configPath, storePath: folder.appendingPathComponent("store.sqlite").path)
    let bodies = (0..<10_000).map { referral($0, to: "cwp-b") }
    func prepared(_ count: Int) -> TimeInterval {
        let started = Date()
        var valid = 0
        for index in 0..<count where router.prepare(bodies[index % bodies.count], from: "jcp-leeds", at: Date()).isValid { valid += 1 }
        precondition(valid == count, "the bench's bodies must all be valid")
        return Date().timeIntervalSince(started)
    }
    // A first, untimed round warms up.
    _ = prepared(bodies.count)
    let seconds = prepared(prepareCount)
    say(
        String(
            format: "prepare: %d bodies parsed, validated and made canonical in %.2f s = %.1f µs each (in-process, one thread)", prepareCount,
            seconds, seconds / Double(prepareCount) * 1e6))
    finish()
}

// P. `--postgres URL`: several instances on one PostgreSQL database, in one run on this machine: accepted/s and
// relayed/s with one instance on SQLite, one on PostgreSQL and two on PostgreSQL (each on a fresh store), then
// pgbench's 8-client single-row insert rate on the same database, then `queue status` on PostgreSQL with
// `--queued` copies. The floors are ratios within the run: two PostgreSQL instances accept at least half
// pgbench's insert rate and at least half the SQLite instance's rate; queue status under a second.
if let postgresIndex = CommandLine.arguments.firstIndex(of: "--postgres"), postgresIndex + 1 < CommandLine.arguments.count {
    let postgresURL = CommandLine.arguments[postgresIndex + 1]
    try await compareStores(postgresURL: postgresURL)
    finish()
}

// D. `--dead-inbox N`: the healthy inbox's relay rate (`--relay` copies) alone, beside an inbox that refuses
// connections, and beside a black hole, each with N copies waiting for the dead one. Floor: 0.9 × alone.
let deadCopies = argument("--dead-inbox", 0)
if deadCopies > 0 {
    try await deadInboxComparison(deadCopies: deadCopies, healthyCopies: relayCount, rounds: argument("--rounds", 3))
    finish()
}

let sink = try WebhookSink(folder: folder.appendingPathComponent("sink"), secrets: [secret], record: false)
let sinkPort = try await sink.start()
let config = benchConfig(sinkPort: sinkPort, caBundle: sink.caBundle)
let daemon = try DaemonProcess(binary: DaemonProcess.builtBinary(), folder: folder.appendingPathComponent("daemon"), config: config)
let port = try daemon.start()
let url = "https://127.0.0.1:\(port)/v1/messages"
let caBundle = daemon.folder.appendingPathComponent("data/tls/ca.pem").path
let headers = ["Authorization: Bearer \(token)", "Content-Type: application/json"]
say("liaison-bench: daemon \(daemon.binary.path), pid \(daemon.processID ?? 0), \(connections) connections")

// 1. Accepted messages/s.
let load = LoadClient(port: port, caBundle: caBundle)
func posts(_ bodies: [[UInt8]]) -> [[UInt8]] { bodies.map { load.post(path: "/v1/messages", headers: headers, body: $0) } }

// U. `--staff N`: N notices waiting in one inbox (cwp-b's SPOC, pulled), then the staff pages' server time for
// its first page, a later page, and a notice (the `Server-Timing` each page sends), and what the client saw.
let staffCount = argument("--staff", 0)
if staffCount > 0 {
    let accepted = try await load.run(posts((0..<staffCount).map { referral(6_000_000 + $0, to: "cwp-b") }), connections: connections)
    say("staff: \(accepted.filter { $0.status == 202 }.count) notices waiting in cwp-b/spoc")
    // A signed-in member of cwp-b's SPOC, made in the store as `liaison staff add` and a set-up would.
    let accounts = try Store.openExisting(.file(daemon.storePath), logger: Store.quietLogger).staffAccounts
    let setup = StaffAccounts.newSecret()
    let member = try accounts.add(
        email: "bench@cwp-b.test", name: "Bench", party: "cwp-b", roles: [.spoc], setupToken: setup, expires: Date().addingTimeInterval(3600),
        now: Date())
    _ = try accounts.completeSetup(setupToken: setup, passwordHash: "$2b$12$bench", now: Date())
    let cookie = StaffAccounts.newSecret()
    try accounts.startSession(cookie: cookie, csrfToken: StaffAccounts.newSecret(), for: member, now: Date())
    let browser = HTTPSClient(caBundle: caBundle, connections: 1)
    let cookieHeader = ["Cookie: liaison_session=\(cookie)"]
    let inboxHTML = browser.perform(HTTPSRequest(method: "GET", url: "https://127.0.0.1:\(port)/ui/inbox/spoc", headers: cookieHeader)).text
    let ids = inboxHTML.matches(of: #/href="/ui/messages/([0-9a-f-]{36})\?inbox=spoc"/#).map { String($0.output.1) }
    func timed(_ label: String, _ paths: [String]) {
        var server: [Double] = []
        var client: [Double] = []
        var statuses: Set<Int> = []
        for path in paths {
            let result = browser.perform(HTTPSRequest(method: "GET", url: "https://127.0.0.1:\(port)\(path)", headers: cookieHeader))
            statuses.insert(result.status)
            client.append(result.latency * 1000)
            if let timing = result.headers["server-timing"], let value = timing.split(separator: "=").last.flatMap({ Double($0) }) {
                server.append(value)
            }
        }
        server.sort()
        client.sort()
        say(
            String(
                format: "staff: %@, %d requests (status %@): server time p50 %.1f ms, p99 %.1f ms; seen by the client p50 %.1f ms, p99 %.1f ms",
                label, paths.count, statuses.sorted().map(String.init).joined(separator: ","), percentile(server, 0.5), percentile(server, 0.99),
                percentile(client, 0.5), percentile(client, 0.99)))
    }
    let rounds = argument("--rounds", 300)
    let pages = max(1, staffCount / 25)
    timed("inbox page 1 of \(pages)", Array(repeating: "/ui/inbox/spoc", count: rounds))
    timed("inbox pages at random", (0..<rounds).map { _ in "/ui/inbox/spoc?page=\(Int.random(in: 1...pages))" })
    timed("inbox filtered by type", Array(repeating: "/ui/inbox/spoc?type=cwp.referral&page=2", count: rounds))
    timed("a notice", (0..<rounds).map { index in "/ui/messages/\(ids[index % max(1, ids.count)])?inbox=spoc" })
    timed("home page", Array(repeating: "/ui/", count: rounds))
    daemon.terminate()
    await sink.stop()
    finish()
}

// S. `--soak N`: N requests, a mix of valid messages, refusals and malformed requests, in rounds of 100,000,
// with the daemon's resident memory after each: it must stay flat (within 10% of the first round's).
let soakCount = argument("--soak", 0)
if soakCount > 0 {
    let round = min(100_000, soakCount)
    let cwp = ["Authorization: Bearer bench-token-cwp-b-0123456789", "Content-Type: application/json"]
    /// One request of the mix, by its place in the run: per 20, 8 valid referrals, 2 resent as they were
    /// (answered again) or with other content (409), 4 refused by the rules (unknown case, bad NINO, not
    /// permitted, implausible date), 5 malformed (not JSON, no envelope, 415, 404, 405) and a lookup of no message.
    func soakRequest(_ n: Int, lastID: inout String) -> [UInt8] {
        let body = referral(5_000_000 + n, to: "cwp-b")
        switch n % 20 {
        case 0...7:
            if n % 20 == 7, let id = try? JSONValue.parse(body)["id"]?.stringValue { lastID = id }
            return load.post(path: "/v1/messages", headers: headers, body: body)
        case 8:
            var resent = (try? JSONValue.parse(referral(5_000_000 + n - 1, to: "cwp-b")).objectValue) ?? [:]
            resent["id"] = .string(lastID)
            return load.post(path: "/v1/messages", headers: headers, body: Array(JSONValue.object(resent).canonicalText.utf8))
        case 9:
            return load.post(path: "/v1/messages", headers: headers, body: Array(#"{"id":"\#(lastID)","type":"cwp.start"}"#.utf8))
        case 10:
            let absence: JSONValue = [
                "id": .string(UUID().uuidString.lowercased()), "type": "cwp.absence", "sentAt": .string(Timestamp.format(Date())),
                "nino": .string(String(format: "PR%06dA", n % 1_000_000)),
                "body": ["reported": true, "reason": "sickness", "from": .string(today.description), "to": .string(today.description)],
            ]
            return load.post(path: "/v1/messages", headers: cwp, body: Array(absence.canonicalText.utf8))
        case 11:
            let text = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\"nino\":\"", with: "\"nino\":\"QQ")
            return load.post(path: "/v1/messages", headers: headers, body: Array(text.utf8))
        case 12: return load.post(path: "/v1/messages", headers: cwp, body: body)
        case 13:
            let text = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\"referralDate\":\"", with: "\"referralDate\":\"1")
            return load.post(path: "/v1/messages", headers: headers, body: Array(text.utf8))
        case 14: return load.post(path: "/v1/messages", headers: headers, body: Array(body.prefix(body.count / 2)))
        case 15: return load.post(path: "/v1/messages", headers: headers, body: Array(#"{"hello":["world",1,{"n":null}]}"#.utf8))
        case 16: return load.post(path: "/v1/messages", headers: ["Authorization: Bearer \(token)", "Content-Type: text/plain"], body: body)
        case 17: return load.get(path: "/v1/no-such-path/\(n)", headers: headers)
        case 18: return load.get(path: "/v1/messages", headers: headers)
        default: return load.get(path: "/v1/messages/\(UUID().uuidString.lowercased())", headers: headers)
        }
    }
    var statuses: [Int: Int] = [:]
    var memory: [Double] = []
    var lastID = UUID().uuidString.lowercased()
    let started = Date()
    for first in stride(from: 0, to: soakCount, by: round) {
        let requests = (first..<min(first + round, soakCount)).map { soakRequest($0, lastID: &lastID) }
        for outcome in try await load.run(requests, connections: connections) { statuses[outcome.status, default: 0] += 1 }
        // Broken framing closes its connection: a few on connections of their own each round.
        let tls = try TLSClientContext(caBundle: caBundle)
        for index in 0..<200 {
            let raw = try RawTLSConnection(port: port, context: tls)
            raw.send(
                "POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n" + (index % 2 == 0 ? "zz\r\n{}\r\n0\r\n\r\n" : "5\r\nhelloXX"))
            statuses[raw.response(within: 5)?.status ?? 0, default: 0] += 1
        }
        memory.append(residentMegabytes(daemon.processID ?? 0))
        say(
            String(
                format: "soak: %d requests in %.0f s; daemon resident memory %.1f MB", min(first + round, soakCount),
                Date().timeIntervalSince(started), memory.last ?? 0))
    }
    let answered = statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    say("soak: answers by status: \(answered)")
    if let baseline = memory.first, let last = memory.last {
        say(
            String(
                format: "soak: resident memory after the first %d: %.1f MB; after %d: %.1f MB (%.1f%% of the first; floor: within 10%%)",
                round, baseline, soakCount, last, last / baseline * 100))
    }
    daemon.terminate()
    await sink.stop()
    finish()
}

/// CPU spent between two moments: the daemon and some of its threads, this process (the load client, or the
/// sink while a relay drains), and how long the machine sat idle.
struct CPUWindow {
    let threads: [String]
    private let daemonBefore: (process: Double, threads: [Double])
    private let clientBefore: Double
    private let idleBefore: Double
    private let started = Date()

    init(daemonThreads threads: [String]) {
        self.threads = threads
        daemonBefore = cpuSeconds(daemon.processID ?? 0, threads: threads)
        clientBefore = cpuSeconds(getpid(), threads: []).process
        idleBefore = idleSeconds()
    }

    struct Spent {
        let seconds: Double
        /// CPU seconds of the daemon, of each of the named threads, and of this process.
        let daemon: Double, threads: [Double], client: Double
        /// Share of the machine's CPU time that was idle.
        let idle: Double
    }

    func end() -> Spent {
        let seconds = Date().timeIntervalSince(started)
        let daemonAfter = cpuSeconds(daemon.processID ?? 0, threads: threads)
        return Spent(
            seconds: seconds, daemon: daemonAfter.process - daemonBefore.process,
            threads: zip(daemonAfter.threads, daemonBefore.threads).map { $0 - $1 },
            client: cpuSeconds(getpid(), threads: []).process - clientBefore,
            idle: (idleSeconds() - idleBefore) / (seconds * Double(ProcessInfo.processInfo.activeProcessorCount)))
    }
}

/// One timed run of requests over the bench's connections, with the CPU spent meanwhile.
struct Measured {
    let results: [LoadClient.Outcome]
    let seconds: Double
    /// CPU seconds: the daemon, its writer and checkpointer threads, and this process (the load client).
    let daemon: Double, writer: Double, checkpointer: Double, client: Double
    /// Share of the machine's CPU time that was idle.
    let idle: Double

    func latency(_ p: Double) -> Double { percentile(results.map(\.latency).sorted(), p) }
}

func measure(_ requests: [[UInt8]]) async throws -> Measured {
    let window = CPUWindow(daemonThreads: ["liaison-commit", "liaison-ckpt"])
    let results = try await load.run(requests, connections: connections)
    let spent = window.end()
    return Measured(
        results: results, seconds: spent.seconds, daemon: spent.daemon, writer: spent.threads[0], checkpointer: spent.threads[1],
        client: spent.client, idle: spent.idle)
}

do {
    _ = try await load.run(posts((0..<1000).map { referral(900_000 + $0, to: "cwp-b") }), connections: connections)
    let bodies = (0..<acceptCount).map { referral($0, to: "cwp-b") }
    let bytes = bodies.map(\.count).reduce(0, +) / max(1, bodies.count)
    let run = try await measure(posts(bodies))
    let accepted = run.results.filter { $0.status == 202 }.count
    say(
        String(
            format: "accept: %d of %d messages (%d bytes each) accepted in %.2f s = %.0f accepted/s; ack latency p50 %.1f ms, p99 %.1f ms",
            accepted, acceptCount, bytes, run.seconds, Double(accepted) / run.seconds, run.latency(0.5) * 1000, run.latency(0.99) * 1000))
    let perMessage = 1e6 / Double(max(1, accepted))
    say(
        String(
            format:
                "accept: CPU per accepted message: daemon %.0f µs (its writer thread %.0f µs, checkpointer %.0f µs), load generator %.0f µs; all CPUs idle %.0f%% of the time",
            run.daemon * perMessage, run.writer * perMessage, run.checkpointer * perMessage, run.client * perMessage, run.idle * 100))
}

// 1b. What HTTPS alone costs: authenticated GET /healthz over the same connections, with no body, rules or store.
let probeCount = argument("--probes", 50_000)
if probeCount > 0 {
    let probe = load.get(path: "/healthz", headers: ["Authorization: Bearer \(token)"])
    let run = try await measure(Array(repeating: probe, count: probeCount))
    let answered = run.results.filter { $0.status == 200 }.count
    let perProbe = 1e6 / Double(max(1, answered))
    say(
        String(
            format:
                "probes: %d of %d authenticated GET /healthz answered in %.2f s = %.0f/s; CPU per probe: daemon %.0f µs, load generator %.0f µs (HTTPS, HTTP, routing and authentication alone)",
            answered, probeCount, run.seconds, Double(answered) / run.seconds, run.daemon * perProbe, run.client * perProbe))
}

// 2. Relayed messages/s to the loopback HTTPS sink. The sink first answers 503 with Retry-After, which
// pauses the inbox while a backlog is accepted; then the drain alone is timed.
do {
    let client = HTTPSClient(caBundle: caBundle, connections: connections)
    let pause = max(10, relayCount / 1500 + 5)
    sink.respond { number in number == 1 ? .init(status: 503, retryAfter: pause) : .init(status: 200) }
    _ = client.perform(HTTPSRequest(url: url, headers: headers, body: referral(1_999_999, to: "cwp-a")))
    while sink.count < 1 { try await Task.sleep(for: .milliseconds(5)) }
    let requests = posts((0..<relayCount).map { referral(1_000_000 + $0, to: "cwp-a") })
    let acceptStarted = Date()
    let accepted = try await load.run(requests, connections: connections).filter { $0.status == 202 }.count
    let acceptSeconds = Date().timeIntervalSince(acceptStarted)
    while sink.count < 2 { try await Task.sleep(for: .milliseconds(2)) }
    say("relay: inbox resumed, draining \(accepted) copies")
    let drainStarted = Date()
    let window = CPUWindow(daemonThreads: ["liaison-deliver", "liaison-ckpt"])
    while sink.count < accepted + 2, Date().timeIntervalSince(drainStarted) < 600 { try await Task.sleep(for: .milliseconds(5)) }
    let spent = window.end()
    let drainSeconds = Date().timeIntervalSince(drainStarted)
    say(
        String(
            format:
                "relay: %d messages queued (accepted in %.1f s while the inbox was paused by Retry-After), then delivered with verified signatures to the HTTPS sink in %.2f s = %.0f relayed/s",
            accepted, acceptSeconds, drainSeconds, Double(accepted) / drainSeconds))
    let perCopy = 1e6 / Double(max(1, accepted))
    say(
        String(
            format:
                "relay: CPU per relayed message: daemon %.0f µs (its delivery thread %.0f µs, checkpointer %.0f µs), sink %.0f µs; all CPUs idle %.0f%% of the time",
            spent.daemon * perCopy, spent.threads[0] * perCopy, spent.threads[1] * perCopy, spent.client * perCopy, spent.idle * 100))
}
say(String(format: "daemon resident memory after load: %.0f MB", residentMegabytes(daemon.processID ?? 0)))
daemon.terminate()

// 3. A million copies queued: fill the store through the same router and store code, in shared commits.
do {
    let (router, store) = try inProcess(configPath: daemon.configPath, storePath: daemon.storePath)
    let queued = try Store.openExisting(.file(daemon.storePath), logger: Store.quietLogger).operators
        .status(now: Date().timeIntervalSince1970).map(\.queued).reduce(0, +)
    var remaining = max(0, queuedCount - queued)
    var next = 2_000_000
    let started = Date()
    while remaining > 0 {
        let batch = (0..<min(2000, remaining)).map { index in referral(next + index, to: "cwp-b") }
        next += batch.count
        remaining -= batch.count
        _ = try store.batch(batch) { body, transaction in try router.submit(body, from: "jcp-leeds", at: Date(), in: transaction) }
    }
    say(
        String(
            format: "queued: store filled to %d copies in %.0f s (in-process, same router and store code)", queuedCount,
            Date().timeIntervalSince(started)))
}
try daemon.start()
_ = HTTPSClient(caBundle: caBundle, connections: 4).perform(
    (0..<1000).map {
        HTTPSRequest(url: "https://127.0.0.1:\(daemon.port)/v1/messages", headers: headers, body: referral(3_000_000 + $0, to: "cwp-b"))
    },
    concurrency: 4)
var timings: [Double] = []
var statusLine = ""
for _ in 0..<5 {
    let process = Process()
    process.executableURL = daemon.binary
    process.arguments = ["queue", "status", "--config", daemon.configPath.path]
    let output = Pipe()
    process.standardOutput = output
    let started = Date()
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    timings.append(Date().timeIntervalSince(started))
    statusLine = text.split(separator: "\n").first { $0.hasPrefix("cwp-b/spoc") }.map(String.init) ?? ""
}
timings.sort()
say(
    String(
        format: "queue status with %@ queued: median %.0f ms (of 5 runs, whole command)",
        statusLine.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? "?", percentile(timings, 0.5) * 1000))
say("  \(statusLine)")
say(String(format: "daemon resident memory with the queue full: %.0f MB", residentMegabytes(daemon.processID ?? 0)))
daemon.terminate()
await sink.stop()
finish()
