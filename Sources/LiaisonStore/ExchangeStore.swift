import Foundation
import LiaisonCore

/// The case store as the daemon uses it: the core's transactions, and shared commits of many submissions
/// (the group committer's), a durable probe for readiness, and the claimants whose timers are due. SQLite
/// (`SQLiteCaseStore`) and PostgreSQL (`PostgresCaseStore`) implement it.
public protocol ExchangeStore: CaseStore {
    /// Runs `work` for each item inside one transaction: an item whose work throws is rolled back alone and
    /// reported as a failure; the rest commit together. `work` may run more than once for an item, and only its
    /// last run is kept.
    /// - Parameter keys: what each item will touch, so that the store can lock and read it up front (the
    ///   claimant whose messages must be judged one at a time, the id whose earlier message is looked up).
    /// - Throws: when the commit itself fails, in which case nothing of the batch is stored.
    func batch<Item, Output>(
        _ items: [Item], keys: (Item) -> BatchKeys, _ work: (Item, any CaseStoreTransaction) throws -> Output
    ) throws -> [Result<Output, any Error>]

    /// Makes one small durable write, committed like any other: whether the store takes writes now.
    func probe(at now: Date) throws

    /// The keys of claimants with an unblocked timer due at or before `instant`, earliest first.
    func personKeysWithTimers(dueBy instant: Date) throws -> [String]
}

/// What one item of a batch will touch.
public struct BatchKeys: Sendable {
    /// The claimant (person key) it judges, whose messages are judged one at a time.
    public var claimant: String?
    /// The message id whose earlier message it looks up.
    public var messageID: String?

    public init(claimant: String? = nil, messageID: String? = nil) {
        self.claimant = claimant
        self.messageID = messageID
    }
}
