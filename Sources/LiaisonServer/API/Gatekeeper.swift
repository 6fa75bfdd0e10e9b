import Foundation
import Hummingbird
import LiaisonCore

/// Lets a request through only when its party is authenticated, the daemon is not draining, and the party
/// is within its rate limit; a probe (`admitsProbes`) only when its party is authenticated.
struct Gatekeeper: RouterMiddleware {
    typealias Context = ExchangeContext
    let server: ExchangeServer
    let admitsProbes: Bool

    func handle(_ request: Request, context: ExchangeContext, next: (Request, ExchangeContext) async throws -> Response)
        async throws -> Response
    {
        // Credentials first, also while draining, so that no answer tells a caller without them which paths exist.
        guard let party = await server.party(of: request, context: context) else { return server.unauthenticated(request) }
        guard admitsProbes || server.state.isAccepting else {
            return server.refusedUnread(
                Refusal(.unavailable, "Liaison is shutting down; send again shortly"), party: party, retryAfter: 5)
        }
        if !admitsProbes, let wait = server.rateLimiter.take(party, now: Date().timeIntervalSince1970) {
            return server.refusedUnread(
                Refusal(.rateLimited, "\(party) is over its request rate"), party: party, retryAfter: max(1, Int(wait.rounded(.up))))
        }
        var context = context
        context.party = party
        return try await next(request, context)
    }
}
