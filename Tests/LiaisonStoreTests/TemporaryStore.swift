import Foundation
import LiaisonCore
@testable import LiaisonStore

/// A store in a fresh temporary folder, removed afterwards.
final class TemporaryStore {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-store-\(UUID().uuidString)")
    var path: String { folder.appendingPathComponent("liaison.sqlite").path }

    init() {
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
    }
}

/// A fresh store in a temporary folder of its own, with its delivery queue, an operator's view of it, and the
/// instant the tests work at. The fixture keeps the folder, so it outlives the store for as long as the
/// fixture is in use.
struct StoreFixture {
    let temporary = TemporaryStore()
    let store: SQLiteCaseStore
    let queue: DeliveryQueue
    let operatorView: QueueOperator
    let at = Timestamp.parse("2024-12-02T09:00:00Z")!
    var now: Double { at.timeIntervalSince1970 }

    init() throws {
        store = try SQLiteCaseStore(path: temporary.path)
        queue = DeliveryQueue(store: store)
        operatorView = QueueOperator(pool: store.pool)
    }
}
