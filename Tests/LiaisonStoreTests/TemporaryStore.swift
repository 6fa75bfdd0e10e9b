import Foundation

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
