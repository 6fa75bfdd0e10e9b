import Foundation
import LiaisonCore
import LiaisonLoad

/// A TCP port for a dead inbox: `refusing`, one nothing listens on (connections refused at once), or a black
/// hole, one that completes the handshake in the kernel's backlog and never answers (each attempt runs into
/// the inbox's timeout).
final class DeadPort {
    let port: Int
    private let descriptor: Int32

    init(blackHole: Bool) throws {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, length) }
        }
        guard bound == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot bind a port for the dead inbox"]) }
        withUnsafeMutablePointer(to: &address) { pointer in
            _ = pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        if blackHole {
            // Listening and never accepting: the kernel completes handshakes into the backlog, and no byte is answered.
            listen(socketDescriptor, 4096)
            descriptor = socketDescriptor
        } else {
            // Bound and closed: nothing listens, so connections are refused.
            close(socketDescriptor)
            descriptor = -1
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }
}

/// 10. `--dead-inbox N`: the healthy inbox's relay rate alone, beside an inbox that refuses connections, and
/// beside a black hole, each with N copies waiting for the dead inbox, in one run. The floor is 0.9 × the rate
/// alone. Each configuration is a fresh daemon; the healthy inbox is paused (a 503 with Retry-After) while the
/// dead inbox's copies and the healthy backlog are accepted, then resumed (`queue retry --inbox`), and the drain
/// of the healthy backlog is timed.
func deadInboxComparison(deadCopies: Int, healthyCopies: Int, rounds: Int) async throws {
    say(
        "liaison-bench --dead-inbox: \(healthyCopies) copies relayed to a healthy inbox; \(deadCopies) waiting for a dead one; \(rounds) interleaved rounds"
    )
    let configurations: [(String, Bool?)] = [("alone", nil), ("beside a refusing inbox", false), ("beside a black hole", true)]
    var rates: [String: [Double]] = [:]
    var run = 0
    for _ in 0..<rounds {
        for (name, dead) in configurations {
            rates[name, default: []].append(try await deadInboxRun(name, dead: dead, deadCopies: deadCopies, healthyCopies: healthyCopies, run: run))
            run += 1
        }
    }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    let alone = median(rates["alone"] ?? [0])
    for (name, _) in configurations.dropFirst() {
        let rate = median(rates[name] ?? [0])
        say(
            String(
                format:
                    "floor: healthy inbox %@ %.0f/s (median of %@) = %.2f x its rate alone %.0f/s (median of %@) (floor 0.9), %d dead copies waiting",
                name, rate, (rates[name] ?? []).map { String(format: "%.0f", $0) }.joined(separator: ", "), rate / alone, alone,
                (rates["alone"] ?? []).map { String(format: "%.0f", $0) }.joined(separator: ", "), deadCopies))
    }
}

/// One configuration's run: a fresh daemon, the dead inbox's copies and the healthy backlog accepted while the
/// healthy inbox is paused, then the healthy drain timed. - Returns: its relayed/s.
func deadInboxRun(_ name: String, dead: Bool?, deadCopies: Int, healthyCopies: Int, run: Int) async throws -> Double {
    do {
        let rates = run
        let sink = try WebhookSink(folder: folder.appendingPathComponent("sink-\(rates)"), secrets: [secret], record: false)
        let sinkPort = try await sink.start()
        let deadPort = try dead.map { try DeadPort(blackHole: $0) }
        var config = benchConfig(sinkPort: sinkPort, caBundle: sink.caBundle)
        if let deadPort {
            // cwp-b's SPOC, the dead inbox, as many transfers at once as the healthy one, and a 5 s timeout.
            config = config.replacingOccurrences(
                of: "  - {id: cwp-b, kind: cwp, tokens: [bench-token-cwp-b-0123456789]}",
                with: """
                      - id: cwp-b
                        kind: cwp
                        tokens: [bench-token-cwp-b-0123456789]
                        inboxes:
                          spoc: {url: "https://127.0.0.1:\(deadPort.port)/hook", secrets: [\(secret)], caBundle: \(sink.caBundle), concurrency: 64, timeout: 5s}
                    """)
        }
        let instance = try DaemonProcess(
            binary: DaemonProcess.builtBinary(), folder: folder.appendingPathComponent("dead-\(rates)"), config: config)
        let port = try instance.start()
        let load = LoadClient(port: port, caBundle: instance.folder.appendingPathComponent("data/tls/ca.pem").path)
        let headers = ["Authorization: Bearer \(token)", "Content-Type: application/json"]
        // The healthy inbox pauses at its first copy while the rest is accepted; an operator's retry ends the pause.
        sink.respond { number in number == 1 ? .init(status: 503, retryAfter: 3600) : .init(status: 200) }
        _ = try await load.run([load.post(path: "/v1/messages", headers: headers, body: referral(2_999_999, to: "cwp-a"))], connections: 1)
        while sink.count < 1 { try await Task.sleep(for: .milliseconds(5)) }
        let filled = Date()
        if deadPort != nil {
            for start in stride(from: 0, to: deadCopies, by: 50_000) {
                let bodies = (start..<min(start + 50_000, deadCopies)).map { referral(3_000_000 + $0, to: "cwp-b") }
                _ = try await load.run(bodies.map { load.post(path: "/v1/messages", headers: headers, body: $0) }, connections: connections)
            }
        }
        let bodies = (0..<healthyCopies).map { referral(5_000_000 + $0, to: "cwp-a") }
        let accepted = try await load.run(bodies.map { load.post(path: "/v1/messages", headers: headers, body: $0) }, connections: connections)
            .filter { $0.status == 202 }.count
        say(
            String(
                format: "dead inbox %@: %d healthy and %d dead copies accepted in %.0f s", name, accepted, deadPort == nil ? 0 : deadCopies,
                Date().timeIntervalSince(filled)))
        // Ten seconds more for the dead inbox's first attempts to fail (the black hole's run into their 5 s
        // timeout) and its circuit to open, as it would have long since in service; then the healthy inbox resumes.
        if deadPort != nil { try await Task.sleep(for: .seconds(10)) }
        let resumed = try DaemonProcess.run([
            DaemonProcess.builtBinary().path, "queue", "retry", "--inbox", "cwp-a/spoc", "--config", instance.configPath.path,
        ])
        guard resumed.status == 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "queue retry failed: \(resumed.output)"])
        }
        while sink.count < 2 { try await Task.sleep(for: .milliseconds(2)) }
        let started = Date()
        while sink.count < accepted + 2, Date().timeIntervalSince(started) < 900 { try await Task.sleep(for: .milliseconds(5)) }
        let seconds = Date().timeIntervalSince(started)
        let rate = Double(accepted) / seconds
        let log = (try? String(contentsOf: instance.logPath, encoding: .utf8)) ?? ""
        let circuit = log.contains("circuit open") ? "; the dead inbox's circuit opened" : ""
        say(
            String(
                format: "dead inbox %@: %d copies relayed to the healthy inbox in %.2f s = %.0f relayed/s%@", name, accepted, seconds, rate, circuit))
        instance.terminate()
        await sink.stop()
        withExtendedLifetime(deadPort) {}
        return rate
    }
}
