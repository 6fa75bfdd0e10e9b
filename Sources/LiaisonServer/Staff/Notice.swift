import Foundation
import Hummingbird
import LiaisonCore
import LiaisonStore

/// A notice in words: each field labelled, the decision with its explanation and the guidance it cites, and
/// beside it the claimant's case as this party may see it. Only a message the member's party sent or received
/// is shown; any other is not found, as the API answers.
extension StaffPages {
    struct NoticeView {
        struct Detail {
            let key: String
            let lines: [String]
            let link: LinkView?
        }

        struct Entry {
            let label: String
            let href: String
            let when: String
            let sender: String
            let current: Bool
        }

        struct Done {
            let action: String
            let inbox: String
        }

        let layout: LayoutView
        let caption: String
        let typeName: String
        let due: DueView?
        let details: [Detail]
        let decision: [Detail]
        let hasDecision: Bool
        let answers: [LinkView]
        let hasAnswers: Bool
        let replies: [LinkView]
        let done: Done?
        let hasActions: Bool
        let csrfToken: String
        let partyName: String
        let timeline: [Entry]
    }

    func notice(_ request: Request, context: ExchangeContext) async throws -> Response {
        let session = try context.staffSession()
        let member = session.member
        let id = try context.parameters.require("id")
        let inbox = self.inbox
        guard UUIDText.isValid(id), let message = try await ExchangeServer.offStore({ try inbox.message(id: id, party: member.party) }) else {
            return info(
                "Page not found", ["There is no notice at this address that your organisation sent or received."],
                link: LinkView(href: "/ui/", label: "Go to your inboxes"), status: .notFound, context: context)
        }
        let timeline = try await ExchangeServer.offStore {
            try message.personKey.map { try inbox.timeline(personKey: $0, party: member.party) } ?? []
        }
        let type = MessageType(rawValue: message.type)
        let typeName = type.map(CatalogueWords.title(of:)) ?? message.type
        let today = UKTime.localDate(at: Date())
        let query = request.uri.queryParameters
        let backRole = query.get("inbox").flatMap(InboxRole.init(rawValue:)).flatMap { member.roles.contains($0) ? $0 : nil }
        // The copy in the inbox the member came from, else in the first of theirs it reached.
        let mine = backRole.map { [Address(member.party, $0).description] } ?? member.inboxes.map(\.description)
        let ownCopy = mine.lazy.compactMap { inbox in message.copies.first { $0.inbox == inbox } }.first
        let openCopy = ownCopy.flatMap { copy in isDoneable(copy.inbox, state: copy.state) ? copy : nil }

        var layout = self.layout(typeName, session: session, current: backRole.map { "/ui/inbox/\($0.rawValue)" })
        layout.backLink =
            backRole.map { LinkView(href: "/ui/inbox/\($0.rawValue)", label: "Back to the \(PageWords.role($0)) inbox") }
            ?? LinkView(href: "/ui/", label: "Back to your inboxes")
        if query.get("sent") != nil {
            layout.banner = BannerView(
                title: "Success", heading: "Liaison accepted the notice, stored it and is sending it on.", success: true)
        }

        let replies =
            (type?.answeredBy ?? []).filter { $0.senders.contains(directory[member.party]?.kind ?? .jobcentre) }
            .map { LinkView(href: "/ui/send/\($0.rawValue)?replyTo=\(message.id)", label: "Send: \(CatalogueWords.title(of: $0))") }
            + (message.personKey == nil ? [] : [LinkView(href: "/ui/send?replyTo=\(message.id)", label: "Send another notice about this claimant")])
        let done = openCopy.flatMap { copy in Address(copy.inbox) }.map { Done(action: "/ui/messages/\(message.id)/done", inbox: $0.role.rawValue) }
        let answers = timeline.filter { $0.answers == message.id }.map { entry in
            LinkView(href: "/ui/messages/\(entry.messageID)", label: "\(title(entry.type)), \(PageWords.time(entry.receivedAt))")
        }
        let decision = decisionDetails(message.decision)
        let view = NoticeView(
            layout: layout,
            caption: "From \(sender(message.sender)), received \(PageWords.time(message.receivedAt))",
            typeName: typeName,
            due: ownCopy.flatMap { DueView(type: message.type, date: $0.dueDate, today: today) },
            details: details(message, typeName: typeName),
            decision: decision, hasDecision: !decision.isEmpty,
            answers: answers, hasAnswers: !answers.isEmpty,
            replies: replies, done: done, hasActions: !replies.isEmpty || done != nil,
            csrfToken: session.csrfToken, partyName: member.party,
            timeline: timeline.map { entry in
                NoticeView.Entry(
                    label: title(entry.type), href: "/ui/messages/\(entry.messageID)", when: PageWords.time(entry.receivedAt),
                    sender: sender(entry.sender), current: entry.messageID == message.id)
            })
        return render("notice", view)
    }

