import Foundation
import HTTPTypes
import Hummingbird
import LiaisonStore

/// Lets a request to a signed-in page through only with a live session: its cookie known to the store, its
/// member active, not idle past `staff.idleTimeout` nor older than `staff.sessionLifetime`. Anyone else goes to
/// sign in; a session that ran out is ended, and sign-in says why.
struct StaffGate: RouterMiddleware {
    typealias Context = ExchangeContext
    let pages: StaffPages

    /// A session's last use is written at most this often, not on every request.
    static let touchInterval: TimeInterval = 60

    func handle(_ request: Request, context: ExchangeContext, next: (Request, ExchangeContext) async throws -> Response)
        async throws -> Response
    {
        let started = ContinuousClock.now
        // Live updates without a session end for good (204 tells a browser's EventSource not to come back),
        // rather than follow a redirect to a page that is not an event stream.
        let isEventStream = request.uri.path == "/ui/events"
        guard let cookie = request.cookies[StaffPages.sessionCookie]?.value, !cookie.isEmpty else {
            return isEventStream ? Response(status: .noContent) : pages.redirect(to: "/ui/sign-in")
        }
        let staff = pages.config.staff
        let accounts = pages.accounts
        let now = Date()
        let session = try await ExchangeServer.offStore { try accounts.session(cookie: cookie) }
        guard let session else {
            if isEventStream { return Response(status: .noContent) }
            return pages.redirect(to: "/ui/sign-in", cookies: [StaffPages.cookie(StaffPages.sessionCookie, "", maxAge: 0)])
        }
        if now.timeIntervalSince(session.lastSeen) > staff.idleTimeoutSeconds
            || now.timeIntervalSince(session.created) > staff.sessionLifetimeSeconds
        {
            try await ExchangeServer.offStore { try accounts.endSession(cookie: cookie) }
            pages.logger.info("staff session ended: idle or too old", metadata: ["staff": "\(session.member.email)"])
            if isEventStream { return Response(status: .noContent) }
            return pages.redirect(to: "/ui/sign-in?ended=1", cookies: [StaffPages.cookie(StaffPages.sessionCookie, "", maxAge: 0)])
        }
        if now.timeIntervalSince(session.lastSeen) > Self.touchInterval {
            try await ExchangeServer.offStore { try accounts.touch(cookie: cookie, now: now) }
        }
        var context = context
        context.staff = session
        context.staffCookie = cookie
        var response = try await next(request, context)
        // How long the server took over the page, its session included: what the benchmark reads.
        let duration = ContinuousClock.now - started
        let milliseconds = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        if let timing = HTTPField.Name("Server-Timing") { response.headers[timing] = String(format: "app;dur=%.2f", milliseconds) }
        return response
    }
}

extension ExchangeContext {
    /// The signed-in session of a page behind `StaffGate`.
    /// - Throws: `Unauthenticated` for a request that did not pass the gate.
    func staffSession() throws -> StaffAccounts.Session {
        guard let staff else { throw Unauthenticated() }
        return staff
    }
}
