import Foundation
import HTTPTypes
import Hummingbird
import LiaisonCore
import LiaisonRuntime
import LiaisonStore
import Logging
import Mustache
import NIOCore

/// The staff pages under `/ui/`: Jobcentre and provider staff read their party's notices, answer them and send
/// new ones in a browser. Pages are rendered on the server from the templates in `Staff/Templates` (compiled
/// into the binary); every page works without JavaScript. One file per page or flow (`SignIn`, `SetUp`, `Home`,
/// `Inbox`, `Notice`, `Send`, `LiveUpdates`); this one composes them and holds what they share.
struct StaffPages: Sendable {
    /// The configuration and rules in force, replaced by a reload (SIGHUP).
    let live: LiveSettings
    let accounts: StaffAccounts
    let inbox: StaffInbox
    let committer: GroupCommitter
    let events: StaffEvents
    let submissions: SubmissionLog
    let logger: Logger
    private let templates: StaffTemplates
    /// Delays and bounds on sign-ins and password hashing.
    let signInGuard: SignInGuard

    /// The session cookie and the cookie that guards the forms shown before sign-in.
    static let sessionCookie = "liaison_session"
    static let formCookie = "liaison_form"

    var config: DaemonConfig { live.snapshot.config }
    var rules: RuleSet { live.snapshot.rules }
    var directory: PartyDirectory { live.snapshot.directory }

    init(
        live: LiveSettings, accounts: StaffAccounts, inbox: StaffInbox, committer: GroupCommitter, events: StaffEvents,
        metrics: ExchangeMetrics, logger: Logger
    ) throws {
        (self.live, self.accounts, self.inbox) = (live, accounts, inbox)
        (self.committer, self.events, self.logger) = (committer, events, logger)
        submissions = SubmissionLog(metrics: metrics, logger: logger)
        templates = try StaffTemplates()
        signInGuard = SignInGuard(policy: live.snapshot.config.staff.signIn)
    }

    /// Adds the pages' routes: those open to anyone (sign-in, set-up, assets) and those behind a session.
    func register(on router: Hummingbird.Router<ExchangeContext>) {
        let open = router.group("ui")
        open.get("assets/{file}") { _, context in asset(try context.parameters.require("file")) }
        open.get("sign-in") { request, context in try await signInPage(request, context: context) }
        open.post("sign-in") { request, context in try await signIn(request, context: context) }
        open.get("setup/{token}") { request, context in
            try await setUpPage(request, token: try context.parameters.require("token"), context: context)
        }
        open.post("setup/{token}") { request, context in
            try await setUp(request, token: try context.parameters.require("token"), context: context)
        }
        let signedIn = router.group("ui").add(middleware: StaffGate(pages: self))
        signedIn.get("/") { _, context in try await home(context: context) }
        signedIn.post("sign-out") { request, context in try await signOut(request, context: context) }
        signedIn.get("inbox/{role}") { request, context in try await inboxPage(request, context: context) }
        signedIn.post("inbox/{role}") { request, context in try await findClaimant(request, context: context) }
        signedIn.get("messages/{id}") { request, context in try await notice(request, context: context) }
        signedIn.post("messages/{id}/done") { request, context in try await markDone(request, context: context) }
        signedIn.get("send") { request, context in try await sendChoice(request, context: context) }
        signedIn.get("send/{type}") { request, context in try await sendPage(request, context: context) }
        signedIn.post("send/{type}") { request, context in try await send(request, context: context) }
        signedIn.get("events") { _, context in try liveUpdates(context: context) }
    }

    // MARK: Rendering

    /// Every page's headers: nothing from elsewhere, not framed, no referrer (a URL never carries a NINO, but
    /// a set-up link's token must not leak either), not cached (pages hold personal data).
    static func secure(_ response: inout Response) {
        response.headers[.contentSecurityPolicy] =
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
        response.headers[HTTPField.Name("Referrer-Policy") ?? .contentSecurityPolicy] = "no-referrer"
        response.headers[HTTPField.Name("X-Content-Type-Options") ?? .contentSecurityPolicy] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options") ?? .contentSecurityPolicy] = "DENY"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
    }

    /// A page from `template` with `model`.
    func render(_ template: String, _ model: Any, status: HTTPResponse.Status = .ok) -> Response {
        let html = templates.render(template, model)
        var response = Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
        Self.secure(&response)
        return response
    }

    /// 303 See Other to `path` (a page after a form, so that a reload never posts again).
    func redirect(to path: String, cookies: [Cookie] = []) -> Response {
        var response = Response(status: .seeOther, headers: [.location: path])
        for cookie in cookies { response.setCookie(cookie) }
        Self.secure(&response)
        return response
    }

