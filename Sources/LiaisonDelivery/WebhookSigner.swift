import Crypto
import Foundation

/// Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret,
/// space-separated, so a receiver rotating its secret accepts either.
public struct WebhookSigner: Sendable {
    private let keys: [SymmetricKey]

    /// - Parameter secrets: `whsec_<base64>` secrets (the Standard Webhooks form) or plain strings.
    public init(secrets: [String]) {
        keys = secrets.map { SymmetricKey(data: WebhookSigner.keyBytes($0)) }
    }

    /// The bytes of a secret: base64 after `whsec_`, else the string's UTF-8.
    public static func keyBytes(_ secret: String) -> [UInt8] {
        if secret.hasPrefix("whsec_"), let data = Data(base64Encoded: String(secret.dropFirst(6))) {
            return [UInt8](data)
        }
        return Array(secret.utf8)
    }

    /// The `webhook-signature` header value.
    public func signature(id: String, timestamp: Int, body: [UInt8]) -> String {
        let signed = Array("\(id).\(timestamp).".utf8) + body
        return keys.map { key in
            "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString()
        }.joined(separator: " ")
    }

    /// Whether `header` carries a valid signature for any of these secrets (what a receiver checks).
    public func verify(header: String, id: String, timestamp: Int, body: [UInt8]) -> Bool {
        let expected = Set(signature(id: id, timestamp: timestamp, body: body).split(separator: " ").map(String.init))
        return header.split(separator: " ").contains { expected.contains(String($0)) }
    }
}
