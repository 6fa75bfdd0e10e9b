import Foundation
import GRDB
import LiaisonCore
import LiaisonLoad
import LiaisonRuntime
import LiaisonStore
import Testing

@testable import LiaisonServer

/// The staff pages against the real daemon: accounts and sessions, forms and their tokens, what each party may
/// see, escaping, and that a notice sent from a browser takes the API's path.
@Suite(.serialized) struct StaffPagesTests {
    static let staffConfig = """
        staff:
          slowAfterFailures: 10
          lockAfterFailures: 3
          lockFor: 10m
          accounts:
            - {email: spoc@leeds.test, name: Leeds SPOC, party: jcp-leeds, roles: [spoc, nominated-manager]}
            - {email: coach@leeds.test, name: Leeds coach, party: jcp-leeds, roles: [work-coach]}
            - {email: spoc@cwp-a.test, name: CWP A SPOC, party: cwp-a, roles: [spoc]}
            - {email: spoc@cwp-b.test, name: CWP B SPOC, party: cwp-b, roles: [spoc]}
            - {email: contact@prime-a.test, name: Prime A contact, party: prime-a, roles: [contact]}
        """

    /// A daemon with the staff accounts above, and each account's set-up link path by e-mail.
    private func start(_ name: String, inboxes: [PushInbox] = [], retrySchedule: String = "[200ms, 400ms]") throws -> (Exchange, [String: String]) {
        let exchange = try Exchange(name: name, inboxes: inboxes, retrySchedule: retrySchedule, extra: Self.staffConfig)
        try exchange.daemon.start()
        var links: [String: String] = [:]
        let lines = exchange.daemon.startupText.split(separator: "\n").map(String.init)
        for (index, line) in lines.enumerated() where line.hasPrefix("  ") && line.contains("@") && index + 1 < lines.count {
            let email = String(line.trimmingCharacters(in: .whitespaces).split(separator: " ")[0])
            if let range = lines[index + 1].range(of: "/ui/setup/") { links[email] = String(lines[index + 1][range.lowerBound...]) }
        }
        return (exchange, links)
    }

    private func browser(_ exchange: Exchange) -> StaffBrowser { StaffBrowser(base: exchange.url, caBundle: exchange.caBundle) }

    /// A browser signed in as `email` (set up with its link first).
    private func signedIn(_ exchange: Exchange, _ links: [String: String], _ email: String) throws -> StaffBrowser {
        let browser = browser(exchange)
        let link = try #require(links[email], "no set-up link for \(email)")
        #expect(browser.setUpAndSignIn(setupPath: link, email: email, password: "a long enough password"))
        return browser
    }

    private func log(_ exchange: Exchange) -> String { (try? String(contentsOf: exchange.daemon.logPath, encoding: .utf8)) ?? "" }

    // MARK: Accounts and sessions

    @Test func setUpLinksArePrintedAtStartAndWorkOnceAndPagesAreSecured() throws {
        let (exchange, links) = try start("staff-setup")
        defer { exchange.stop() }
        #expect(links.count == 5)
        let browser = browser(exchange)
        let link = try #require(links["spoc@leeds.test"])
        // A password too short is refused beside its field, and the link still works.
        let form = browser.get(link)
        #expect(form.status == 200)
        let short = browser.post(link, [("password", "short"), ("confirm", "short")], token: StaffBrowser.token(in: form.text))
        #expect(short.status == 400)
        #expect(short.text.contains(#"id="password-error""#) && short.text.contains("at least 12 characters"))
        #expect(short.text.contains("There is a problem"))
        #expect(browser.setUpAndSignIn(setupPath: link, email: "spoc@leeds.test", password: "correct horse battery"))
        // Used once: the link now says so.
        #expect(browser.get(link).status == 404)
        // The session cookie is HttpOnly, Secure and SameSite=Strict.
        let cookie = try #require(browser.setCookieLines.first { $0.hasPrefix("liaison_session=") && !$0.contains("Max-Age=0") })
        #expect(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Strict"))
        // Every page forbids framing and scripts from elsewhere, and sends no referrer.
        let home = browser.get("/ui/")
        #expect(home.status == 200)
        #expect(home.headers["content-security-policy"]?.contains("default-src 'self'") == true)
        #expect(home.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)
        #expect(home.headers["referrer-policy"] == "no-referrer")
        #expect(home.text.contains("SPOC") && home.text.contains("Nominated manager"))
        #expect(!home.text.contains("<script>"))
        #expect(log(exchange).contains("staff signed in party=jcp-leeds staff=spoc@leeds.test"))
    }

