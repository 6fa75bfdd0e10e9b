import Foundation
import HummingbirdBcrypt
import Hummingbird
import LiaisonCore
import LiaisonStore
import NIOPosix

/// Signing in and out. Failed sign-ins slow down, then lock the account for a while (`staff.*Failures`), and the
/// lock is logged; an unknown e-mail costs as long as a known one, so timing does not tell which exist.
extension StaffPages {
    struct SignInView {
        let layout: LayoutView
        let errors: ErrorSummaryView?
        let csrfToken: String
        let fields: [FieldView]
    }

    /// A bcrypt hash of nothing anyone can type, to check unknown e-mails against.
    private static let decoyHash = Bcrypt.hash(StaffAccounts.newSecret(), cost: 12)

    func signInPage(_ request: Request, context: ExchangeContext) async throws -> Response {
        let notice = request.uri.queryParameters
        var banner: BannerView?
        if notice.get("ended") != nil {
            banner = BannerView(title: "Important", heading: "You were signed out after a time without activity. Sign in again.", success: false)
        } else if notice.get("signed-out") != nil {
            banner = BannerView(title: "Success", heading: "You have signed out.", success: true)
        } else if notice.get("set-up") != nil {
            banner = BannerView(title: "Success", heading: "Your password is set. Sign in with it now.", success: true)
        }
        return signInForm(email: "", errors: nil, banner: banner, status: .ok)
    }

    /// The form, with a fresh token in a cookie and a hidden field (there is no session to hold one yet).
    private func signInForm(email: String, errors: (ErrorSummaryView, [String: String])?, banner: BannerView?, status: HTTPResponse.Status)
        -> Response
    {
        let token = StaffAccounts.newSecret()
        let fields = [
            FieldView(
                kind: .text, id: "email", name: "email", label: "E-mail address", error: errors?.1["email"], value: email,
                autocomplete: "username"),
            FieldView(kind: .password, id: "password", name: "password", label: "Password", error: errors?.1["password"], autocomplete: "current-password"),
        ]
        var layout = LayoutView(title: "Sign in", hasErrors: errors != nil)
        layout.banner = banner
        var response = render("sign-in", SignInView(layout: layout, errors: errors?.0, csrfToken: token, fields: fields), status: status)
        response.setCookie(Self.cookie(Self.formCookie, token))
        return response
    }

    func signIn(_ request: Request, context: ExchangeContext) async throws -> Response {
        let form = try await form(request)
        guard let expected = request.cookies[Self.formCookie]?.value, Self.carriesToken(form, expected) else {
            return forbiddenForm(context: context)
        }
        let email = StaffMember.normalised(email: form["email"])
        let password = form.values["password"]?.first ?? ""
        var problems: [String: String] = [:]
        if email.isEmpty { problems["email"] = "Enter your e-mail address" }
        if password.isEmpty { problems["password"] = "Enter your password" }
        if !problems.isEmpty { return signInForm(email: email, errors: summary(problems, order: ["email", "password"]), banner: nil, status: .badRequest) }

        let accounts = self.accounts
        let policy = config.staff.signIn
        let now = Date()
        let found = try await ExchangeServer.offStore { try accounts.credentials(email: email) }
        // Checked against a decoy when there is no such account, so that it takes as long either way.
        let hash = found?.passwordHash ?? Self.decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        guard let (member, _) = found, found?.passwordHash != nil, matches else {
            var delay = policy.delay(afterFailures: 1)
            if let member = found?.member, member.account.state == .active, !member.account.isLocked(at: now) {
                let (account, lockedNow) = policy.failed(member.account, at: now)
                try await ExchangeServer.offStore { try accounts.record(account, of: member, now: now) }
                delay = policy.delay(afterFailures: lockedNow ? policy.lockAfter : account.failedSignIns)
                if lockedNow {
                    logger.warning(
                        "staff account locked after failed sign-ins",
                        metadata: ["staff": "\(member.email)", "until": "\(Timestamp.format(account.lockedUntil ?? now))"])
                } else {
                    logger.info("staff sign-in failed", metadata: ["staff": "\(member.email)", "failures": "\(account.failedSignIns)"])
                }
            } else {
                // The e-mail typed is not repeated: it may be anything.
                logger.info("staff sign-in failed", metadata: ["staff": found == nil ? "(no such account)" : "\(found?.member.email ?? "")"])
            }
            if delay > 0 { try await Task.sleep(for: .milliseconds(Int(delay * 1000))) }
            return signInForm(
                email: email, errors: summary(["email": "Enter a correct e-mail address and password"], order: ["email"]), banner: nil,
                status: .unauthorized)
        }
        switch member.account.signIn(at: now) {
        case .allowed:
            break
        case .locked(let until):
            logger.info("staff sign-in refused: account locked", metadata: ["staff": "\(member.email)"])
            let message = "Your account is locked after too many failed sign-ins. Try again after \(PageWords.time(until)), or ask your administrator to reset it"
            return signInForm(email: email, errors: summary(["email": message], order: ["email"]), banner: nil, status: .forbidden)
        case .disabled, .notSetUp:
            logger.info("staff sign-in refused: account not active", metadata: ["staff": "\(member.email)"])
            return signInForm(
                email: email, errors: summary(["email": "Your account cannot sign in. Ask your administrator to reset it"], order: ["email"]),
                banner: nil, status: .forbidden)
        }
        // A new session (never one the browser brought: no fixation), and the failures forgotten.
        let cookie = StaffAccounts.newSecret()
        let csrf = StaffAccounts.newSecret()
        try await ExchangeServer.offStore {
            try accounts.startSession(cookie: cookie, csrfToken: csrf, for: member, now: now)
            if member.account.failedSignIns > 0 { try accounts.record(StaffAccount(state: .active), of: member, now: now) }
        }
        logger.info("staff signed in", metadata: ["staff": "\(member.email)", "party": "\(member.party)"])
        return redirect(to: "/ui/", cookies: [Self.cookie(Self.sessionCookie, cookie), Self.cookie(Self.formCookie, "", maxAge: 0)])
    }

    func signOut(_ request: Request, context: ExchangeContext) async throws -> Response {
        let session = try context.staffSession()
        let form = try await form(request)
        guard Self.carriesToken(form, session.csrfToken) else { return forbiddenForm(context: context) }
        if let cookie = context.staffCookie {
            let accounts = self.accounts
            try await ExchangeServer.offStore { try accounts.endSession(cookie: cookie) }
        }
        logger.info("staff signed out", metadata: ["staff": "\(session.member.email)"])
        return redirect(to: "/ui/sign-in?signed-out=1", cookies: [Self.cookie(Self.sessionCookie, "", maxAge: 0)])
    }

    /// An error summary and each field's message, in the fields' order.
    func summary(_ problems: [String: String], order: [String]) -> (ErrorSummaryView, [String: String]) {
        let items = order.compactMap { id in problems[id].map { ErrorSummaryView.Item(message: $0, target: id) } }
        return (ErrorSummaryView(items: items), problems)
    }
}
