import Foundation
import Hummingbird
import HummingbirdBcrypt
import LiaisonCore
import LiaisonStore
import NIOPosix

/// A set-up link's page: the invited member sets their password, once; the link is then used up.
extension StaffPages {
    /// The shortest password taken, and the longest (bcrypt reads 72 bytes).
    static let passwordLengths = 12...72

    struct SetUpView {
        let layout: LayoutView
        let errors: ErrorSummaryView?
        let csrfToken: String
        let action: String
        let memberName: String
        let memberEmail: String
        let memberParty: String
        let fields: [FieldView]
    }

    func setUpPage(_ request: Request, token: String, context: ExchangeContext) async throws -> Response {
        let accounts = self.accounts
        guard let member = try await ExchangeServer.offStore({ try accounts.invited(setupToken: token, now: Date()) }) else {
            return expiredLink(context: context)
        }
        return setUpForm(member, token: token, errors: nil, status: .ok, request: request)
    }

    private func expiredLink(context: ExchangeContext) -> Response {
        info(
            "This set-up link does not work",
            [
                "A set-up link works once, for a few days. This one has been used, has expired, or was replaced by a newer one.",
                "Ask your administrator for a new link.",
            ], link: LinkView(href: "/ui/sign-in", label: "Sign in"), status: .notFound, context: context)
    }

    private func setUpForm(
        _ member: StaffMember, token: String, errors: (ErrorSummaryView, [String: String])?, status: HTTPResponse.Status, request: Request
    ) -> Response {
        let formToken = self.formToken(request)
        let fields = [
            FieldView(
                kind: .password, id: "password", name: "password", label: "New password",
                hint: "At least \(Self.passwordLengths.lowerBound) characters. A few unrelated words make a strong one.",
                error: errors?.1["password"], autocomplete: "new-password"),
            FieldView(
                kind: .password, id: "confirm", name: "confirm", label: "Enter the password again", error: errors?.1["confirm"],
                autocomplete: "new-password"),
        ]
        let view = SetUpView(
            layout: LayoutView(title: "Set your password", hasErrors: errors != nil), errors: errors?.0, csrfToken: formToken,
            action: "/ui/setup/\(token)", memberName: member.name, memberEmail: member.email, memberParty: member.party, fields: fields)
        var response = render("set-up", view, status: status)
        response.setCookie(Self.cookie(Self.formCookie, formToken))
        return response
    }

    /// Whether `password` contains the e-mail address, or its name before the `@` when that is long enough to
    /// mean something (four characters or more).
    static func containsName(_ password: String, of email: String) -> Bool {
        let lowered = password.lowercased()
        let name = email.split(separator: "@").first.map(String.init) ?? email
        return lowered.contains(email) || (name.count >= 4 && lowered.contains(name))
    }

    func setUp(_ request: Request, token: String, context: ExchangeContext) async throws -> Response {
        let form = try await form(request)
        guard let expected = request.cookies[Self.formCookie]?.value, Self.carriesToken(form, expected) else {
            return forbiddenForm(context: context)
        }
        let accounts = self.accounts
        let now = Date()
        guard let member = try await ExchangeServer.offStore({ try accounts.invited(setupToken: token, now: now) }) else {
            return expiredLink(context: context)
        }
        let password = form.values["password"]?.first ?? ""
        let confirm = form.values["confirm"]?.first ?? ""
        var problems: [String: String] = [:]
        if password.isEmpty {
            problems["password"] = "Enter a new password"
        } else if password.utf8.count < Self.passwordLengths.lowerBound {
            problems["password"] = "Password must be at least \(Self.passwordLengths.lowerBound) characters"
        } else if password.utf8.count > Self.passwordLengths.upperBound {
            problems["password"] = "Password must be at most \(Self.passwordLengths.upperBound) characters"
        } else if Self.containsName(password, of: member.email) {
            problems["password"] = "Password must not contain your e-mail address"
        }
        if problems.isEmpty, confirm != password { problems["confirm"] = "Enter the same password again" }
        if !problems.isEmpty {
            return setUpForm(member, token: token, errors: summary(problems, order: ["password", "confirm"]), status: .badRequest, request: request)
        }
        let hash: String
        do {
            hash = try await signInGuard.hashing { Bcrypt.hash(password, cost: 12) }
        } catch is SignInGuard.Busy {
            var response = info(
                "Liaison is busy", ["Too many people are signing in at once. Try again in a minute."], status: .serviceUnavailable, context: context)
            response.headers[.retryAfter] = "30"
            return response
        }
        guard let active = try await ExchangeServer.offStore({ try accounts.completeSetup(setupToken: token, passwordHash: hash, now: now) }) else {
            return expiredLink(context: context)
        }
        logger.info("staff account set up", metadata: ["staff": "\(active.email)", "party": "\(active.party)"])
        return redirect(to: "/ui/sign-in?set-up=1", cookies: [Self.cookie(Self.formCookie, "", maxAge: 0)])
    }
}
