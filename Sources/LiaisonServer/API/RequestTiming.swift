import Hummingbird

/// Times every request, by its route (the path template, or `unmatched`) and the status answered, for
/// `liaison_http_request_duration_seconds`.
struct RequestTiming: RouterMiddleware {
    typealias Context = ExchangeContext
    let metrics: ExchangeMetrics

    func handle(_ request: Request, context: ExchangeContext, next: (Request, ExchangeContext) async throws -> Response)
        async throws -> Response
    {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        metrics.request(route: context.endpointPath ?? "unmatched", status: response.status.code, seconds: (ContinuousClock.now - started).seconds)
        return response
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