    @Test func aFormWithoutItsTokenIsRefused403() throws {
        let (exchange, links) = try start("staff-csrf")
        defer { exchange.stop() }
        let anonymous = browser(exchange)
        _ = anonymous.get("/ui/sign-in")
        #expect(anonymous.post("/ui/sign-in", [("email", "spoc@leeds.test"), ("password", "x")], token: nil).status == 403)
        #expect(anonymous.post("/ui/sign-in", [("email", "spoc@leeds.test"), ("password", "x")], token: "forged").status == 403)
        let member = try signedIn(exchange, links, "spoc@leeds.test")
        #expect(member.post("/ui/sign-out", [], token: nil).status == 403)
        #expect(member.post("/ui/inbox/spoc", [("nino", "AB123456C")], token: "forged").status == 403)
        #expect(member.post("/ui/send/cwp.referral", [("nino", "AB123456C")], token: nil).status == 403)
        // With the page's token, it works.
        let home = member.get("/ui/")
        #expect(member.post("/ui/sign-out", [], token: StaffBrowser.token(in: home.text)).status == 303)
        #expect(member.get("/ui/").status == 303)
    }

    @Test func anIdleSessionGoesBackToSignInAndASessionSurvivesARestart() async throws {
        let (exchange, links) = try start("staff-session")
        defer { exchange.stop() }
        let member = try signedIn(exchange, links, "spoc@cwp-a.test")
        #expect(member.get("/ui/").status == 200)
        // A restart signs no one out: sessions are in the store.
        exchange.daemon.terminate()
        try exchange.daemon.start()
        let again = StaffBrowser(base: exchange.url, caBundle: exchange.caBundle)
        for (name, value) in member.cookies { again.setCookie(name, value) }
        #expect(again.get("/ui/").status == 200)
        // Idle past the timeout (30 minutes by default): back to sign-in, which says why.
        let pool = try DatabasePool(path: exchange.daemon.storePath)
        try await pool.write { db in try db.execute(sql: "UPDATE staff_session SET last_seen_at = last_seen_at - 1801") }
        let ended = again.get("/ui/")
        #expect(ended.status == 303)
        #expect(ended.headers["location"] == "/ui/sign-in?ended=1")
        #expect(again.get("/ui/sign-in?ended=1").text.contains("signed out after a time without activity"))
        #expect(again.get("/ui/").status == 303)
    }

