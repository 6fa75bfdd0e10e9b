import Foundation

/// Where the registry, the message history and the timers are kept. The core reads and writes through
/// this interface only; SQLite (LiaisonStore) implements it, and a PostgreSQL store could.
public protocol CaseStore: Sendable {
    /// Runs `work` in one atomic, durable transaction: all of it is stored, or none.
    func transaction<T>(_ work: (any CaseStoreTransaction) throws -> T) throws -> T
}

/// The reads and writes of one transaction.
public protocol CaseStoreTransaction {
    /// The answer already given to an accepted message with this id.
    func acceptedMessage(id: String) throws -> StoredAnswer?
    /// The claimant's record.
    func person(key: String) throws -> PersonRecord?
    /// Stores the claimant's record and re-indexes its timers.
    /// - Parameter previous: the record as read in this transaction (nil for a new claimant), so that only
    ///   what changed is written.
    func save(_ person: PersonRecord, replacing previous: PersonRecord?) throws
    /// Stores an accepted message with its answer and one routed copy per address.
    func recordAccepted(_ message: AcceptedMessage) throws
    /// Stores a message Liaison generated, with its one copy.
    func recordGenerated(_ message: GeneratedMessage, personKey: String?, cause: String) throws
    /// Keeps a refused message in the audit log (never its body).
    func recordRefusal(_ refusal: RefusalRecord) throws
    /// The keys of claimants with an unblocked timer due at or before `instant`.
    func personKeysWithTimers(dueBy instant: Date) throws -> [String]
}

/// What was answered to an accepted message, kept for idempotent resubmission.
public struct StoredAnswer: Sendable, Equatable {
    /// The canonical text of the envelope as submitted (with `from` filled in).
    public let content: String
    public let status: Int
    public let response: JSONValue
    /// The canonical text of `response`: what is stored and what the API answers, made once.
    public let responseText: String

    /// - Parameter responseText: the canonical text of `response` when already known (as read from the store).
    public init(content: String, status: Int, response: JSONValue, responseText: String? = nil) {
        self.content = content
        self.status = status
        self.response = response
        self.responseText = responseText ?? response.canonicalText
    }
}

/// An accepted message, ready to store. Its decision is in `answer`.
public struct AcceptedMessage: Sendable {
    public let envelope: Envelope
    public let receivedAt: Date
    public let routes: [Address]
    public let answer: StoredAnswer
}

/// A refusal for the audit log: who, what, why, never the body.
public struct RefusalRecord: Sendable, Equatable {
    public let messageID: String?
    public let sender: String
    public let type: String?
    public let code: RefusalCode
    public let detail: String
    /// The NINO masked (`AB12****C`), when one was readable.
    public let maskedNINO: String?
    public let receivedAt: Date
}
