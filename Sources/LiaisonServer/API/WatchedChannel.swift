import HummingbirdCore
import Logging
import NIOCore

/// A child channel that puts a `RequestBytesWatcher` in front of its base's HTTP decoder (after TLS, which
/// wraps it), so that a request is timed from its first byte, not from a head that a slow client may take
/// minutes to finish.
struct WatchedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RequestBytesWatcher())
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
