import Foundation
import Hummingbird
import LiaisonCore
import LiaisonStore

/// A role's inbox: its waiting notices, newest first, a page at a time, with filters by type and overdue, and a
/// search by NINO that is posted, so that a NINO never reaches a URL, a log line, a `Referer` or the history.
extension StaffPages {
    static let pageSize = 25
    /// A search by NINO shows at most this many notices, on one page.
    static let searchLimit = 100

    struct InboxView {
        struct Row {
            let typeName: String
            let href: String
            let nino: String
            let sender: String
            let received: String
            let due: DueView?
        }

        let layout: LayoutView
        let errors: ErrorSummaryView?
        let partyName: String
        let roleName: String
        let path: String
        let csrfToken: String
        let filterFields: [FieldView]
        let searchFields: [FieldView]
        let showing: String
        let caption: String
        let rows: [Row]
        let hasRows: Bool
        let empty: String
        let pagination: PaginationView?
    }

    /// What is due for a notice, and whether it is late.
    struct DueView {
        let dueWords: String
        let dueDate: String
        let overdue: Bool

        init?(type: String, date: LocalDate?, today: LocalDate) {
            guard let date, let type = MessageType(rawValue: type) else { return nil }
            dueWords = AnswerDue.kind(of: type)?.words ?? "Answer due"
            dueDate = PageWords.date(date)
            overdue = date < today
        }
    }

    /// The member's role named in the path, or nil when it is not one of theirs.
    private func role(_ context: ExchangeContext, _ session: StaffAccounts.Session) -> InboxRole? {
        guard let name = try? context.parameters.require("role"), let role = InboxRole(rawValue: name) else { return nil }
        return session.member.roles.contains(role) ? role : nil
    }

    private func notYours(_ context: ExchangeContext) -> Response {
        info(
            "Page not found", ["This inbox is not one of yours."], link: LinkView(href: "/ui/", label: "Go to your inboxes"),
            status: .notFound, context: context)
    }

    func inboxPage(_ request: Request, context: ExchangeContext) async throws -> Response {
        let session = try context.staffSession()
        guard let role = role(context, session) else { return notYours(context) }
        let query = request.uri.queryParameters
        var filter = StaffInbox.Filter()
        filter.type = query.get("type").flatMap(MessageType.init(rawValue:))
        filter.overdueOnly = query.get("overdue") == "yes"
        // Any page asked for is within the inbox's pages (the store takes one past the last as the last).
        let page = min(max(1, query.get("page").flatMap { Int($0) } ?? 1), 1_000_000)
        var banner: BannerView?
        if query.get("done") != nil { banner = BannerView(title: "Success", heading: "The notice is marked as done.", success: true) }
        return try await inboxList(
            session: session, role: role, filter: filter, page: page, limit: Self.pageSize, nino: "", ninoError: nil, banner: banner)
    }

    /// `POST`: the search by NINO.
    func findClaimant(_ request: Request, context: ExchangeContext) async throws -> Response {
        let session = try context.staffSession()
        guard let role = role(context, session) else { return notYours(context) }
        let form = try await form(request)
        guard Self.carriesToken(form, session.csrfToken) else { return forbiddenForm(context: context) }
        let typed = form["nino"]
        guard let nino = NINO(typed) else {
            let message =
                typed.isEmpty ? "Enter a National Insurance number" : "Enter a National Insurance number in the correct format, like QQ 12 34 56 C"
            return try await inboxList(
                session: session, role: role, filter: StaffInbox.Filter(), page: 1, limit: Self.pageSize, nino: typed, ninoError: message,
                banner: nil, status: .badRequest)
        }
        return try await inboxList(
            session: session, role: role, filter: StaffInbox.Filter(personKey: nino.personKey), page: 1, limit: Self.searchLimit,
            nino: nino.value, ninoError: nil, banner: nil)
    }

