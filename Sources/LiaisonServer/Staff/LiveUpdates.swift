import Foundation
import Hummingbird
import LiaisonCore
import LiaisonStore
import NIOCore

/// `GET /ui/events`: server-sent events that tell an open page a notice has arrived in one of the member's
/// inboxes, so that it shows without a reload. Pages work without them.
extension StaffPages {
    func liveUpdates(context: ExchangeContext) throws -> Response {
        let session = try context.staffSession()
        let inboxes = Set(session.member.inboxes.map(\.description))
        let stream = events.subscribe(inboxes: inboxes)
        let accounts = self.accounts
        let cookie = context.staffCookie ?? ""
        let staff = config.staff
        var response = Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: ": liaison\n\n"))
                for await event in stream {
                    switch event {
                    case .heartbeat:
                        // The stream ends with its session: signed out, disabled, or idle past the timeout.
                        let now = Date()
                        guard let live = try? await ExchangeServer.offStore({ try accounts.session(cookie: cookie) }),
                            now.timeIntervalSince(live.lastSeen) <= staff.idleTimeoutSeconds,
                            now.timeIntervalSince(live.created) <= staff.sessionLifetimeSeconds
                        else {
                            try await writer.finish(nil)
                            return
                        }
                        try await writer.write(ByteBuffer(string: ": still here\n\n"))
                    case .notice(let inbox):
                        let role = Address(inbox)?.role
                        let data: JSONValue = [
                            "inbox": .string(inbox), "label": .string(role.map { "the \(PageWords.role($0)) inbox" } ?? inbox),
                            "href": .string(role.map { "/ui/inbox/\($0.rawValue)" } ?? "/ui/"),
                        ]
                        try await writer.write(ByteBuffer(string: "event: notice\ndata: \(data.canonicalText)\n\n"))
                    }
                }
                try await writer.finish(nil)
            })
        StaffPages.secure(&response)
        return response
    }
}
