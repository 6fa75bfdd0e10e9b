import Foundation
import Hummingbird
import LiaisonCore
import LiaisonStore

/// Sending a notice: a form for every type the member's party may send, built from its body schema. A form
/// sent takes the API's path exactly (the same validation, rules and durable commit, 202 only once stored),
/// and keeps who sent it; a refusal comes back beside the fields, in the API's words.
extension StaffPages {
    struct ChooseView {
        struct Group {
            let title: String
            let types: [LinkView]
        }

        let layout: LayoutView
        let partyName: String
        let groups: [Group]
    }

    struct SendView {
        struct Hidden {
            let hiddenName: String
            let hiddenValue: String
        }

        let layout: LayoutView
        let errors: ErrorSummaryView?
        let typeName: String
        let action: String
        let csrfToken: String
        let replyingTo: LinkView?
        let hidden: [Hidden]
        let fields: [FieldView]
    }

    private func sendable(by member: StaffMember) -> [MessageType] {
        guard let kind = directory[member.party]?.kind else { return [] }
        return MessageType.submittable.filter { $0.senders.contains(kind) }
    }

    func sendChoice(_ request: Request, context: ExchangeContext) async throws -> Response {
        let session = try context.staffSession()
        let member = session.member
        let types = sendable(by: member)
        // About a claimant of a notice: each form starts filled in from it.
        let about = request.uri.queryParameters.get("replyTo").flatMap { UUIDText.isValid($0) ? "?replyTo=\($0)" : nil } ?? ""
        func group(_ title: String, _ programme: MessageType.Programme) -> ChooseView.Group? {
            let links = types.filter { $0.programme == programme }.map {
                LinkView(href: "/ui/send/\($0.rawValue)\(about)", label: CatalogueWords.title(of: $0))
            }
            return links.isEmpty ? nil : ChooseView.Group(title: title, types: links)
        }
        let groups = [group("Community Work Placements", .communityWorkPlacements), group("Work Programme", .workProgramme)].compactMap { $0 }
        return render(
            "send-choose", ChooseView(layout: layout("Send a notice", session: session, current: "/ui/send"), partyName: member.party, groups: groups)
        )
    }

    /// The type named in the path, when the member's party may send it.
    private func form(for context: ExchangeContext, _ member: StaffMember) -> MessageForm? {
        guard let name = try? context.parameters.require("type"), let type = MessageType(rawValue: name), sendable(by: member).contains(type)
        else { return nil }
        return MessageForm(type: type, rules: rules, directory: directory)
    }

    func sendPage(_ request: Request, context: ExchangeContext) async throws -> Response {
        let session = try context.staffSession()
        let member = session.member
        guard let form = form(for: context, member) else { return notSendable(context) }
        var values = FormFields()
        var replyingTo: LinkView?
        // An answer starts filled in: the claimant, who it goes to, and the notice it answers.
        if let replyTo = request.uri.queryParameters.get("replyTo"), UUIDText.isValid(replyTo) {
            let inbox = self.inbox
            if let original = try await ExchangeServer.offStore({ try inbox.message(id: replyTo, party: member.party) }) {
                values["nino"] = original.envelope["nino"]?.stringValue ?? ""
                if original.sender != member.party, original.sender != SubmissionDesk.routerPartyID, form.type.referredTo == nil {
                    values["to"] = original.sender
                }
                // The notice it answers, when this type answers that one's (not any form the claimant's link opens).
                if MessageType(rawValue: original.type)?.answeredBy.contains(form.type) == true,
                    form.schema.fields.contains(where: { $0.name == "inReplyTo" })
                {
                    let regarding = original.envelope["body"]?["regarding"]?.stringValue
                    values[MessageForm.name(of: "inReplyTo")] =
                        original.type == MessageType.cwpAbsence.rawValue ? original.id : (regarding ?? original.id)
                }
                replyingTo = LinkView(
                    href: "/ui/messages/\(original.id)", label: MessageType(rawValue: original.type).map(CatalogueWords.title(of:)) ?? original.type)
                values["replyTo"] = original.id
                // Answering a notice waiting in one of the member's inboxes: offered done with the answer.
                if MessageType(rawValue: original.type)?.answeredBy.contains(form.type) == true,
                    let copy = original.copies.first(where: { copy in
                        member.inboxes.map(\.description).contains(copy.inbox) && isDoneable(copy.inbox, state: copy.state)
                    })
                {
                    values["doneInbox"] = copy.inbox
                    values["markDone"] = "yes"
                }
            }
        }
        values["messageId"] = UUID().uuidString.lowercased()
        values["sentAt"] = Timestamp.format(Date())
        return sendForm(form, values: values, errors: nil, replyingTo: replyingTo, session: session, status: .ok)
    }

