import Foundation
import LiaisonCore
import LiaisonStore

// The values the staff pages' templates render. Stored properties only (the renderer reads them by reflection),
// and each name used once in a nesting, so that a template never reads a value of the level around it by
// mistake: options and date parts name theirs `option…` and `part…`.

/// What every page's layout shows.
struct LayoutView {
    var title: String
    var hasErrors = false
    /// The signed-in member, for the navigation and the sign-out form.
    var member: MemberView?
    var navigation: [NavigationItem] = []
    var csrfToken = ""
    var backLink: LinkView?
    var banner: BannerView?
    /// The inboxes whose new notices the page's script announces (comma-separated), if any.
    var liveInboxes: String?
}

struct MemberView {
    let name: String
    let partyName: String
}

struct NavigationItem {
    let label: String
    let href: String
    let current: Bool
}

struct LinkView {
    let href: String
    let label: String
}

/// A notification banner: a success says what was just done; otherwise important news.
struct BannerView {
    let title: String
    let heading: String
    let success: Bool
    var link: LinkView?
    var body: [String] = []
}

/// The error summary at the top of a form: each problem linked to its field.
struct ErrorSummaryView {
    struct Item {
        let message: String
        /// The id of the field to move to.
        let target: String?
    }

    let summary: [String]
    let items: [Item]
    /// Stored, since templates read stored values only.
    let hasItems: Bool

    init(summary: [String] = [], items: [Item] = []) {
        self.summary = summary
        self.items = items
        hasItems = !items.isEmpty
    }
}

/// One form field of any kind, rendered by the `field` partial.
struct FieldView {
    enum Kind {
        case text, password, number, textarea, select, radios, inlineRadios, checkboxes, date, dateTime
    }

    struct Option {
        let optionID: String
        let optionValue: String
        let optionLabel: String
        let optionSelected: Bool
    }

    struct Part {
        let partID: String
        let partName: String
        let partLabel: String
        let partValue: String
        let partWidth: String
        let partInvalid: Bool
        let partAutocomplete: String?
    }

    var id: String
    var name: String
    var label: String
    var hint: String?
    var error: String?
    var describedBy: String?
    var value = ""
    var options: [Option] = []
    var parts: [Part] = []
    var isFieldset = false
    var isDate = false
    var isRadios = false
    var isCheckboxes = false
    var inline = false
    var isText = false
    var inputType = "text"
    var numeric = false
    var isTextarea = false
    var isSelect = false
    var widthClass: String?
    var autocomplete: String?

    /// A field of `kind`, its `aria-describedby` made from the hint and error it shows.
    init(
        kind: Kind, id: String, name: String, label: String, hint: String? = nil, error: String? = nil, value: String = "",
        options: [Option] = [], parts: [Part] = [], widthClass: String? = nil, autocomplete: String? = nil
    ) {
        (self.id, self.name, self.label, self.hint, self.error, self.value) = (id, name, label, hint, error, value)
        (self.options, self.parts, self.widthClass, self.autocomplete) = (options, parts, widthClass, autocomplete)
        let described = [hint.map { _ in "\(id)-hint" }, error.map { _ in "\(id)-error" }].compactMap { $0 }
        describedBy = described.isEmpty ? nil : described.joined(separator: " ")
        switch kind {
        case .text: isText = true
        case .password: (isText, inputType) = (true, "password")
        case .number: (isText, numeric) = (true, true)
        case .textarea: isTextarea = true
        case .select: isSelect = true
        case .radios: (isFieldset, isRadios) = (true, true)
        case .inlineRadios: (isFieldset, isRadios, inline) = (true, true, true)
        case .checkboxes: (isFieldset, isCheckboxes) = (true, true)
        case .date, .dateTime: (isFieldset, isDate) = (true, true)
        }
    }
}

/// A page of links to numbered pages, as GOV.UK's pagination shows: the first, the last, the current and its
/// neighbours, with an ellipsis for the rest.
struct PaginationView {
    struct Page {
        let number: Int
        let pageHref: String
        let current: Bool
        let ellipsis: Bool
    }

    let previous: String?
    let next: String?
    let pages: [Page]

    /// Nil when everything fits on one page.
    static func make(page: Int, pages count: Int, href: (Int) -> String) -> PaginationView? {
        guard count > 1 else { return nil }
        var pages: [Page] = []
        var last = 0
        for number in 1...count where number == 1 || number == count || abs(number - page) <= 1 {
            if number - last > 1 { pages.append(Page(number: 0, pageHref: "", current: false, ellipsis: true)) }
            pages.append(Page(number: number, pageHref: href(number), current: number == page, ellipsis: false))
            last = number
        }
        return PaginationView(previous: page > 1 ? href(page - 1) : nil, next: page < count ? href(page + 1) : nil, pages: pages)
    }
}

/// Dates and times on the pages, as GOV.UK writes them.
enum PageWords {
    static func date(_ date: LocalDate) -> String { UKTime.words(date) }
    static func time(_ instant: Date) -> String { UKTime.words(instant) }

    /// An inbox role in words.
    static func role(_ role: InboxRole) -> String {
        switch role {
        case .spoc: "SPOC"
        case .workCoach: "Work coach"
        case .dma: "Decision makers (DMA)"
        case .nominatedManager: "Nominated manager"
        case .nominatedOfficer: "Nominated officer"
        case .performance: "Performance"
        case .contact: "Contact"
        }
    }
}
