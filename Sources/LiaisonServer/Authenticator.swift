import Crypto
import Foundation
import LiaisonRuntime
import NIOSSL
import X509

/// Maps credentials to a configured party: a bearer token, or the common name of a client certificate that
/// the TLS layer has already verified against the client CA.
struct Authenticator: Sendable {
    private let partiesByToken: [Data: String]
    private let partiesByCertificateName: [String: String]

    init(parties: [DaemonConfig.PartyConfig]) {
        var byToken: [Data: String] = [:]
        var byName: [String: String] = [:]
        for config in parties {
            for token in config.tokens { byToken[Self.digest(token)] = config.party.id }
            if let name = config.certificateName { byName[name] = config.party.id }
        }
        partiesByToken = byToken
        partiesByCertificateName = byName
    }

    /// Tokens are compared by digest, so lookup time says nothing about how close a guess was.
    private static func digest(_ token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    /// The party of a bearer token (`Authorization: Bearer …`).
    func party(forAuthorization header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        var token = parts[1]
        while token.first == " " || token.first == "\t" { token.removeFirst() }
        while token.last == " " || token.last == "\t" { token.removeLast() }
        return partiesByToken[Self.digest(String(token))]
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
            relative.filter { $0.type == .RDNAttributeType.commonName }.map { String(describing: $0.value) }
        }
    }
}