    typealias Done = NoticeView.Done

    /// Whether a copy can be marked done: a pull inbox's (a push inbox's is its system's to answer), waiting and
    /// not held by an operator.
    func isDoneable(_ inbox: String, state: String) -> Bool {
        guard let address = Address(inbox), case .pull = config.inbox(address) else { return false }
        return state == CopyState.queued.rawValue || state == CopyState.inFlight.rawValue
    }

    private func title(_ type: String) -> String { MessageType(rawValue: type).map(CatalogueWords.title(of:)) ?? type }

    private func sender(_ party: String) -> String { party == SubmissionDesk.routerPartyID ? "Liaison" : party }

    /// The envelope and body, each field by its label; dates in words, choices spelled out, links to the messages
    /// a field names.
    private func details(_ message: StaffInbox.Message, typeName: String) -> [NoticeView.Detail] {
        typealias Detail = NoticeView.Detail
        let envelope = message.envelope
        var details: [Detail] = []
        if let nino = envelope["nino"]?.stringValue { details.append(Detail(key: CatalogueWords.nino.label, lines: [nino], link: nil)) }
        details.append(Detail(key: "From", lines: [sender(message.sender)], link: nil))
        if let staff = message.staffMember { details.append(Detail(key: "Sent by", lines: [staff], link: nil)) }
        if let sentAt = envelope["sentAt"]?.stringValue.flatMap(Timestamp.parse) {
            details.append(Detail(key: "Sent", lines: [PageWords.time(sentAt)], link: nil))
        }
        details.append(Detail(key: "Received by Liaison", lines: [PageWords.time(message.receivedAt)], link: nil))
        if !message.copies.isEmpty {
            details.append(Detail(key: "Routed to", lines: message.copies.map { "\($0.inbox) (\($0.state))" }, link: nil))
        }
        let body = envelope["body"]?.objectValue ?? [:]
        let schema = MessageType(rawValue: message.type).flatMap { BodySchema.of($0, rules: rules) }
        let order = schema?.fields.map(\.name) ?? []
        let names = order.filter { body[$0] != nil } + body.keys.filter { !order.contains($0) }.sorted()
        for name in names {
            guard let value = body[name], value != .null else { continue }
            let label = CatalogueWords.field(name)?.label ?? name
            if name == "inReplyTo" || name == "regarding", let id = value.stringValue, UUIDText.isValid(id) {
                details.append(
                    Detail(key: label, lines: [], link: LinkView(href: "/ui/messages/\(UUIDText.normalised(id))", label: "The notice it answers")))
                continue
            }
            let kind = schema?.fields.first { $0.name == name }?.kind
            details.append(Detail(key: label, lines: words(value, kind: kind), link: nil))
        }
        return details
    }

