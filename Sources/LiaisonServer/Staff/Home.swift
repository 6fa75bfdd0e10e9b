import Foundation
import Hummingbird
import LiaisonCore
import LiaisonStore

/// The home page: each of the member's roles with its waiting and overdue notices.
extension StaffPages {
    struct HomeView {
        struct Inbox {
            let roleName: String
            let href: String
            let waiting: Int
            let overdue: Int
            let hasOverdue: Bool
        }

        let layout: LayoutView
        let partyName: String
        let inboxes: [Inbox]
    }

    func home(context: ExchangeContext) async throws -> Response {
        let session = try context.staffSession()
        let member = session.member
        let inbox = self.inbox
        let addresses = member.inboxes.map(\.description)
        let today = UKTime.localDate(at: Date())
        let counts = try await ExchangeServer.offStore { try inbox.counts(inboxes: addresses, today: today) }
        let rows = member.roles.map { role in
            let count = counts[Address(member.party, role).description] ?? StaffInbox.Counts()
            return HomeView.Inbox(
                roleName: PageWords.role(role), href: "/ui/inbox/\(role.rawValue)", waiting: count.waiting, overdue: count.overdue,
                hasOverdue: count.overdue > 0)
        }
        let view = HomeView(layout: layout("Your inboxes", session: session, current: "/ui/"), partyName: member.party, inboxes: rows)
        return render("home", view)
    }
}
