import CCurl

/// The libcurl calls the deliverer and the test client share: one-time global set-up, configuring an
/// easy handle for an HTTPS request, and reading a finished transfer.
public enum CurlRequest {
    /// Runs `curl_global_init` once per process, before any thread touches curl.
    public static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    /// A header list for `CURLOPT_HTTPHEADER`; free it with `curl_slist_free_all` after the transfer.
    /// `Expect:` is always added so a POST never waits for `100 Continue`.
    public static func headers(_ lines: [String]) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines + ["Expect:"] { list = curl_slist_append(list, line) }
        return list
    }

    /// Configures `handle` for one HTTPS request: TLS 1.2 or later, no signals, the body copied into curl.
    /// - Parameters:
    ///   - method: `POST` with a body, `GET` without one, or another verb.
    ///   - headers: a list from `headers(_:)`, kept alive by the caller until the transfer ends.
    ///   - caBundle, clientCertificate, clientKey: PEM files for server verification and mutual TLS.
    public static func configure(
        _ handle: UnsafeMutableRawPointer, url: String, method: String, body: [UInt8]?,
        headers: UnsafeMutablePointer<curl_slist>?, timeoutSeconds: Double, caBundle: String?,
        clientCertificate: String?, clientKey: String?
    ) {
        liaison_easy_setopt_string(handle, CURLOPT_URL, url)
        liaison_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        liaison_easy_setopt_long(handle, CURLOPT_PROTOCOLS, Int(CURLPROTO_HTTPS))
        liaison_easy_setopt_long(handle, CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
        if let body {
            liaison_easy_setopt_long(handle, CURLOPT_POST, 1)
            liaison_easy_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, body.count)
            // COPYPOSTFIELDS: curl keeps its own copy, so the array may go away before the transfer ends.
            // An empty array may have no storage at all: an empty body is the empty string.
            body.withUnsafeBufferPointer { buffer in
                if let start = buffer.baseAddress {
                    _ = liaison_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: start))
                } else {
                    _ = liaison_easy_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, "")
                }
            }
        }
        if method != (body == nil ? "GET" : "POST") { liaison_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method) }
        liaison_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headers)
        liaison_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(timeoutSeconds * 1000))
        liaison_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(min(timeoutSeconds, 10) * 1000))
        if let caBundle { liaison_easy_setopt_string(handle, CURLOPT_CAINFO, caBundle) }
        if let clientCertificate, let clientKey {
            liaison_easy_setopt_string(handle, CURLOPT_SSLCERT, clientCertificate)
            liaison_easy_setopt_string(handle, CURLOPT_SSLKEY, clientKey)
        }
    }

    /// A finished transfer: its handle, HTTP status (0 when it failed), `Retry-After` in seconds if the
    /// server sent one, and curl's error text and code (`CURLcode`, 0 when it did not fail).
    public struct Completion {
        public let handle: UnsafeMutableRawPointer
        public let status: Int
        public let retryAfter: Double?
        public let error: String?
        public var code = 0
    }

    /// The next finished transfer on `multi`, or nil when none is waiting.
    public static func nextCompletion(_ multi: UnsafeMutableRawPointer) -> Completion? {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            guard code == CURLE_OK else {
                return Completion(
                    handle: handle, status: 0, retryAfter: nil, error: String(cString: curl_easy_strerror(code)), code: Int(code.rawValue))
            }
            var status = 0
            var retryAfter: curl_off_t = 0
            liaison_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            liaison_easy_getinfo_offset(handle, CURLINFO_RETRY_AFTER, &retryAfter)
            return Completion(handle: handle, status: status, retryAfter: retryAfter > 0 ? Double(retryAfter) : nil, error: nil)
        }
        return nil
    }
}
