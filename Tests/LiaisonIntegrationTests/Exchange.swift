import Foundation
import LiaisonCore
import LiaisonLoad
import LiaisonServer
import Testing

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh temporary folder.
func temporaryFolder(_ name: String) -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-\(name)-\(UUID().uuidString.prefix(8))")
    try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// A valid NINO for claimant number `n`.
func nino(_ n: Int) -> String { String(format: "AB%06dC", n % 1_000_000) }

/// The secret every test inbox signs with.
let testSecret = "whsec_" + Data("liaison-integration-test-secret".utf8).base64EncodedString()

/// Polls until `condition` holds or `seconds` pass.
func eventually(_ seconds: Double = 20, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}

/// One push inbox of the test configuration.
struct PushInbox {
    var party: String
    var role: String
    var port: Int
    var caBundle: String
    var concurrency = 8
    var clientCertificate: String?
    var clientKey: String?
}

/// The real daemon on 127.0.0.1 with the scenario parties, bearer tokens, and the given push inboxes.
final class Exchange {
    let folder: URL
    let daemon: DaemonProcess
    private var clients: [String: HTTPSClient] = [:]

    /// - Parameter certificates: whether each party also authenticates by a client certificate named after it
    ///   (the daemon issues them from its local CA on first start).
    init(
        name: String, inboxes: [PushInbox], retrySchedule: String = "[200ms, 400ms]", lifetime: String = "5d", extra: String = "",
        certificates: Bool = false, delivery: [String] = []
    ) throws {
        folder = temporaryFolder(name)
        var parties = ""
        let all: [(String, String, String?)] = [
            ("jcp-leeds", "jobcentre", "england-and-wales"), ("jcp-york", "jobcentre", "england-and-wales"),
            ("prime-a", "prime", nil), ("cwp-a", "cwp", nil), ("cwp-b", "cwp", nil),
        ]
        for (id, kind, calendar) in all {
            parties += "  - id: \(id)\n    kind: \(kind)\n"
            if let calendar { parties += "    calendar: \(calendar)\n" }
            parties += "    tokens: [\(Exchange.token(id))]\n"
            if certificates { parties += "    certificateName: \(id)\n" }
            let mine = inboxes.filter { $0.party == id }
            if !mine.isEmpty {
                parties += "    inboxes:\n"
                for inbox in mine {
                    parties += "      \(inbox.role):\n        url: https://127.0.0.1:\(inbox.port)/hook\n"
                    parties += "        secrets: [\(testSecret)]\n        caBundle: \(inbox.caBundle)\n"
                    parties += "        concurrency: \(inbox.concurrency)\n        timeout: 5s\n"
                    if let certificate = inbox.clientCertificate, let key = inbox.clientKey {
                        parties += "        clientCertificate: \(certificate)\n        clientKey: \(key)\n"
                    }
                }
            }
        }
        // Load tests send faster than the default per-party rate allows; the rate test sets its own limits.
        let limits = extra.contains("limits:") ? "" : "limits: {requestsPerSecondPerParty: 1000000, burstPerParty: 1000000}"
        let config = """
            listen: {host: 127.0.0.1, port: 0}
            \(limits)
            dataDirectory: data
            rules: \(repository.path)/config/rules.yaml
            holidays: \(repository.path)/config/uk-bank-holidays.json
            \(extra)
            delivery:
              retrySchedule: \(retrySchedule)
              jitterPercent: 0
              lifetime: \(lifetime)
              pullLease: 2s
              drain: 5s
            \(delivery.map { "  " + $0 }.joined(separator: "\n"))
            parties:
            \(parties)
            """
        daemon = try DaemonProcess(binary: DaemonProcess.builtBinary(), folder: folder, config: config)
    }

    static func token(_ party: String) -> String { "token-\(party)-0123456789abcdef" }

    var url: String { "https://127.0.0.1:\(daemon.port)" }
    var caBundle: String { folder.appendingPathComponent("data/tls/ca.pem").path }

    func client(_ party: String) -> HTTPSClient {
        if let client = clients[party] { return client }
        let client = HTTPSClient(caBundle: caBundle, connections: 64)
        clients[party] = client
        return client
    }

    /// The daemon's local certificate authority, with its client certificates.
    var localCertificates: LiaisonServer.LocalCertificates {
        LiaisonServer.LocalCertificates(folder: folder.appendingPathComponent("data/tls"))
    }

    /// A client that authenticates with the client certificate `name` of the daemon's local CA, and no token.
    func certificateClient(_ name: String) -> HTTPSClient {
        let (certificate, key) = localCertificates.client(name)
        return HTTPSClient(caBundle: caBundle, clientCertificate: certificate.path, clientKey: key.path, connections: 4)
    }

    /// Drops kept-alive connections (after a restart).
    func resetClients() { clients.removeAll() }

    func request(_ method: String, _ path: String, as party: String, body: JSONValue? = nil) -> HTTPSRequest {
        HTTPSRequest(
            method: method, url: url + path,
            headers: ["Authorization: Bearer \(Exchange.token(party))", "Content-Type: application/json"],
            body: body.map { Array($0.canonicalText.utf8) })
    }

    /// Submits one message as `party`.
    @discardableResult
    func send(_ message: JSONValue, as party: String) -> HTTPSResult {
        client(party).perform(request("POST", "/v1/messages", as: party, body: message))
    }

    /// Submits many messages as `party` over `concurrency` keep-alive connections.
    func send(_ messages: [JSONValue], as party: String, concurrency: Int = 16) -> [HTTPSResult] {
        client(party).perform(messages.map { request("POST", "/v1/messages", as: party, body: $0) }, concurrency: concurrency)
    }

    func stop() {
        if daemon.isRunning { daemon.terminate() }
        try? FileManager.default.removeItem(at: folder)
    }
}

/// Messages for the stories the tests tell.
enum Messages {
    static let today = UKTime.localDate(at: Date())

    static func envelope(_ type: String, nino: String, to: String? = nil, id: String = UUID().uuidString.lowercased(), body: [String: JSONValue])
        -> JSONValue
    {
        var fields: [String: JSONValue] = [
            "id": .string(id), "type": .string(type), "nino": .string(nino), "sentAt": .string(Timestamp.format(Date())),
            "body": .object(body),
        ]
        if let to { fields["to"] = .string(to) }
        return .object(fields)
    }

    static func cwpReferral(nino: String, to provider: String = "cwp-a", id: String = UUID().uuidString.lowercased()) -> JSONValue {
        envelope(
            "cwp.referral", nino: nino, to: provider, id: id,
            body: [
                "referralDate": .string(today.description), "wpciDate": .string(today.adding(days: -14).description),
                "engagementMeeting": .string(Timestamp.format(Date().addingTimeInterval(86_400 * 7))),
                "restrictions": .string("none"), "alerts": .array([]),
            ])
    }

    static func cwpStart(nino: String) -> JSONValue {
        envelope("cwp.start", nino: nino, body: ["startDate": .string(today.description)])
    }

    static func change(nino: String, detail: String) -> JSONValue {
        envelope(
            "cwp.change-of-circumstances", nino: nino,
            body: ["change": .string("other"), "effectiveDate": .string(today.description), "detail": .string(detail)])
    }

    static func sickness(nino: String) -> JSONValue {
        envelope(
            "cwp.absence", nino: nino,
            body: ["reported": .bool(true), "reason": .string("sickness"), "from": .string(today.description), "to": .string(today.description)])
    }
}