    /// A page that says one thing: not found, not allowed, expired, a problem.
    func info(
        _ heading: String, _ paragraphs: [String], link: LinkView? = nil, status: HTTPResponse.Status, context: ExchangeContext?
    ) -> Response {
        struct Info {
            let layout: LayoutView
            let heading: String
            let paragraphs: [String]
            let link: LinkView?
        }
        let layout = context?.staff.map { self.layout(heading, session: $0, current: nil) } ?? LayoutView(title: heading)
        return render("info", Info(layout: layout, heading: heading, paragraphs: paragraphs, link: link), status: status)
    }

    /// The error page for what a staff route threw, or for a path no route takes.
    func errorPage(for error: any Error, context: ExchangeContext) -> Response {
        if let error = error as? any HTTPResponseError, error.status == .notFound || error.status == .methodNotAllowed {
            return info(
                "Page not found", ["If you typed the web address, check it is correct."],
                link: LinkView(href: "/ui/", label: "Go to your inboxes"), status: .notFound, context: context)
        }
        if error is FormTooLarge {
            return info("The form is too large", ["Shorten what you entered and send it again."], status: .contentTooLarge, context: context)
        }
        if error is RequestBodyInterrupted {
            return info("The form did not arrive whole", ["Send it again."], status: .badRequest, context: context)
        }
        logger.error("staff page failed", metadata: ["error": "\(error)"])
        var response = info(
            "Sorry, there is a problem with the service", ["Try again in a few minutes. What you were doing has not been saved."],
            status: .serviceUnavailable, context: context)
        response.headers[.retryAfter] = "30"
        return response
    }

    /// The layout of a signed-in page: the navigation, and the member's name and party.
    func layout(_ title: String, session: StaffAccounts.Session, current: String?) -> LayoutView {
        let member = session.member
        var items = [NavigationItem(label: "Inboxes", href: "/ui/", current: current == "/ui/")]
        for role in member.roles {
            let href = "/ui/inbox/\(role.rawValue)"
            items.append(NavigationItem(label: PageWords.role(role), href: href, current: current == href))
        }
        items.append(NavigationItem(label: "Send a notice", href: "/ui/send", current: current == "/ui/send"))
        return LayoutView(
            title: title, member: MemberView(name: member.name, partyName: member.party), navigation: items,
            csrfToken: session.csrfToken, liveInboxes: member.inboxes.map(\.description).joined(separator: ","))
    }

    // MARK: Assets

    private func asset(_ file: String) -> Response {
        guard let text = EmbeddedAssets.assets[file] else {
            return info("Page not found", [], status: .notFound, context: nil)
        }
        let type =
            switch file.split(separator: ".").last {
            case "css": "text/css; charset=utf-8"
            case "js": "text/javascript; charset=utf-8"
            case "svg": "image/svg+xml"
            default: "application/octet-stream"
            }
        var response = Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
        response.headers[.cacheControl] = "max-age=3600"
        Self.secure(&response)
        return response
    }

    // MARK: Forms

    /// The fields of a posted form.
    /// - Throws: `FormTooLarge` past the body limit.
    func form(_ request: Request) async throws -> FormFields {
        var request = request
        do {
            let body = try await request.collectBody(upTo: config.maxBodyBytes)
            return FormFields(encoded: String(buffer: body))
        } catch is NIOTooManyBytesError {
            throw FormTooLarge()
        }
    }

    /// Whether the form carries its session's token (compared in constant time).
    static func carriesToken(_ form: FormFields, _ token: String) -> Bool {
        let given = Array(form["csrfToken"].utf8)
        let expected = Array(token.utf8)
        guard given.count == expected.count, !expected.isEmpty else { return false }
        return zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// 403 to a form without its token: a page of another site, or one left open past its session.
    func forbiddenForm(context: ExchangeContext) -> Response {
        info(
            "Your form has expired",
            [
                "For your security, forms work only from the page Liaison showed you, in the same session.",
                "Go back, reload the page and send it again.",
            ],
            link: LinkView(href: "/ui/", label: "Go to your inboxes"), status: .forbidden, context: context)
    }

    /// A cookie of the pages: only over HTTPS, never to scripts, never with a request from another site.
    static func cookie(_ name: String, _ value: String, maxAge: Int? = nil) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/ui", secure: true, httpOnly: true, sameSite: .strict)
    }
}

/// A form over the body limit.
struct FormTooLarge: Error {}
