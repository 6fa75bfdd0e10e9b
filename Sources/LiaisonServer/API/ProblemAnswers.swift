import Hummingbird
import LiaisonCore
import NIOCore

/// The one place that turns what a handler throws, and a path or method that matches no route, into
/// `application/problem+json` with a stable code (PROTOCOL.md "Errors"):
///
/// - a body over the limit: 413 `too-large`;
/// - a body that broke off (bad chunking, the client gone): 400 `malformed-request`, or 408 `request-timeout`
///   when it was too slow; logged at info, since the client did it, and never a 503 that would have it retry
///   what cannot succeed;
/// - a path no route takes: 404 `not-found`; a method a known path does not take: 405 with `Allow`;
///   both 401 to a caller without credentials, so that the routes cannot be mapped anonymously;
/// - anything else (the store failing): 503 `unavailable` with `Retry-After`, logged as an error without the
///   request's body.
struct ProblemAnswers: RouterMiddleware {
    typealias Context = ExchangeContext
    let server: ExchangeServer
    let endpoints: Endpoints

    func handle(_ request: Request, context: ExchangeContext, next: (Request, ExchangeContext) async throws -> Response)
        async throws -> Response
    {
        // The staff pages answer in HTML, with pages of their own, whatever went wrong.
        if let pages = server.staffPages, request.uri.path == "/ui" || request.uri.path.hasPrefix("/ui/") {
            do {
                return try await next(request, context)
            } catch {
                return pages.errorPage(for: error, context: context)
            }
        }
        do {
            return try await next(request, context)
        } catch is NIOTooManyBytesError {
            return server.problem(server.bodyOverLimit)
        } catch let interrupted as RequestBodyInterrupted {
            let refusal =
                interrupted.tooSlow
                ? Refusal(.requestTimeout, "the request did not arrive whole in time")
                : Refusal(
                    .malformedRequest,
                    interrupted.malformed ? "the request body's framing is not valid HTTP/1.1" : "the request body broke off")
            server.logger.info(
                "request body not read",
                metadata: [
                    "code": .string(refusal.code.rawValue), "cause": "\(interrupted.cause)",
                    "sender": .string(context.party ?? "-"), "method": "\(request.method)",
                ])
            return server.problem(refusal)
        } catch is CancellationError {
            // The daemon is stopping and cancelled the work (past its shutdown bound): not a store failure.
            return server.problem(Refusal(.unavailable, "Liaison is shutting down; send again shortly"), retryAfter: 5)
        } catch is Unauthenticated {
            return server.unauthenticated(request)
        } catch let error as any HTTPResponseError where error.status == .notFound || error.status == .methodNotAllowed {
            guard await server.party(of: request, context: context) != nil else { return server.unauthenticated(request) }
            // The path is not repeated: it is the caller's text, and could hold a NINO.
            let allowed = endpoints.methods(forPath: request.uri.path)
            guard !allowed.isEmpty else { return server.problem(Refusal(.notFound, "no route for this path")) }
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            var response = server.problem(Refusal(.methodNotAllowed, "this path takes \(allow) only"))
            response.headers[.allow] = allow
            return response
        } catch {
            server.logger.error(
                "request failed: store unavailable",
                metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            return server.problem(Refusal(.unavailable, "the store could not be read or written; try again shortly"), retryAfter: 5)
        }
    }
}

/// A handler reached without an authenticated party: only a route registered outside the gatekeeper could.
struct Unauthenticated: Error {}
