import Crypto
import Foundation
import LiaisonRuntime
import NIOSSL
import X509

/// Maps credentials to a configured party: a bearer token, or the common name of a client certificate that
/// the TLS layer has already verified against the client CA.
struct Authenticator: Sendable {
    private let partiesByToken: [SHA256Digest: String]
    private let partiesByCertificateName: [String: String]

    init(parties: [DaemonConfig.PartyConfig]) {
        var byToken: [SHA256Digest: String] = [:]
        var byName: [String: String] = [:]
        for config in parties {
            for token in config.tokens { byToken[Self.digest(token.utf8)] = config.party.id }
            if let name = config.certificateName { byName[name] = config.party.id }
        }
        partiesByToken = byToken
        partiesByCertificateName = byName
    }

    /// Tokens are compared by digest, so lookup time says nothing about how close a guess was.
    private static func digest<Bytes: Sequence<UInt8>>(_ token: Bytes) -> SHA256Digest { SHA256.hash(data: Array(token)) }

    /// Whether an `Authorization` header is of the Bearer scheme (in any case).
    static func isBearer(_ header: String) -> Bool {
        let bytes = header.utf8
        guard let space = bytes.firstIndex(of: UInt8(ascii: " ")) else { return false }
        return bytes[..<space].elementsEqual("bearer".utf8, by: { $0 | 0x20 == $1 })
    }

    /// The party of a bearer token (`Authorization: Bearer …`). Read as bytes: this runs on every request.
    func party(forAuthorization header: String) -> String? {
        let bytes = header.utf8
        guard Self.isBearer(header), let space = bytes.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var token = bytes[bytes.index(after: space)...]
        while let first = token.first, isBlank(first) { token = token.dropFirst() }
        while let last = token.last, isBlank(last) { token = token.dropLast() }
        return partiesByToken[Self.digest(token)]
    }

    /// The party of a verified client certificate.
    func party(forCertificate certificate: NIOSSLCertificate) -> String? {
        guard let parsed = try? Certificate(derEncoded: certificate.toDERBytes()) else { return nil }
        for name in Self.commonNames(of: parsed.subject) {
            if let party = partiesByCertificateName[name] { return party }
        }
        return nil
    }

    static func commonNames(of name: DistinguishedName) -> [String] {
        name.flatMap { relative in
            // The value as issued: its description escapes characters such as `,` for a distinguished name's
            // text, so `Acme, Ltd` would never match the name configured.
            relative.filter { $0.type == .RDNAttributeType.commonName }.compactMap { String($0.value) }
        }
    }
}
