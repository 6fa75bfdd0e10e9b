import Foundation
import Synchronization

/// A `CaseStore` in memory, for unit tests of the core. Transactions are serialised and roll back on error.
public final class InMemoryCaseStore: CaseStore {
    /// Everything the store holds, as plain values.
    public struct Contents: Sendable {
        public var answers: [String: (answer: StoredAnswer, sender: String)] = [:]
        public var people: [String: PersonRecord] = [:]
        public var accepted: [AcceptedMessage] = []
        public var generated: [GeneratedMessage] = []
        public var refusals: [RefusalRecord] = []
    }

    private let state = Mutex(Contents())

    public init() {}

    /// A copy of what is stored.
    public var contents: Contents { state.withLock { $0 } }

    public func transaction<T>(_ work: (any CaseStoreTransaction) throws -> T) throws -> T {
        try state.withLock { contents in
            let transaction = Transaction(contents: contents)
            let result = try work(transaction)
            contents = transaction.contents
            return result
        }
    }

    private final class Transaction: CaseStoreTransaction {
        var contents: Contents

        init(contents: Contents) {
            self.contents = contents
        }

        func earlierMessage(id: String) throws -> EarlierMessage? {
            if let earlier = contents.answers[id] { return .accepted(earlier.answer, sender: earlier.sender) }
            return contents.generated.contains { $0.id == id } ? .generated : nil
        }
        func person(key: String) throws -> PersonRecord? { contents.people[key] }
        func hasClericalTask(like task: GeneratedMessage) throws -> Bool {
            contents.generated.contains {
                $0.type == .clericalTask && $0.to == task.to && $0.body["regarding"] == task.body["regarding"]
                    && $0.body["type"] == task.body["type"]
            }
        }
        func save(_ person: PersonRecord, replacing previous: PersonRecord?) throws { contents.people[person.key] = person }

        func recordAccepted(_ message: AcceptedMessage) throws {
            contents.answers[message.envelope.id] = (message.answer, message.envelope.from)
            contents.accepted.append(message)
        }

        func recordGenerated(_ message: GeneratedMessage, personKey: String?, cause: String) throws {
            contents.generated.append(message)
        }

        func recordRefusal(_ refusal: RefusalRecord) throws { contents.refusals.append(refusal) }

        func personKeysWithTimers(dueBy instant: Date) throws -> [String] {
            contents.people.values
                .compactMap { person in
                    person.timers.filter { $0.blocked == nil }.map(\.fireAt).min().map { (person.key, $0) }
                }
                .filter { $0.1 <= instant }
                .sorted { $0.1 < $1.1 }
                .map(\.0)
        }
    }
}
