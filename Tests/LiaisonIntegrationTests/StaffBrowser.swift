import Foundation
import LiaisonLoad

/// A browser for the staff pages, as far as tests need one: cookies kept from `Set-Cookie`, forms posted
/// url-encoded with the page's token, redirects not followed (so that tests see them).
final class StaffBrowser {
    let base: String
    let client: HTTPSClient
    private(set) var cookies: [String: String] = [:]
    /// Every `Set-Cookie` line seen, for tests of their attributes.
    private(set) var setCookieLines: [String] = []

    init(base: String, caBundle: String) {
        self.base = base
        client = HTTPSClient(caBundle: caBundle, connections: 2)
    }

    private func keep(_ result: HTTPSResult) -> HTTPSResult {
        for line in result.setCookies {
            setCookieLines.append(line)
            let pair = line.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let name = String(pair[0]).trimmingCharacters(in: .whitespaces)
            if pair[1].isEmpty || line.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = String(pair[1]) }
        }
        return result
    }

    /// Sets a cookie as if the daemon had (a browser carrying a cookie across a restart).
    @discardableResult
    func keepCookie(_ name: String, _ value: String) -> Bool {
        cookies[name] = value
        return true
    }

    private var cookieHeader: [String] {
        cookies.isEmpty ? [] : ["Cookie: " + cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
    }

    func get(_ path: String) -> HTTPSResult {
        keep(client.perform(HTTPSRequest(method: "GET", url: base + path, headers: cookieHeader)))
    }

    /// Posts `fields` url-encoded; the page's token is added unless `token` says otherwise.
    func post(_ path: String, _ fields: [(String, String)], token: String?) -> HTTPSResult {
        var all = fields
        if let token { all.append(("csrfToken", token)) }
        let body = all.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return keep(
            client.perform(
                HTTPSRequest(
                    method: "POST", url: base + path, headers: cookieHeader + ["Content-Type: application/x-www-form-urlencoded"],
                    body: Array(body.utf8))))
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// The form token on a page.
    static func token(in html: String) -> String? {
        guard let range = html.range(of: #"name="csrfToken" value="[^"]+""#, options: .regularExpression) else { return nil }
        return String(html[range].dropLast().split(separator: "\"").last ?? "")
    }

    /// Sets up an account from its set-up link's path, and signs in with it.
    @discardableResult
    func setUpAndSignIn(setupPath: String, email: String, password: String) -> Bool {
        let page = get(setupPath)
        guard let token = Self.token(in: page.text) else { return false }
        guard post(setupPath, [("password", password), ("confirm", password)], token: token).status == 303 else { return false }
        return signIn(email: email, password: password).status == 303
    }

    func signIn(email: String, password: String) -> HTTPSResult {
        let page = get("/ui/sign-in")
        return post("/ui/sign-in", [("email", email), ("password", password)], token: Self.token(in: page.text))
    }
}