    private func inboxList(
        session: StaffAccounts.Session, role: InboxRole, filter: StaffInbox.Filter, page requested: Int, limit: Int, nino: String,
        ninoError: String?, banner: BannerView?, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let member = session.member
        let address = Address(member.party, role).description
        let today = UKTime.localDate(at: Date())
        let inbox = self.inbox
        let (rows, total, page) = try await ExchangeServer.offStore {
            try inbox.page(inbox: address, filter: filter, today: today, limit: limit, page: requested)
        }
        let path = "/ui/inbox/\(role.rawValue)"
        let pages = max(1, (total + limit - 1) / limit)
        func href(_ number: Int) -> String {
            var query = ["page=\(number)"]
            if let type = filter.type { query.append("type=\(type.rawValue)") }
            if filter.overdueOnly { query.append("overdue=yes") }
            return path + "?" + query.joined(separator: "&")
        }
        let types = MessageType.allCases.sorted { CatalogueWords.title(of: $0) < CatalogueWords.title(of: $1) }
        let filterFields = [
            FieldView(
                kind: .select, id: "filter-type", name: "type", label: "Type of notice",
                options: [FieldView.Option(optionID: "filter-type-any", optionValue: "", optionLabel: "Any type", optionSelected: filter.type == nil)]
                    + types.map { type in
                        FieldView.Option(
                            optionID: "filter-type-\(type.rawValue)", optionValue: type.rawValue, optionLabel: CatalogueWords.title(of: type),
                            optionSelected: filter.type == type)
                    }),
            FieldView(
                kind: .checkboxes, id: "filter-overdue", name: "overdue", label: "Answer due",
                options: [
                    FieldView.Option(optionID: "filter-overdue", optionValue: "yes", optionLabel: "Overdue only", optionSelected: filter.overdueOnly)
                ]),
        ]
        let searchFields = [
            FieldView(
                kind: .text, id: "nino", name: "nino", label: CatalogueWords.nino.label, hint: CatalogueWords.nino.hint, error: ninoError,
                value: nino, widthClass: "govuk-input--width-10", autocomplete: "off")
        ]
        let pushed = if case .push = config.inbox(Address(member.party, role)) { true } else { false }
        let first = total == 0 ? 0 : (page - 1) * limit + 1
        let last = min(total, page * limit)
        let showing =
            filter.personKey != nil
            ? "\(total) notice\(total == 1 ? "" : "s") waiting about this claimant\(total > limit ? "; the newest \(limit) are shown" : "")."
            : "Showing \(first) to \(last) of \(total) waiting notice\(total == 1 ? "" : "s")."
                + (pushed ? " Liaison sends this inbox's notices to your organisation's system: these are on their way there." : "")
        var layout = self.layout("\(PageWords.role(role)) inbox" + (pages > 1 ? " (page \(page) of \(pages))" : ""), session: session, current: path)
        layout.hasErrors = ninoError != nil
        layout.banner = banner
        let view = InboxView(
            layout: layout,
            errors: ninoError.map { ErrorSummaryView(items: [ErrorSummaryView.Item(message: $0, target: "nino")]) },
            partyName: member.party, roleName: PageWords.role(role), path: path, csrfToken: session.csrfToken,
            filterFields: filterFields, searchFields: searchFields, showing: showing,
            caption: "Waiting notices" + (pages > 1 ? " (page \(page) of \(pages))" : ""),
            rows: rows.map { row in
                InboxView.Row(
                    typeName: MessageType(rawValue: row.type).map(CatalogueWords.title(of:)) ?? row.type,
                    href: "/ui/messages/\(row.messageID)?inbox=\(role.rawValue)", nino: row.nino ?? "None (clerical task)",
                    sender: row.sender == SubmissionDesk.routerPartyID ? "Liaison (a reminder or task)" : row.sender,
                    received: PageWords.time(row.receivedAt), due: DueView(type: row.type, date: row.dueDate, today: today))
            },
            hasRows: !rows.isEmpty,
            empty: filter.personKey != nil ? "No waiting notice is about this claimant." : "No notices match. Clear the filters to see them all.",
            pagination: filter.personKey != nil ? nil : PaginationView.make(page: page, pages: pages, href: href))
        return render("inbox", view, status: status)
    }
}
