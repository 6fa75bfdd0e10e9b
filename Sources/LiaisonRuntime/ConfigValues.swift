import Foundation

/// Checks of single values in `liaison.yaml` that a parser would otherwise let through, to fail later and
/// further from the mistake: a party id that cannot sit in an address or a URL path, an inbox URL no
/// connection could be made to, a signing secret a receiver could not verify with.
enum ConfigValues {
    /// Why `id` is not a plain identifier (letters, digits, `-`, `_`, `.`, starting with a letter or digit, at
    /// most 64 characters), or nil when it is. An id appears in addresses (`party/role`), URLs and logs.
    static func partyIDProblem(_ id: String) -> String? {
        guard !id.isEmpty else { return "must not be empty" }
        guard id.utf8.count <= 64 else { return "must be at most 64 characters" }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".utf8)
        guard id.utf8.allSatisfy(allowed.contains) else {
            return "must be a plain identifier: letters, digits, -, _ and . only"
        }
        guard let first = id.unicodeScalars.first, CharacterSet.alphanumerics.contains(first) else {
            return "must start with a letter or a digit"
        }
        return nil
    }

    /// Why `url` is not an HTTPS URL with a usable host (a DNS name, an IPv4 address or a bracketed IPv6
    /// literal) and port, or nil when it is.
    static func inboxURLProblem(_ url: String) -> String? {
        guard url.lowercased().hasPrefix("https://") else { return "must be an https:// URL" }
        let rest = url.dropFirst("https://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains("@") else { return "must not carry a user or password" }
        var host: Substring
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return "has an IPv6 address without its closing ]" }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return "has characters after its IPv6 address" }
                port = after.dropFirst()
            }
            var address = in6_addr()
            guard inet_pton(AF_INET6, String(host), &address) == 1 else { return "has an invalid IPv6 address: [\(host)]" }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                port = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            if let problem = hostnameProblem(host) { return problem }
        }
        if let port {
            guard let number = Int(port), (1...65535).contains(number), port.allSatisfy(\.isASCII) else {
                return "has an invalid port: \(port)"
            }
        }
        guard URLComponents(string: url)?.host != nil, url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else { return "is not a valid URL (spaces and other characters must be percent-encoded)" }
        return nil
    }

    /// Why `host` is not a DNS name or IPv4 address, or nil.
    private static func hostnameProblem(_ host: Substring) -> String? {
        guard !host.isEmpty else { return "has no host" }
        guard host.utf8.count <= 253 else { return "has a host name longer than 253 characters" }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.".utf8)
        guard host.utf8.allSatisfy(allowed.contains) else {
            return "has an invalid host: only letters, digits, - and . (or a bracketed IPv6 address)"
        }
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.count <= 63, label.first != "-", label.last != "-" else {
                return "has an invalid host: \(host)"
            }
        }
        return nil
    }

    /// Why `secret` is not a Standard Webhooks signing secret (`whsec_` and base64 of at least 16 bytes), or nil.
    static func signingSecretProblem(_ secret: String) -> String? {
        guard secret.hasPrefix("whsec_") else { return "must be whsec_ followed by base64 (the Standard Webhooks form)" }
        guard let key = Data(base64Encoded: String(secret.dropFirst(6))) else { return "is whsec_ but not followed by valid base64" }
        guard key.count >= 16 else { return "is too short: at least 16 bytes of key after whsec_" }
        return nil
    }
}
