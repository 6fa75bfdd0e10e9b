import Foundation
import Hummingbird
import HummingbirdBcrypt
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
        return signInForm(email: "", errors: nil, banner: banner, status: .ok, request: request)
    }

    /// The form, with a token in a cookie and a hidden field (there is no session to hold one yet): the
    /// browser's, when it has one, so that two open forms both work.
    private func signInForm(
        email: String, errors: (ErrorSummaryView, [String: String])?, banner: BannerView?, status: HTTPResponse.Status, request: Request
    ) -> Response {
        let token = formToken(request)
        let fields = [
            FieldView(
                kind: .text, id: "email", name: "email", label: "E-mail address", error: errors?.1["email"], value: email,
                autocomplete: "username"),
            FieldView(
                kind: .password, id: "password", name: "password", label: "Password", error: errors?.1["password"], autocomplete: "current-password"),
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
        if !problems.isEmpty {
            return signInForm(
                email: email, errors: summary(problems, order: ["email", "password"]), banner: nil, status: .badRequest, request: request)
        }

        let accounts = self.accounts
        let policy = config.staff.signIn
        let now = Date()
        let address = context.channel.remoteAddress?.ipAddress ?? "-"
        let found = try await ExchangeServer.offStore { try accounts.credentials(email: email) }
        // A locked account is told so whatever the password, so that the lock cannot be used to test guesses.
        if let member = found?.member, member.account.state == .active, let until = member.account.lockedUntil, member.account.isLocked(at: now) {
            logger.info("staff sign-in refused: account locked", metadata: ["staff": "\(member.email)"])
            try await pause(signInGuard.failed(from: address, at: now))
            let message =
                "Your account is locked after too many failed sign-ins. Try again after \(PageWords.time(until)), or ask your administrator to reset it"
            return signInForm(email: email, errors: summary(["email": message], order: ["email"]), banner: nil, status: .forbidden, request: request)
        }
        // Checked against a decoy when there is no such account, so that it takes as long either way.
        let hash = found?.passwordHash ?? Self.decoyHash
        let matches: Bool
        do {
            matches = try await signInGuard.hashing { Bcrypt.verify(password, hash: hash) }
        } catch is SignInGuard.Busy {
            var response = signInForm(
                email: email, errors: summary(["email": "Liaison is busy with other sign-ins. Try again in a minute"], order: ["email"]),
                banner: nil, status: .serviceUnavailable, request: request)
            response.headers[.retryAfter] = "30"
            return response
        }
        guard let (member, _) = found, found?.passwordHash != nil, matches else {
            if let member = found?.member, member.account.state == .active {
                let (account, lockedNow) = try await ExchangeServer.offStore {
                    try accounts.recordFailedSignIn(of: member, policy: policy, now: now)
                }
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
            // The wait goes by the address, not the account, so it says nothing of whether the account exists.
            try await pause(signInGuard.failed(from: address, at: now))
            return signInForm(
                email: email, errors: summary(["email": "Enter a correct e-mail address and password"], order: ["email"]), banner: nil,
                status: .unauthorized, request: request)
        }
        switch member.account.signIn(at: now) {
        case .allowed:
            break
        case .locked, .disabled, .notSetUp:
            logger.info("staff sign-in refused: account not active", metadata: ["staff": "\(member.email)"])
            return signInForm(
                email: email, errors: summary(["email": "Your account cannot sign in. Ask your administrator to reset it"], order: ["email"]),
                banner: nil, status: .forbidden, request: request)
        }
        // A new session (never one the browser brought: no fixation), and the failures forgotten.
        let cookie = StaffAccounts.newSecret()
        let csrf = StaffAccounts.newSecret()
        let staff = config.staff
        try await ExchangeServer.offStore {
            try accounts.startSession(cookie: cookie, csrfToken: csrf, for: member, now: now)
            try accounts.recordSignIn(of: member, now: now)
            try accounts.endStaleSessions(
                idleBefore: now.addingTimeInterval(-staff.idleTimeoutSeconds), startedBefore: now.addingTimeInterval(-staff.sessionLifetimeSeconds))
        }
        signInGuard.succeeded(from: address)
        logger.info("staff signed in", metadata: ["staff": "\(member.email)", "party": "\(member.party)"])
        return redirect(to: "/ui/", cookies: [Self.cookie(Self.sessionCookie, cookie), Self.cookie(Self.formCookie, "", maxAge: 0)])
    }

    private func pause(_ seconds: TimeInterval) async throws {
        if seconds > 0 { try await Task.sleep(for: .milliseconds(Int(seconds * 1000))) }
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

    /// The token of the forms shown before sign-in: the one the browser holds, or a new one.
    func formToken(_ request: Request) -> String {
        guard let held = request.cookies[Self.formCookie]?.value, held.count >= 40 else { return StaffAccounts.newSecret() }
        return held
    }

    /// An error summary and each field's message, in the fields' order.
    func summary(_ problems: [String: String], order: [String]) -> (ErrorSummaryView, [String: String]) {
        let items = order.compactMap { id in problems[id].map { ErrorSummaryView.Item(message: $0, target: id) } }
        return (ErrorSummaryView(items: items), problems)
    }
}