    private func notSendable(_ context: ExchangeContext) -> Response {
        info(
            "Page not found", ["Your organisation does not send this kind of notice."],
            link: LinkView(href: "/ui/send", label: "Choose a kind of notice to send"), status: .notFound, context: context)
    }

    private func sendForm(
        _ form: MessageForm, values: FormFields, errors: (byField: [String: String], summary: [String], items: [ErrorSummaryView.Item])?,
        replyingTo: LinkView?, session: StaffAccounts.Session, status: HTTPResponse.Status
    ) -> Response {
        let typeName = CatalogueWords.title(of: form.type)
        var layout = self.layout((errors == nil ? "" : "") + "Send: \(typeName)", session: session, current: "/ui/send")
        layout.hasErrors = errors != nil
        layout.backLink = replyingTo.map { LinkView(href: $0.href, label: "Back to the notice") } ?? LinkView(href: "/ui/send", label: "Back")
        // The message's id and time are fixed when the form is first shown: sent twice, it is the same message,
        // answered as before rather than stored twice.
        let fields = form.fields(values, errors: errors?.byField ?? [:])
        let showsTo = fields.contains { $0.name == "to" }
        let hidden =
            ["messageId", "sentAt", "replyTo", "doneInbox"].compactMap { name in
                values[name].isEmpty ? nil : SendView.Hidden(hiddenName: name, hiddenValue: values[name])
            } + (!showsTo && !values["to"].isEmpty ? [SendView.Hidden(hiddenName: "to", hiddenValue: values["to"])] : [])
        // Done with the answer, for the notice answered that waits in the member's inbox.
        let done =
            values["doneInbox"].isEmpty
            ? []
            : [
                FieldView(
                    kind: .checkboxes, id: "markDone", name: "markDone", label: "The notice you are answering",
                    options: [
                        FieldView.Option(
                            optionID: "markDone", optionValue: "yes", optionLabel: "Mark it as done once this is sent",
                            optionSelected: values["markDone"] == "yes")
                    ])
            ]
        let view = SendView(
            layout: layout, errors: errors.map { ErrorSummaryView(summary: $0.summary, items: $0.items) }, typeName: typeName,
            action: "/ui/send/\(form.type.rawValue)", csrfToken: session.csrfToken, replyingTo: replyingTo, hidden: hidden,
            fields: fields + done)
        return render("send", view, status: status)
    }

    func send(_ request: Request, context: ExchangeContext) async throws -> Response {
        let session = try context.staffSession()
        let member = session.member
        guard let messageForm = form(for: context, member) else { return notSendable(context) }
        var values = try await form(request)
        guard Self.carriesToken(values, session.csrfToken) else { return forbiddenForm(context: context) }
        if !UUIDText.isValid(values["messageId"]) { values["messageId"] = UUID().uuidString.lowercased() }
        if Timestamp.parse(values["sentAt"]) == nil { values["sentAt"] = Timestamp.format(Date()) }
        let replyingTo = UUIDText.isValid(values["replyTo"]) ? LinkView(href: "/ui/messages/\(values["replyTo"])", label: "the notice") : nil
        let envelope = messageForm.envelope(values, id: values["messageId"], sentAt: values["sentAt"])
        let answer: LiaisonCore.SubmissionDesk.Answer
        do {
            answer = try await committer.submit(Array(envelope.canonicalText.utf8), from: member.party, staffMember: member.email)
        } catch {
            logger.error("message from the staff pages not stored: store unavailable", metadata: ["staff": "\(member.email)", "error": "\(error)"])
            let problem = (
                byField: [String: String](),
                summary: ["Liaison could not store the notice just now, so nothing was kept. Send it again in a few minutes."],
                items: [ErrorSummaryView.Item]()
            )
            return sendForm(messageForm, values: values, errors: problem, replyingTo: replyingTo, session: session, status: .serviceUnavailable)
        }
        submissions.record(answer, from: member.party, staffMember: member.email)
        guard answer.status == 202 else {
            let refusal = answer.refusal ?? Refusal(.unavailable, "the message could not be judged")
            return sendForm(
                messageForm, values: values, errors: messageForm.errors(refusal), replyingTo: replyingTo, session: session,
                status: HTTPResponse.Status(code: answer.status))
        }
        if !answer.replayed {
            logger.info("staff sent a message", metadata: ["staff": "\(member.email)", "id": "\(answer.messageID ?? "-")"])
        }
        // The notice answered, marked done with it, when it waits in one of the member's pull inboxes.
        if values["markDone"] == "yes", UUIDText.isValid(values["replyTo"]), member.inboxes.map(\.description).contains(values["doneInbox"]),
            let address = Address(values["doneInbox"]), case .pull = config.inbox(address)
        {
            _ = try await markDone(values["doneInbox"], messageID: values["replyTo"], member: member)
        }
        return redirect(to: "/ui/messages/\(values["messageId"].lowercased())?sent=1")
    }
}
