import CCurl
import Foundation
import LiaisonDelivery

/// One HTTPS request.
public struct HTTPSRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [String]
    public var body: [UInt8]?

    public init(method: String = "POST", url: String, headers: [String] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What came back.
public struct HTTPSResult: Sendable {
    /// 0 when the transfer failed.
    public var status: Int
    public var body: [UInt8]
    /// Header lines as received, lower-cased names (the last, when a name repeats).
    public var headers: [String: String]
    /// Every `Set-Cookie` line, in order.
    public var setCookies: [String] = []
    /// curl's error when the transfer failed.
    public var error: String?
    /// Seconds from start to the last byte.
    public var latency: Double
    /// Connections curl had to open for it: 0 when it went over a kept-alive one.
    public var newConnections = 0

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A libcurl client for tests and benchmarks: runs requests over the multi interface with at most
/// `concurrency` in flight and keeps connections alive between them. Use from one thread at a time.
public final class HTTPSClient {
    private let multi: UnsafeMutableRawPointer
    private let caBundle: String?
    private let clientCertificate: String?
    private let clientKey: String?
    private var idle: [UnsafeMutableRawPointer] = []

    private final class Box {
        var body: [UInt8] = []
        var headers: [String: String] = [:]
        var setCookies: [String] = []
        var started = 0.0
        let index: Int
        var list: UnsafeMutablePointer<curl_slist>?
        init(index: Int) { self.index = index }
    }

    /// - Parameters:
    ///   - caBundle: the CA to verify the server with.
    ///   - clientCertificate/clientKey: for mutual TLS.
    ///   - connections: connections kept open to one host.
    public init(caBundle: String?, clientCertificate: String? = nil, clientKey: String? = nil, connections: Int = 64) {
        _ = CurlRequest.globalInit
        self.caBundle = caBundle
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        multi = curl_multi_init()
        liaison_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, connections)
        liaison_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, connections)
    }

    deinit {
        for handle in idle { curl_easy_cleanup(handle) }
        curl_multi_cleanup(multi)
    }

    /// Runs one request.
    public func perform(_ request: HTTPSRequest) -> HTTPSResult {
        perform([request], concurrency: 1)[0]
    }

    /// Runs every request with at most `concurrency` in flight; results are in request order.
    /// - Parameter onResult: called as each one finishes (on this thread).
    public func perform(
        _ requests: [HTTPSRequest], concurrency: Int, onResult: ((Int, HTTPSResult) -> Void)? = nil
    ) -> [HTTPSResult] {
        var results = [HTTPSResult?](repeating: nil, count: requests.count)
        var boxes: [UnsafeMutableRawPointer: Box] = [:]
        var next = 0
        var running: Int32 = 0
        while next < requests.count || !boxes.isEmpty {
            while next < requests.count, boxes.count < concurrency {
                let (handle, box) = start(requests[next], index: next)
                boxes[handle] = box
                next += 1
            }
            curl_multi_perform(multi, &running)
            while let done = CurlRequest.nextCompletion(multi) {
                let handle = done.handle
                guard let box = boxes.removeValue(forKey: handle) else { continue }
                var connects = 0
                liaison_easy_getinfo_long(handle, CURLINFO_NUM_CONNECTS, &connects)
                let result = HTTPSResult(
                    status: done.status, body: box.body, headers: box.headers, setCookies: box.setCookies, error: done.error,
                    latency: Date().timeIntervalSince1970 - box.started, newConnections: connects)
                results[box.index] = result
                onResult?(box.index, result)
                curl_multi_remove_handle(multi, handle)
                curl_slist_free_all(box.list)
                Unmanaged.passUnretained(box).release()
                curl_easy_reset(handle)
                idle.append(handle)
            }
            if !boxes.isEmpty { curl_multi_poll(multi, nil, 0, 20, nil) }
        }
        return results.map { $0! }
    }

    private func start(_ request: HTTPSRequest, index: Int) -> (UnsafeMutableRawPointer, Box) {
        let handle = idle.popLast() ?? curl_easy_init()!
        let box = Box(index: index)
        box.started = Date().timeIntervalSince1970
        box.list = CurlRequest.headers(request.headers)
        CurlRequest.configure(
            handle, url: request.url, method: request.method, body: request.body, headers: box.list, timeoutSeconds: 30,
            caBundle: caBundle, clientCertificate: clientCertificate, clientKey: clientKey)
        let context = Unmanaged.passRetained(box).toOpaque()
        liaison_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        liaison_easy_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            data!.withMemoryRebound(to: UInt8.self, capacity: length) { box.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length)) }
            return length
        }
        liaison_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        liaison_easy_setopt_write_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            let line = data!.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            }
            if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                box.headers[name] = value
                if name == "set-cookie" { box.setCookies.append(value) }
            }
            return length
        }
        curl_multi_add_handle(multi, handle)
        return (handle, box)
    }
}
