import Hummingbird
import NIOCore

/// The request context: the connection (for its client certificate) and the authenticated party.
struct ExchangeContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    /// Set by the authentication middleware; handlers never see a request without it.
    var party: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