    @Test func repeatedFailedSignInsLockTheAccountAndTheLockIsLogged() throws {
        let (exchange, links) = try start("staff-lock")
        defer { exchange.stop() }
        let member = try signedIn(exchange, links, "coach@leeds.test")
        _ = member
        let other = browser(exchange)
        for _ in 0..<3 { #expect(other.signIn(email: "coach@leeds.test", password: "wrong password here").status == 401) }
        // Locked, the account is told so whatever the password: the right one, or another wrong guess.
        let locked = other.signIn(email: "coach@leeds.test", password: "a long enough password")
        #expect(locked.status == 403)
        #expect(locked.text.contains("locked"))
        let guessed = other.signIn(email: "coach@leeds.test", password: "another wrong guess")
        #expect(guessed.status == 403)
        #expect(guessed.text.contains("locked"))
        #expect(log(exchange).contains("staff account locked after failed sign-ins"))
        // An e-mail with no account is told the same as a wrong password, and not repeated in the log.
        let unknown = other.signIn(email: "nobody-AB123456C@leeds.test", password: "whatever it is")
        #expect(unknown.status == 401)
        #expect(!log(exchange).contains("AB123456C"))
    }

    // MARK: What each party sees

    @Test func aProviderCannotOpenAnotherProvidersNoticeAndHostileTextIsEscaped() throws {
        let (exchange, links) = try start("staff-visibility")
        defer { exchange.stop() }
        #expect(exchange.send(Messages.cwpReferral(nino: nino(11), to: "cwp-a"), as: "jcp-leeds").status == 202)
        let hostile = Messages.change(nino: nino(11), detail: #"<script>alert(1)</script>"><img src=x onerror=alert(2)>"#)
        #expect(exchange.send(hostile, as: "jcp-leeds").status == 202)
        let id = try #require(hostile["id"]?.stringValue)
        let providerA = try signedIn(exchange, links, "spoc@cwp-a.test")
        let page = providerA.get("/ui/messages/\(id)?inbox=spoc")
        #expect(page.status == 200)
        #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"))
        #expect(!page.text.contains("<script>alert") && !page.text.contains("<img src=x"))
        #expect(page.text.contains(nino(11)))
        // Another provider is told there is no such notice, and sees nothing of it.
        let providerB = try signedIn(exchange, links, "spoc@cwp-b.test")
        let refused = providerB.get("/ui/messages/\(id)")
        #expect(refused.status == 404)
        #expect(!refused.text.contains(nino(11)))
        // Nor another party's inbox by its role.
        #expect(providerB.get("/ui/inbox/work-coach").status == 404)
    }

    @Test func theNINOSearchIsPostedAndTheNINONeverReachesAURLOrALog() throws {
        let (exchange, links) = try start("staff-search")
        defer { exchange.stop() }
        for number in 20..<23 { #expect(exchange.send(Messages.cwpReferral(nino: nino(number), to: "cwp-a"), as: "jcp-leeds").status == 202) }
        let provider = try signedIn(exchange, links, "spoc@cwp-a.test")
        let inbox = provider.get("/ui/inbox/spoc")
        #expect(inbox.text.contains("Showing 1 to 3 of 3 waiting notices"))
        #expect(inbox.text.contains(#"<form method="post" action="/ui/inbox/spoc""#))
        let found = provider.post("/ui/inbox/spoc", [("nino", "ab 00 00 21 c")], token: StaffBrowser.token(in: inbox.text))
        #expect(found.status == 200)
        #expect(found.text.contains(nino(21)) && !found.text.contains(nino(20)) && !found.text.contains(nino(22)))
        // No link on the page carries a NINO, and no log line does.
        #expect(!found.text.contains("href=\"/ui/inbox/spoc?nino") && !found.text.contains("nino=AB"))
        let bad = provider.post("/ui/inbox/spoc", [("nino", "not a nino")], token: StaffBrowser.token(in: inbox.text))
        #expect(bad.status == 400)
        #expect(bad.text.contains(##"<a href="#nino">"##))
        #expect(!log(exchange).contains(nino(21)))
    }

    @Test func readingDoesNotLeaseAndDoneAcknowledgesAsThePullAPIDoes() throws {
        let (exchange, links) = try start("staff-done")
        defer { exchange.stop() }
        let read = Messages.cwpReferral(nino: nino(30), to: "cwp-a")
        let done = Messages.cwpReferral(nino: nino(31), to: "cwp-a")
        #expect(exchange.send(read, as: "jcp-leeds").status == 202)
        #expect(exchange.send(done, as: "jcp-leeds").status == 202)
        let provider = try signedIn(exchange, links, "spoc@cwp-a.test")
        let readID = try #require(read["id"]?.stringValue)
        let doneID = try #require(done["id"]?.stringValue)
        let page = provider.get("/ui/messages/\(doneID)?inbox=spoc")
        #expect(page.text.contains("Mark as done"))
        let marked = provider.post("/ui/messages/\(doneID)/done", [("inbox", "spoc")], token: StaffBrowser.token(in: page.text))
        #expect(marked.status == 303)
        #expect(marked.headers["location"] == "/ui/inbox/spoc?done=1")
        #expect(provider.get("/ui/messages/\(readID)?inbox=spoc").status == 200)
        // A system pulling the same inbox still gets the one read (reading leased nothing), not the one done.
        let pulled = try JSONValue.parse(exchange.client("cwp-a").perform(exchange.request("GET", "/v1/inbox/spoc", as: "cwp-a")).text)
        let ids = pulled["messages"]?.arrayValue?.compactMap { $0["message"]?["id"]?.stringValue } ?? []
        #expect(ids == [readID])
        // The sender sees the one done delivered, acknowledged by the staff member.
        let state = exchange.client("jcp-leeds").perform(exchange.request("GET", "/v1/messages/\(doneID)", as: "jcp-leeds")).text
        #expect(state.contains(#""state":"delivered""#) && state.contains("marked done by spoc@cwp-a.test"))
        #expect(log(exchange).contains("staff marked a notice done"))
    }

    @Test func aPageNumberPastTheEndShowsTheLastPage() throws {
        let (exchange, links) = try start("staff-pages")
        defer { exchange.stop() }
        #expect(exchange.send(Messages.cwpReferral(nino: nino(32), to: "cwp-a"), as: "jcp-leeds").status == 202)
        let provider = try signedIn(exchange, links, "spoc@cwp-a.test")
        for page in ["999999999999999999", "99999999999999999999999", "-3", "0", "x"] {
            let answer = provider.get("/ui/inbox/spoc?page=\(page)")
            #expect(answer.status == 200, "page \(page)")
            #expect(answer.text.contains(nino(32)), "page \(page)")
        }
    }

    @Test func aPushInboxsNoticeCannotBeMarkedDoneFromThePages() async throws {
        // cwp-a's inbox is pushed to its system (an endpoint that refuses connections, so the copy waits).
        let sinkFolder = temporaryFolder("staff-push-sink")
        defer { try? FileManager.default.removeItem(at: sinkFolder) }
        let closed = try WebhookSink(folder: sinkFolder, secrets: [testSecret])
        let closedPort = try await closed.start()
        await closed.stop()
        let (exchange, links) = try start(
            "staff-push", inboxes: [PushInbox(party: "cwp-a", role: "spoc", port: closedPort, caBundle: closed.caBundle)], retrySchedule: "[1h]")
        defer { exchange.stop() }
        let referral = Messages.cwpReferral(nino: nino(33), to: "cwp-a")
        #expect(exchange.send(referral, as: "jcp-leeds").status == 202)
        let id = try #require(referral["id"]?.stringValue)
        let provider = try signedIn(exchange, links, "spoc@cwp-a.test")
        let page = provider.get("/ui/messages/\(id)?inbox=spoc")
        #expect(page.status == 200)
        #expect(!page.text.contains("Mark as done"))
        let refused = provider.post("/ui/messages/\(id)/done", [("inbox", "spoc")], token: StaffBrowser.token(in: page.text))
        #expect(refused.status == 409)
        #expect(refused.text.contains("cannot be marked done here"))
        let state = exchange.client("jcp-leeds").perform(exchange.request("GET", "/v1/messages/\(id)", as: "jcp-leeds")).text
        #expect(!state.contains(#""state":"delivered""#))
    }

    @Test func anAnswerSentFromANoticeCanMarkTheNoticeDone() throws {
        let (exchange, links) = try start("staff-answer-done")
        defer { exchange.stop() }
        let referral = Messages.cwpReferral(nino: nino(34), to: "cwp-a")
        #expect(exchange.send(referral, as: "jcp-leeds").status == 202)
        let referralID = try #require(referral["id"]?.stringValue)
        let change = Messages.change(nino: nino(34), detail: "Moved house")
        #expect(exchange.send(change, as: "jcp-leeds").status == 202)
        let changeID = try #require(change["id"]?.stringValue)
        let provider = try signedIn(exchange, links, "spoc@cwp-a.test")
        // A start does not answer a change of circumstances: no box to mark the change done with it.
        let unrelated = provider.get("/ui/send/cwp.start?replyTo=\(changeID)")
        #expect(unrelated.status == 200)
        #expect(!unrelated.text.contains("Mark it as done once this is sent"))
        // A start answers the referral: the box is offered, ticked, and sending marks the referral done.
        let form = provider.get("/ui/send/cwp.start?replyTo=\(referralID)")
        #expect(form.status == 200)
        #expect(form.text.contains("Mark it as done once this is sent"))
        #expect(form.text.contains(#"name="doneInbox" value="cwp-a/spoc""#))
        let today = Messages.today.components
        var fields: [(String, String)] = [
            ("body.startDate-day", "\(today.day)"), ("body.startDate-month", "\(today.month)"), ("body.startDate-year", "\(today.year)"),
            ("markDone", "yes"), ("nino", nino(34)),
        ]
        #expect(form.text.contains(#"value="\#(nino(34))""#))
        for name in ["messageId", "sentAt", "replyTo", "doneInbox", "to"] {
            if let range = form.text.range(of: #"name="\#(name)" value="[^"]+""#, options: .regularExpression) {
                fields.append((name, String(form.text[range].dropLast().split(separator: "\"").last ?? "")))
            }
        }
        let sent = provider.post("/ui/send/cwp.start", fields, token: StaffBrowser.token(in: form.text))
        #expect(sent.status == 303, "\(sent.text)")
        let state = exchange.client("jcp-leeds").perform(exchange.request("GET", "/v1/messages/\(referralID)", as: "jcp-leeds")).text
        #expect(state.contains(#""state":"delivered""#) && state.contains("marked done by spoc@cwp-a.test"))
        // The change, not answered, still waits.
        let pulled = exchange.client("cwp-a").perform(exchange.request("GET", "/v1/inbox/spoc", as: "cwp-a")).text
        #expect(pulled.contains(changeID) && !pulled.contains(referralID))
    }

    // MARK: Sending

    @Test func aNoticeSentFromTheBrowserTakesTheAPIsPathAndKeepsItsSender() throws {
        let (exchange, links) = try start("staff-send")
        defer { exchange.stop() }
        let leeds = try signedIn(exchange, links, "spoc@leeds.test")
        let form = leeds.get("/ui/send/cwp.referral")
        #expect(form.status == 200)
        let token = StaffBrowser.token(in: form.text)
        let today = Messages.today
        let wpci = today.adding(days: -14)
        func fields(_ nino: String, referralDay: String) -> [(String, String)] {
            let (year, month, _) = today.components
            let (wpciYear, wpciMonth, wpciDay) = wpci.components
            var result: [(String, String)] = [
                ("nino", nino), ("to", "cwp-a"),
                ("body.referralDate-day", referralDay), ("body.referralDate-month", "\(month)"), ("body.referralDate-year", "\(year)"),
                ("body.wpciDate-day", "\(wpciDay)"), ("body.wpciDate-month", "\(wpciMonth)"), ("body.wpciDate-year", "\(wpciYear)"),
                ("body.engagementMeeting-day", "\(today.components.day)"), ("body.engagementMeeting-month", "\(month)"),
                ("body.engagementMeeting-year", "\(year)"), ("body.engagementMeeting-hour", "14"), ("body.engagementMeeting-minute", "30"),
                ("body.restrictions", "None"), ("body.alerts", "care-requirements"),
            ]
            for name in ["messageId", "sentAt"] {
                if let range = form.text.range(of: #"name="\#(name)" value="[^"]+""#, options: .regularExpression) {
                    result.append((name, String(form.text[range].dropLast().split(separator: "\"").last ?? "")))
                }
            }
            return result
        }
        // A date that is not a date is refused beside its field, in the API's words, and nothing is kept.
        let wrong = leeds.post("/ui/send/cwp.referral", fields(nino(40), referralDay: "32"), token: token)
        let month = today.components.month
        #expect(wrong.status == 422)
        #expect(wrong.text.contains(##"<a href="#body-referralDate-day">Referral date must be a real date"##))
        #expect(wrong.text.contains(#"id="body-referralDate-error""#))
        #expect(wrong.text.contains(#"value="32""#))
        let sent = leeds.post("/ui/send/cwp.referral", fields(nino(40), referralDay: "\(today.components.day)"), token: token)
        #expect(sent.status == 303)
        let location = try #require(sent.headers["location"])
        let page = leeds.get(location)
        #expect(page.text.contains("Liaison accepted the notice"))
        #expect(page.text.contains("Sent by") && page.text.contains("spoc@leeds.test"))
        #expect(page.text.contains("Expected end date"))
        // Sent twice (a double click), it is the same message, answered as before.
        #expect(leeds.post("/ui/send/cwp.referral", fields(nino(40), referralDay: "\(today.components.day)"), token: token).status == 303)
        // The recipient gets it as any other, with no word of the staff member.
        let pulled = exchange.client("cwp-a").perform(exchange.request("GET", "/v1/inbox/spoc", as: "cwp-a")).text
        #expect(pulled.contains(nino(40)) && !pulled.contains("spoc@leeds.test"))
        #expect(pulled.components(separatedBy: nino(40)).count == 2)
        // A rule's refusal shows its detail at the top: no case for this claimant.
        let change = leeds.get("/ui/send/cwp.change-of-circumstances")
        let refused = leeds.post(
            "/ui/send/cwp.change-of-circumstances",
            [
                ("nino", nino(41)), ("body.change", "other"), ("body.effectiveDate-day", "\(today.components.day)"),
                ("body.effectiveDate-month", "\(month)"), ("body.effectiveDate-year", "\(today.components.year)"),
            ],
            token: StaffBrowser.token(in: change.text))
        #expect(refused.status == 422)
        #expect(refused.text.contains("There is a problem") && refused.text.contains("No CWP case for this NINO"))
        #expect(log(exchange).contains("staff sent a message") && log(exchange).contains("staff=spoc@leeds.test"))
    }

    /// Every field of every type a party may send has a label (or a legend and labelled options), and every
    /// field of its body schema is on the form: forms come from the schemas.
    @Test func everyFieldOfEveryFormIsLabelledAndEverySchemaFieldIsOnIt() throws {
        let (exchange, links) = try start("staff-forms")
        defer { exchange.stop() }
        let rules = try LiaisonRuntimeRules.shipped()
        for email in ["spoc@leeds.test", "spoc@cwp-a.test", "contact@prime-a.test"] {
            let member = try signedIn(exchange, links, email)
            let kind: PartyKind = email.contains("leeds") ? .jobcentre : email.contains("cwp") ? .cwp : .prime
            for type in MessageType.submittable where type.senders.contains(kind) {
                let page = member.get("/ui/send/\(type.rawValue)")
                #expect(page.status == 200, "\(type.rawValue)")
                let html = page.text
                let controls = html.matches(of: #/<(input|select|textarea)[^>]*\sid="([^"]+)"/#).map { String($0.output.2) }
                #expect(!controls.isEmpty, "\(type.rawValue)")
                for id in controls { #expect(html.contains(#"for="\#(id)""#), "\(type.rawValue): \(id) has no label") }
                for field in try #require(BodySchema.of(type, rules: rules)).fields {
                    #expect(html.contains(#"name="body.\#(field.name)"#), "\(type.rawValue): body.\(field.name) is not on the form")
                }
            }
        }
    }

    @Test func theEmbeddedTemplatesAndAssetsAreTheFilesInTheRepository() throws {
        let staff = repository.appendingPathComponent("Sources/LiaisonServer/Staff")
        for (folder, table, suffix) in [("Templates", EmbeddedAssets.templates, ".mustache"), ("Assets", EmbeddedAssets.assets, "")] {
            let files = try FileManager.default.contentsOfDirectory(atPath: staff.appendingPathComponent(folder).path).sorted()
            #expect(files.count == table.count, "run scripts/embed-assets")
            for file in files {
                let text = try String(contentsOf: staff.appendingPathComponent("\(folder)/\(file)"), encoding: .utf8)
                let key = suffix.isEmpty ? file : String(file.dropLast(suffix.count))
                #expect(table[key] == text, "\(folder)/\(file) differs from EmbeddedAssets.swift: run scripts/embed-assets")
            }
        }
    }
}

extension StaffBrowser {
    func setCookie(_ name: String, _ value: String) {
        _ = keepCookie(name, value)
    }
}

/// The shipped rules, for the schemas forms are checked against.
enum LiaisonRuntimeRules {
    static func shipped() throws -> RuleSet {
        try RuleFiles.loadRules(at: repository.appendingPathComponent("config/rules.yaml"))
    }
}
