import Hummingbird
import NIOCore

/// The request context: the connection (for its client certificate) and the authenticated party.
struct ExchangeContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    /// Set by the gatekeeper; handlers behind it never see a request without it.
    var party: String?

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
