import Foundation
import LiaisonCore
import LiaisonLoad
import LiaisonStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Hostile and broken requests against the real daemon, byte by byte over TLS: each gets a clear 4xx in
/// problem+json with a stable code, none is taken for a store failure, and no connection is left stuck.
@Suite(.serialized) struct HardEdgesTests {
    /// A daemon with a short request timeout, and a TLS context for raw connections to it.
    private func start(_ name: String, requestTimeout: String = "30s") throws -> (Exchange, TLSClientContext) {
        let exchange = try Exchange(
            name: name, inboxes: [],
            extra: "limits: {requestsPerSecondPerParty: 1000000, burstPerParty: 1000000, requestTimeout: \(requestTimeout)}")
        try exchange.daemon.start()
        return (exchange, try TLSClientContext(caBundle: exchange.caBundle))
    }

    private func connect(_ exchange: Exchange, _ tls: TLSClientContext) throws -> RawTLSConnection {
        try RawTLSConnection(port: exchange.daemon.port, context: tls)
    }

    private func head(_ method: String, _ path: String, _ headers: [String] = [], as party: String? = "cwp-a") -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let party { text += "Authorization: Bearer \(Exchange.token(party))\r\n" }
        for header in headers { text += header + "\r\n" }
        return text + "\r\n"
    }

    private func log(_ exchange: Exchange) -> String { (try? String(contentsOf: exchange.daemon.logPath, encoding: .utf8)) ?? "" }

    /// The problem's `code`, when the response is problem+json.
    private func code(_ response: RawTLSConnection.Response?) -> String? {
        guard let response, response.headers["content-type"] == "application/problem+json" else { return nil }
        return (try? JSONValue.parse(response.body))?["code"]?.stringValue
    }

    @Test func brokenFramingIs400InProblemJSONLoggedAtInfoAndNeverAStoreFailure() async throws {
        let (exchange, tls) = try start("framing")
        defer { exchange.stop() }
        let message = Messages.cwpStart(nino: nino(1)).canonicalText
        let chunked = head("POST", "/v1/messages", ["Content-Type: application/json", "Transfer-Encoding: chunked"])
        let framings: [(String, String)] = [
            ("chunk size not hex", chunked + "zz\r\n\(message)\r\n0\r\n\r\n"),
            ("negative chunk size", chunked + "-5\r\nhello\r\n0\r\n\r\n"),
            ("enormous chunk size", chunked + "fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
            ("chunk without its CRLF", chunked + "5\r\nhelloXX0\r\n\r\n"),
            (
                "Content-Length with Transfer-Encoding",
                head("POST", "/v1/messages", ["Content-Type: application/json", "Content-Length: 5", "Transfer-Encoding: chunked"])
                    + "5\r\nhello\r\n0\r\n\r\n"
            ),
        ]
        for (name, bytes) in framings {
            let connection = try connect(exchange, tls)
            connection.send(bytes)
            let response = connection.response()
            #expect(response?.status == 400, "\(name)")
            #expect(code(response) == "malformed-request", "\(name)")
            #expect(connection.closesWithin(5), "\(name): the connection is closed after")
        }
        // A client that hangs up mid-body, and one whose body is cut short and then closed.
        for _ in 0..<5 {
            let connection = try connect(exchange, tls)
            connection.send(head("POST", "/v1/messages", ["Content-Type: application/json", "Content-Length: 500"]) + "{\"id\":")
            try await Task.sleep(for: .milliseconds(100))
            connection.close()
        }
        // Still serving, and none of it was taken for the store's failure.
        #expect(exchange.send(Messages.cwpReferral(nino: nino(2)), as: "jcp-leeds").status == 202)
        #expect(await eventually(5) { log(exchange).components(separatedBy: "request body not read").count - 1 >= 9 })
        let text = log(exchange)
        #expect(!text.contains("store unavailable"))
        #expect(!text.contains(" error "))
        #expect(!text.contains("status=503"))
        for line in text.split(separator: "\n") where line.contains("malformed-request") { #expect(line.contains(" info ")) }
    }

    @Test func answersMadeBelowTheRouterAreProblemJSONWithAStableCode() async throws {
        let (exchange, tls) = try start("below-router")
        defer { exchange.stop() }
        func ask(_ bytes: String) throws -> (RawTLSConnection.Response?, RawTLSConnection) {
            let connection = try connect(exchange, tls)
            connection.send(bytes)
            return (connection.response(), connection)
        }
        // An unknown method.
        let (foo, fooConnection) = try ask(head("FOO", "/v1/messages"))
        #expect(foo?.status == 501)
        #expect(code(foo) == "method-not-implemented")
        #expect(fooConnection.closesWithin(5))
        // Too many headers, and one header too large.
        let many = (0..<1_000).map { "X-Filler-\($0): x" }
        let (tooMany, _) = try ask(head("GET", "/healthz", many))
        #expect(tooMany?.status == 431)
        #expect(code(tooMany) == "headers-too-large")
        let (tooLarge, _) = try ask(head("GET", "/healthz", ["X-Large: " + String(repeating: "a", count: 200_000)]))
        #expect(tooLarge?.status == 431)
        #expect(code(tooLarge) == "headers-too-large")
        // CONNECT: answered at once, and the connection closed, not left to idle out.
        let started = Date()
        let (tunnel, connectConnection) = try ask("CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n")
        #expect(tunnel?.status == 405)
        #expect(code(tunnel) == "method-not-allowed")
        #expect(tunnel?.headers["allow"] != nil)
        #expect(connectConnection.closesWithin(5))
        #expect(Date().timeIntervalSince(started) < 5)
        // A method a known path does not take: 405 with Allow, to an authenticated caller; 401 without.
        for (method, path, allow) in [
            ("TRACE", "/v1/messages", "POST"), ("GET", "/v1/messages", "POST"), ("POST", "/healthz", "GET"),
            ("DELETE", "/v1/inbox/spoc", "GET"), ("GET", "/v1/inbox/spoc/ack", "POST"),
        ] {
            let (answer, _) = try ask(head(method, path, ["Content-Length: 0"]))
            #expect(answer?.status == 405, "\(method) \(path)")
            #expect(code(answer) == "method-not-allowed", "\(method) \(path)")
            #expect(answer?.headers["allow"] == allow, "\(method) \(path)")
            let (anonymous, _) = try ask(head(method, path, ["Content-Length: 0"], as: nil))
            #expect(anonymous?.status == 401, "\(method) \(path)")
        }
        let (unknown, _) = try ask(head("GET", "/v1/nothing-here"))
        #expect(unknown?.status == 404)
        #expect(code(unknown) == "not-found")
        // After a refusal below the router, the requests before it on the connection are still answered first.
        let pipelined = try connect(exchange, tls)
        pipelined.send(head("GET", "/healthz") + "FOO / HTTP/1.1\r\n\r\n")
        #expect(pipelined.response()?.status == 200)
        #expect(code(pipelined.response()) == "method-not-implemented")
        #expect(pipelined.closesWithin(5))
        // Everything refused below the router is logged at info, never as the store's failure.
        #expect(!log(exchange).contains("store unavailable"))
    }

    @Test func aBodyThatIsNotJSONByItsContentTypeIs415() throws {
        let (exchange, tls) = try start("media-type")
        defer { exchange.stop() }
        let body = Messages.cwpStart(nino: nino(3)).canonicalText
        for contentType in ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", nil] {
            let connection = try connect(exchange, tls)
            let headers = (contentType.map { ["Content-Type: \($0)"] } ?? []) + ["Content-Length: \(body.utf8.count)"]
            connection.send(head("POST", "/v1/messages", headers) + body)
            let response = connection.response()
            #expect(response?.status == 415, "\(contentType ?? "none")")
            #expect(code(response) == "unsupported-media-type", "\(contentType ?? "none")")
        }
        let referral = Messages.cwpReferral(nino: nino(3)).canonicalText
        let connection = try connect(exchange, tls)
        connection.send(
            head(
                "POST", "/v1/messages", ["Content-Type: Application/JSON; charset=UTF-8", "Content-Length: \(referral.utf8.count)"], as: "jcp-leeds")
                + referral)
        #expect(connection.response()?.status == 202)
        // An acknowledgement too.
        let ack = try connect(exchange, tls)
        ack.send(head("POST", "/v1/inbox/spoc/ack", ["Content-Type: text/plain", "Content-Length: 10"]) + "{\"ids\":[]}")
        #expect(code(ack.response()) == "unsupported-media-type")
    }

    /// 500 clients that trickle their body a byte a second are all answered 408 and disconnected within the
    /// request timeout of their first byte, and others are served meanwhile.
    @Test func slowClientsAreCutOffAtTheRequestTimeoutWhileOthersAreServed() async throws {
        let timeout = 4.0
        let (exchange, tls) = try start("slow", requestTimeout: "\(Int(timeout))s")
        defer { exchange.stop() }
        var slow: [RawTLSConnection] = []
        for _ in 0..<500 { slow.append(try connect(exchange, tls)) }
        // Ten more send their head itself a byte at a time.
        var slowHeads: [RawTLSConnection] = []
        for _ in 0..<10 { slowHeads.append(try connect(exchange, tls)) }
        let started = Date()
        for connection in slow {
            connection.send(head("POST", "/v1/messages", ["Content-Type: application/json", "Content-Length: 1000"]))
        }
        let slowHead = Array(head("GET", "/healthz").utf8)
        var closedAt: [Int: Double] = [:]
        var statuses: [Int: Int] = [:]
        var served: [Double] = []
        var second = 0
        while closedAt.count < slow.count + slowHeads.count, Date().timeIntervalSince(started) < timeout + 6 {
            for (index, connection) in (slow + slowHeads).enumerated() where closedAt[index] == nil {
                if connection.read(for: 0) {
                    closedAt[index] = Date().timeIntervalSince(started)
                    statuses[index] = connection.response(within: 0)?.status ?? 0
                    continue
                }
                if index < slow.count {
                    connection.send("x")
                } else if second < slowHead.count {
                    connection.send([slowHead[second]])
                }
            }
            // Meanwhile another client is served at once.
            let asked = Date()
            let probe = exchange.client("cwp-b").perform(exchange.request("GET", "/healthz", as: "cwp-b"))
            if probe.status == 200 { served.append(Date().timeIntervalSince(asked)) }
            second += 1
            try await Task.sleep(for: .milliseconds(max(0, 1000 - Int(Date().timeIntervalSince(asked) * 1000))))
        }
        #expect(closedAt.count == slow.count + slowHeads.count, "every slow connection is closed")
        // Each within the bound of its first byte (sent within the first second), with margin for this loop's
        // once-a-second rounds on a loaded machine (CI saw 6.3 s against 6): far from the minute an idle
        // connection is kept, which is what a missing cut-off would show.
        #expect((closedAt.values.max() ?? .infinity) < timeout + 4)
        #expect(statuses.values.filter { $0 == 408 }.count == slow.count + slowHeads.count)
        #expect(served.count >= Int(timeout) - 1)
        #expect((served.max() ?? .infinity) < 1)
        #expect(exchange.send(Messages.cwpReferral(nino: nino(4)), as: "jcp-leeds").status == 202)
        #expect(!log(exchange).contains("store unavailable"))
    }

    /// TLS 1.3, or TLS 1.2 with ECDHE and an AEAD cipher; never a CBC suite with SHA-1. Asked of the server
    /// with `openssl s_client`, as an outside client would.
    @Test func onlyModernCipherSuitesAreNegotiated() throws {
        let (exchange, _) = try start("tls")
        defer { exchange.stop() }
        func handshake(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments =
                ["s_client", "-connect", "127.0.0.1:\(exchange.daemon.port)", "-CAfile", exchange.caBundle, "-brief"]
                + arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return text
        }
        for cbc in ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256", "AES128-SHA", "AES128-GCM-SHA256"] {
            let text = try handshake(["-tls1_2", "-cipher", cbc])
            #expect(!text.contains("CONNECTION ESTABLISHED"), "\(cbc) was negotiated")
        }
        for aead in ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"] {
            let text = try handshake(["-tls1_2", "-cipher", aead])
            #expect(text.contains("CONNECTION ESTABLISHED") && text.contains(aead), "\(aead) was refused: \(text.prefix(400))")
        }
        let modern = try handshake(["-tls1_3"])
        #expect(modern.contains("Protocol version: TLSv1.3"))
        #expect(try handshake(["-tls1_1"]).contains("CONNECTION ESTABLISHED") == false)
    }

    /// The data folder and the store are private whatever the umask; loosened, the daemon and `config check`
    /// say so.
    @Test func theStoreAndItsFolderArePrivateAndLoosenedOnesAreWarnedOf() async throws {
        let previous = umask(0o022)
        defer { umask(previous) }
        let (exchange, _) = try start("private")
        defer { exchange.stop() }
        #expect(exchange.send(Messages.cwpReferral(nino: nino(5)), as: "jcp-leeds").status == 202)
        let data = exchange.folder.appendingPathComponent("data")
        func mode(_ path: String) -> Int {
            var status = stat()
            return stat(path, &status) == 0 ? Int(status.st_mode & 0o777) : -1
        }
        let store = data.appendingPathComponent("liaison.sqlite").path
        #expect(mode(data.path) == 0o700)
        for path in StoreFiles.paths(ofStore: store) { #expect(mode(path) == 0o600, "\(path)") }
        #expect(mode(data.appendingPathComponent("tls/server-key.pem").path) == 0o600)
        #expect(!log(exchange).contains("readable by others"))
        // Loosened by hand: the next start warns, naming the files.
        exchange.daemon.terminate()
        chmod(store, 0o644)
        chmod(data.path, 0o755)
        try exchange.daemon.start()
        #expect(await eventually(5) { log(exchange).contains("readable by others") })
        let warning = log(exchange).split(separator: "\n").first { $0.contains("readable by others") }.map(String.init) ?? ""
        #expect(warning.contains(" warning "))
        #expect(warning.contains("liaison.sqlite (644)"))
        #expect(warning.contains("\(data.path) (755)"))
    }

    @Test func aShortPullSaysHowManyCopiesWaitBehindALeasedOne() throws {
        let (exchange, _) = try start("waiting")
        defer { exchange.stop() }
        // A copy for one claimant to cwp-a's pulled SPOC inbox, leased and not yet acknowledged; then two more.
        #expect(exchange.send(Messages.cwpReferral(nino: nino(6)), as: "jcp-leeds").status == 202)
        let client = exchange.client("cwp-a")
        let first = try JSONValue.parse(client.perform(exchange.request("GET", "/v1/inbox/spoc?limit=10", as: "cwp-a")).text)
        #expect(first["messages"]?.arrayValue?.count == 1)
        #expect(first["waitingBehindLeased"] == .int(0))
        #expect(exchange.send(Messages.change(nino: nino(6), detail: "one"), as: "jcp-leeds").status == 202)
        #expect(exchange.send(Messages.change(nino: nino(6), detail: "two"), as: "jcp-leeds").status == 202)
        let again = try JSONValue.parse(client.perform(exchange.request("GET", "/v1/inbox/spoc", as: "cwp-a")).text)
        #expect(again["messages"]?.arrayValue?.isEmpty == true)
        #expect(again["waitingBehindLeased"] == .int(2))
    }
}
