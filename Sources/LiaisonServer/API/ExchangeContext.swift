import Hummingbird
import LiaisonStore
import NIOCore

/// The request context: the connection (for its client certificate) and the authenticated party.
struct ExchangeContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    /// Set by the gatekeeper; handlers behind it never see a request without it.
    var party: String?
    /// The staff member's session, set by the staff pages' gate; pages behind it never see a request without it.
    var staff: StaffAccounts.Session?
    /// The session's cookie, to touch or end the session.
    var staffCookie: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The authenticated party.
    /// - Throws: `Unauthenticated` (401) for a request that did not pass the gatekeeper.
    func authenticatedParty() throws -> String {
        guard let party else { throw Unauthenticated() }
        return party
    }
}
