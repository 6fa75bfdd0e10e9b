import Foundation
import LiaisonCore
import LiaisonRuntime
import NIOSSL

/// When the certificates Liaison presents run out: the server's own, and each push inbox's client
/// certificate. An expired one is an outage (clients refuse the server; a receiver refuses the deliveries),
/// so `config check` and the daemon's log warn well before.
public enum CertificateExpiry {
    /// How long before expiry the warnings start.
    public static let warningSeconds: Double = 30 * 86_400

    public struct Certificate: Sendable, Equatable {
        /// What it is, as the configuration names it (`tls.certificate`, `cwp-a/spoc clientCertificate`).
        public let role: String
        public let path: String
        public let notAfter: Date
    }

    /// The certificates of `config` (the local CA's server certificate when `tls` names none), each read
    /// from the first certificate in its PEM file; those that cannot be read are left out (the daemon refuses
    /// them anyway at start).
    public static func certificates(of config: DaemonConfig, local: LocalCertificates) -> [Certificate] {
        var named = [("tls.certificate", config.serverCertificate ?? local.serverCertificate.path)]
        for party in config.parties {
            for (role, mode) in party.inboxes.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                guard case .push(let endpoint) = mode, let path = endpoint.clientCertificate else { continue }
                named.append(("\(Address(party.party.id, role)) clientCertificate", path))
            }
        }
        return named.compactMap { role, path in
            guard let certificate = try? NIOSSLCertificate.fromPEMFile(path).first else { return nil }
            return Certificate(role: role, path: path, notAfter: Date(timeIntervalSince1970: Double(certificate.notValidAfter)))
        }
    }

    /// A warning for each certificate that has expired or expires within `warningSeconds` of `now`.
    public static func warnings(_ certificates: [Certificate], now: Date) -> [String] {
        certificates.compactMap { certificate in
            let left = certificate.notAfter.timeIntervalSince(now)
            guard left < warningSeconds else { return nil }
            let when = Timestamp.format(certificate.notAfter)
            if left <= 0 { return "\(certificate.role) (\(certificate.path)) expired at \(when): renew it now" }
            let days = Int((left / 86_400).rounded(.down))
            return "\(certificate.role) (\(certificate.path)) expires at \(when), in \(days) day\(days == 1 ? "" : "s"): renew it"
        }
    }
}
