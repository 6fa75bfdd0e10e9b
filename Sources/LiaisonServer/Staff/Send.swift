import Foundation
import Hummingbird
import LiaisonCore
import LiaisonStore
import Logging

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
            "send-choose", ChooseView(layout: layout("Send a notice", session: session, current: "/ui/send"), partyName: member.party, groups: groups))
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
                if original.sender != member.party, original.sender != Router.routerPartyID, form.type.referredTo == nil {
                    values["to"] = original.sender
                }
                if form.schema.fields.contains(where: { $0.name == "inReplyTo" }) {
                    let regarding = original.envelope["body"]?["regarding"]?.stringValue
                    values[MessageForm.name(of: "inReplyTo")] = original.type == MessageType.cwpAbsence.rawValue ? original.id : (regarding ?? original.id)
                }
                replyingTo = LinkView(href: "/ui/messages/\(original.id)", label: MessageType(rawValue: original.type).map(CatalogueWords.title(of:)) ?? original.type)
                values["replyTo"] = original.id
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
        let hidden = ["messageId", "sentAt", "replyTo"].compactMap { name in
            values[name].isEmpty ? nil : SendView.Hidden(hiddenName: name, hiddenValue: values[name])
        } + (form.type.referredTo == nil && !values["to"].isEmpty ? [SendView.Hidden(hiddenName: "to", hiddenValue: values["to"])] : [])
        let view = SendView(
            layout: layout, errors: errors.map { ErrorSummaryView(summary: $0.summary, items: $0.items) }, typeName: typeName,
            action: "/ui/send/\(form.type.rawValue)", csrfToken: session.csrfToken, replyingTo: replyingTo, hidden: hidden,
            fields: form.fields(values, errors: errors?.byField ?? [:]))
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
        let answer: LiaisonCore.Router.Answer
        do {
            answer = try await committer.submit(Array(envelope.canonicalText.utf8), from: member.party, staffMember: member.email)
        } catch {
            logger.error("message from the staff pages not stored: store unavailable", metadata: ["staff": "\(member.email)", "error": "\(error)"])
            let problem = (byField: [String: String](), summary: ["Liaison could not store the notice just now, so nothing was kept. Send it again in a few minutes."], items: [ErrorSummaryView.Item]())
            return sendForm(messageForm, values: values, errors: problem, replyingTo: replyingTo, session: session, status: .serviceUnavailable)
        }
        var metadata: Logger.Metadata = [
            "staff": "\(member.email)", "id": "\(answer.messageID ?? "-")", "type": "\(messageForm.type.rawValue)",
            "nino": "\(answer.maskedNINO ?? "-")", "status": "\(answer.status)",
        ]
        guard answer.status == 202 else {
            metadata["code"] = "\(answer.refusal?.code.rawValue ?? "-")"
            logger.info("staff message refused", metadata: metadata)
            let refusal = answer.refusal ?? Refusal(.unavailable, "the message could not be judged")
            return sendForm(
                messageForm, values: values, errors: messageForm.errors(refusal), replyingTo: replyingTo, session: session,
                status: HTTPResponse.Status(code: answer.status))
        }
        metadata["routedTo"] = "\(answer.routedTo.joined(separator: ","))"
        logger.info(answer.replayed ? "staff message sent again: answered as before" : "staff sent a message", metadata: metadata)
        return redirect(to: "/ui/messages/\(values["messageId"].lowercased())?sent=1")
    }
}
