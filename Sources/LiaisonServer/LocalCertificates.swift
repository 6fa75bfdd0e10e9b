import Crypto
import Foundation
import LiaisonStore
import SwiftASN1
import X509

/// The local certificate authority a fresh installation makes for itself on first start, in the data
/// directory: a CA, a server certificate for localhost, and a client certificate per party that
/// authenticates by certificate. Nothing here is ever committed; folders are made 0700, keys 0600.
public struct LocalCertificates: Sendable {
    public let folder: URL
    public var caCertificate: URL { folder.appendingPathComponent("ca.pem") }
    public var caKey: URL { folder.appendingPathComponent("ca-key.pem") }
    public var serverCertificate: URL { folder.appendingPathComponent("server.pem") }
    public var serverKey: URL { folder.appendingPathComponent("server-key.pem") }

    public init(folder: URL) {
        self.folder = folder
    }

    /// The client certificate and key of a party.
    public func client(_ name: String) -> (certificate: URL, key: URL) {
        (folder.appendingPathComponent("clients/\(name).pem"), folder.appendingPathComponent("clients/\(name)-key.pem"))
    }

    /// Creates whatever is missing: the CA, the server certificate, and a client certificate for each name.
    /// - Returns: the files created, for the first-start message.
    @discardableResult
    public func ensure(clientNames: [String]) throws -> [URL] {
        let files = FileManager.default
        try StoreFiles.createPrivateFolder(folder.path)
        try files.createDirectory(
            at: folder.appendingPathComponent("clients"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var created: [URL] = []
        if !files.fileExists(atPath: caCertificate.path) || !files.fileExists(atPath: caKey.path) {
            let key = P256.Signing.PrivateKey()
            let name = try DistinguishedName { CommonName("Liaison local CA") }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(10 * 365 * 86_400),
                issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: .init(key))
            try write(certificate, key: key, to: caCertificate, keyURL: caKey)
            created += [caCertificate, caKey]
            // A new CA invalidates whatever it signed before.
            try? files.removeItem(at: serverCertificate)
            try? files.removeItem(at: folder.appendingPathComponent("clients"))
            try files.createDirectory(
                at: folder.appendingPathComponent("clients"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let (ca, caPrivateKey) = try loadCA()
        if !files.fileExists(atPath: serverCertificate.path) || !files.fileExists(atPath: serverKey.path) {
            try issue(
                commonName: "localhost", serverAuth: true, by: ca, caKey: caPrivateKey, to: serverCertificate, keyURL: serverKey)
            created += [serverCertificate, serverKey]
        }
        for name in clientNames {
            let (certificate, key) = client(name)
            if !files.fileExists(atPath: certificate.path) || !files.fileExists(atPath: key.path) {
                try issue(commonName: name, serverAuth: false, by: ca, caKey: caPrivateKey, to: certificate, keyURL: key)
                created += [certificate, key]
            }
        }
        return created
    }

    private func loadCA() throws -> (Certificate, P256.Signing.PrivateKey) {
        let certificate = try Certificate(pemEncoded: String(contentsOf: caCertificate, encoding: .utf8))
        let key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOf: caKey, encoding: .utf8))
        return (certificate, key)
    }

    private func issue(
        commonName: String, serverAuth: Bool, by ca: Certificate, caKey: P256.Signing.PrivateKey, to url: URL, keyURL: URL
    ) throws {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(commonName) }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([serverAuth ? .serverAuth : .clientAuth])
            if serverAuth {
                SubjectAlternativeNames([
                    .dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                    .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
                ])
            }
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(2 * 365 * 86_400),
            issuer: ca.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: .init(caKey))
        try write(certificate, key: key, to: url, keyURL: keyURL)
    }

    private func write(_ certificate: Certificate, key: P256.Signing.PrivateKey, to url: URL, keyURL: URL) throws {
        let files = FileManager.default
        _ = files.createFile(atPath: keyURL.path, contents: Data(key.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600])
        try certificate.serializeAsPEM().pemString.write(to: url, atomically: true, encoding: .utf8)
    }
}
