import HTTPTypes
import Hummingbird

/// The API's paths and the methods each takes: registered with the router from one list, and kept for the
/// answer to a method a known path does not take (405 with `Allow`, RFC 9110 §15.5.6).
struct Endpoints: Sendable {
    /// Who may reach an endpoint.
    enum Access: Sendable {
        /// Any configured party, also while draining, never rate limited: health, readiness, metrics.
        case probe
        /// Any configured party within its rate, refused while draining.
        case api
    }

    typealias Handler = @Sendable (Request, ExchangeContext) async throws -> Response

    struct Endpoint: Sendable {
        let method: HTTPRequest.Method
        let path: String
        let access: Access
        let handler: Handler
    }

    private(set) var endpoints: [Endpoint] = []

    mutating func add(_ method: HTTPRequest.Method, _ path: String, _ access: Access, _ handler: @escaping Handler) {
        endpoints.append(Endpoint(method: method, path: path, access: access, handler: handler))
    }

    /// The methods the endpoints matching `path` take, in a stable order; empty when no endpoint's path
    /// matches it.
    func methods(forPath path: String) -> [HTTPRequest.Method] {
        let segments = Self.segments(path)
        var methods: [HTTPRequest.Method] = []
        for endpoint in endpoints where Self.matches(Self.segments(endpoint.path), segments) {
            if !methods.contains(endpoint.method) { methods.append(endpoint.method) }
        }
        return methods.sorted { $0.rawValue < $1.rawValue }
    }

    private static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    /// A `{parameter}` segment matches any one segment.
    private static func matches(_ pattern: [Substring], _ segments: [Substring]) -> Bool {
        pattern.count == segments.count
            && zip(pattern, segments).allSatisfy { wanted, given in wanted.hasPrefix("{") || wanted == given }
    }
}