    /// The decision's parts in words: outcome, advice, actions, explanation, the guidance it rests on, and the
    /// type's own fields.
    private func decisionDetails(_ decision: JSONValue?) -> [NoticeView.Detail] {
        guard let fields = decision?.objectValue else { return [] }
        typealias Detail = NoticeView.Detail
        var details: [Detail] = []
        let named: [(String, String)] = [("outcome", "Outcome"), ("advice", "Advice"), ("actions", "Actions"), ("explanation", "Why")]
        for (key, label) in named {
            guard let value = fields[key] else { continue }
            // Outcome, advice and actions are the catalogue's values; the explanation is Liaison's own sentence.
            let lines = key == "explanation" ? [value.stringValue ?? ""] : words(value, kind: .oneOf([]))
            if !lines.isEmpty { details.append(Detail(key: label, lines: lines, link: nil)) }
        }
        if let basis = fields["basis"]?.arrayValue?.compactMap(\.stringValue), !basis.isEmpty {
            details.append(Detail(key: "Guidance", lines: basis, link: nil))
        }
        let own = fields.keys.filter { !["outcome", "advice", "actions", "explanation", "basis", "rule"].contains($0) }.sorted()
        for key in own {
            guard let value = fields[key] else { continue }
            details.append(Detail(key: decisionLabels[key] ?? CatalogueWords.field(key)?.label ?? key, lines: words(value, kind: nil), link: nil))
        }
        return details
    }

    private var decisionLabels: [String: String] {
        [
            "deadline": "Due by", "adviceDueBy": "SPOC advice due by", "onTime": "On time", "expectedEndDate": "Expected end date",
            "placementHours": "Placement hours a week", "wpParticipation": "Participation", "indicativeSanctionWeeks": "Indicative sanction (weeks)",
        ]
    }

    /// A value in words, by what its field holds: a date as `7 December 2026`, a date-time with its UK time, true
    /// as Yes, a choice of the catalogue's values spelled out, a list one per line; free text exactly as sent.
    /// A field with no schema (what Liaison generates, a decision's own fields) shows its dates in words.
    private func words(_ value: JSONValue, kind: FieldKind?) -> [String] {
        switch value {
        case .bool(let flag): return [flag ? "Yes" : "No"]
        case .number: return [value.canonicalText]
        case .array(let elements): return elements.isEmpty ? ["None"] : elements.flatMap { words($0, kind: kind) }
        case .string(let text):
            switch kind {
            case .oneOf, .listOf: return [CatalogueWords.value(text)]
            case .text, .note, .uuid, .integer, .bool: return [text]
            case .date, .birthDate, .dateTime, .dateOrDateTime, nil:
                if let date = LocalDate(text) { return [PageWords.date(date)] }
                if let instant = Timestamp.parse(text) { return [PageWords.time(instant)] }
                return [text]
            }
        default: return []
        }
    }

    /// Marks the member's copy in `inbox` done, and logs it.
    func markDone(_ inbox: String, messageID id: String, member: StaffMember) async throws -> Bool {
        let store = self.inbox
        let marked = try await ExchangeServer.offStore { try store.markDone(inbox: inbox, messageID: id, by: member.email, now: Date()) }
        if marked {
            logger.info("staff marked a notice done", metadata: ["staff": "\(member.email)", "message": "\(id)", "inbox": "\(inbox)"])
            submissions.metrics.pulledDelivered(inbox: inbox, count: 1)
        }
        return marked
    }

    /// `POST …/done`: acknowledges the member's copy, as `POST /v1/inbox/{role}/ack` does.
    func markDone(_ request: Request, context: ExchangeContext) async throws -> Response {
        let session = try context.staffSession()
        let member = session.member
        let form = try await form(request)
        guard Self.carriesToken(form, session.csrfToken) else { return forbiddenForm(context: context) }
        let id = try context.parameters.require("id")
        guard UUIDText.isValid(id), let role = InboxRole(rawValue: form["inbox"]), member.roles.contains(role) else {
            return info("Page not found", [], link: LinkView(href: "/ui/", label: "Go to your inboxes"), status: .notFound, context: context)
        }
        let address = Address(member.party, role)
        guard case .pull = config.inbox(address) else {
            return info(
                "This notice cannot be marked done here",
                ["Liaison sends this inbox's notices to your organisation's system, which answers for them."],
                link: LinkView(href: "/ui/inbox/\(role.rawValue)", label: "Back to the inbox"), status: .conflict, context: context)
        }
        let marked = try await markDone(address.description, messageID: id, member: member)
        return redirect(to: "/ui/inbox/\(role.rawValue)\(marked ? "?done=1" : "")")
    }
}
