import Foundation
import LiaisonCore
import LiaisonStore
import Testing

@testable import LiaisonServer

/// Each staff page's template rendered with fixtures: what it shows, that caller text is escaped, and that its
/// fields are labelled and described as the GOV.UK patterns have them.
@Suite struct StaffTemplatesTests {
    let templates = try! StaffTemplates()
    static let hostile = #"<script>alert("x")</script>&'"#
    static let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"

    var layout: LayoutView {
        LayoutView(
            title: "A page", member: MemberView(name: Self.hostile, partyName: "jcp-leeds"),
            navigation: [NavigationItem(label: "Inboxes", href: "/ui/", current: true)], csrfToken: "token-1")
    }

    /// A page is one whole document: one main, one h1, a skip link to it, no script but our file.
    private func expectPage(_ html: String) {
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains(#"<html lang="en""#))
        #expect(html.components(separatedBy: "<main ").count == 2)
        #expect(html.components(separatedBy: "<h1 ").count == 2)
        #expect(html.contains(##"href="#main-content""##) && html.contains(#"id="main-content""#))
        #expect(html.components(separatedBy: "<script").count == 2 && html.contains(#"<script src="/ui/assets/staff.js" defer></script>"#))
        #expect(!html.contains("{{") && !html.contains("}}"))
    }

    @Test func theLayoutEscapesWhatItShowsAndOffersSignOutWithItsToken() {
        struct Page {
            let layout: LayoutView
            let heading: String
            let paragraphs: [String]
            let link: LinkView?
        }
        let html = templates.render("info", Page(layout: layout, heading: Self.hostile, paragraphs: [Self.hostile], link: nil))
        expectPage(html)
        #expect(!html.contains("<script>alert"))
        #expect(html.components(separatedBy: Self.escaped).count == 4)
        #expect(html.contains(#"<form method="post" action="/ui/sign-out""#) && html.contains(#"value="token-1""#))
        #expect(html.contains(#"aria-current="page""#))
    }

    @Test func aFieldInErrorIsDescribedByItsHintAndErrorAndTheSummaryLinksToIt() {
        struct Page {
            let layout: LayoutView
            let errors: ErrorSummaryView?
            let csrfToken: String
            let fields: [FieldView]
        }
        let field = FieldView(
            kind: .text, id: "email", name: "email", label: "E-mail address", hint: "The one you were set up with", error: Self.hostile,
            value: Self.hostile)
        var layout = LayoutView(title: "Sign in", hasErrors: true)
        layout.banner = nil
        let html = templates.render(
            "sign-in",
            Page(layout: layout, errors: ErrorSummaryView(items: [.init(message: Self.hostile, target: "email")]), csrfToken: "t", fields: [field]))
        expectPage(html)
        #expect(html.contains("<title>Error: Sign in – Liaison</title>"))
        #expect(html.contains(#"<div class="govuk-error-summary" tabindex="-1">"#) && html.contains(#"<div role="alert">"#))
        #expect(html.contains(##"<a href="#email">"## + Self.escaped + "</a>"))
        #expect(html.contains(#"aria-describedby="email-hint email-error""#))
        #expect(html.contains(#"<p id="email-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> "# + Self.escaped))
        #expect(html.contains(#"<label class="govuk-label govuk-label--s" for="email">E-mail address</label>"#))
        #expect(html.contains(#"value=""# + Self.escaped + #"""#))
        #expect(!html.contains("<script>alert"))
    }

    @Test func everyFieldOfEveryTypeRendersLabelled() throws {
        let rules = try LiaisonRuntimeRules.shipped()
        let directory = try PartyDirectory([
            Party(id: "jcp-leeds", kind: .jobcentre, calendar: .englandAndWales), Party(id: "cwp-a", kind: .cwp), Party(id: "prime-a", kind: .prime),
        ])
        for type in MessageType.submittable {
            let form = try #require(MessageForm(type: type, rules: rules, directory: directory))
            for field in form.fields(FormFields(), errors: [:]) {
                #expect(!field.label.isEmpty, "\(type.rawValue): \(field.name)")
                #expect(field.label != field.name.replacingOccurrences(of: "body.", with: ""), "\(type.rawValue): \(field.name) has no words")
            }
            for spec in form.schema.fields { #expect(CatalogueWords.field(spec.name) != nil, "\(type.rawValue): \(spec.name)") }
        }
    }

    @Test func theInboxMarksOverdueInWordsAndPaginates() {
        let row = StaffPages.InboxView.Row(
            typeName: "Absence from the placement", href: "/ui/messages/x", nino: "AB123456C", sender: "cwp-a", received: "7 December 2026 at 09:00",
            due: StaffPages.DueView(
                type: "cwp.absence", date: LocalDate("2026-12-01"), today: LocalDate(dayNumber: LocalDate("2026-12-07")?.dayNumber ?? 0)))
        let view = StaffPages.InboxView(
            layout: layout, errors: nil, partyName: "jcp-leeds", roleName: "SPOC", path: "/ui/inbox/spoc", csrfToken: "t", filterFields: [],
            searchFields: [], showing: "Showing 1 to 1 of 60", caption: "Waiting notices (page 2 of 3)", rows: [row], hasRows: true, empty: "",
            pagination: PaginationView.make(page: 2, pages: 3) { "/ui/inbox/spoc?page=\($0)" })
        let html = templates.render("inbox", view)
        expectPage(html)
        #expect(html.contains(#"SPOC advice due by 1 December 2026 <strong class="govuk-tag govuk-tag--red">Overdue</strong>"#))
        #expect(html.contains(#"<form method="post" action="/ui/inbox/spoc""#))
        #expect(html.contains(#"rel="prev""#) && html.contains(#"rel="next""#) && html.contains(#"aria-current="page">2<"#))
    }

    @Test func theEmbeddedTemplatesAllParseAndEveryPageTemplateUsesTheLayout() throws {
        for (name, text) in EmbeddedAssets.templates {
            let partial = ["layout", "banner", "error-summary", "field", "pagination"].contains(name)
            if !partial { #expect(text.hasPrefix("{{<layout}}"), "\(name) does not use the layout") }
            #expect(!text.contains("{{{") && !text.contains("{{&"), "\(name) writes something unescaped")
        }
    }
}
