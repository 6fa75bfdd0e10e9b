import Foundation
import GRDB

/// Copies the write-ahead log back into the database file on its own connection and thread, so that the
/// writer (whose speed bounds how fast messages are acknowledged) only appends to the log and fsyncs it.
///
/// Checkpoints are PASSIVE: they never block the writer or readers. Pages written many times between two
/// checkpoints are copied once. The writer keeps SQLite's own automatic checkpoint only as a backstop at
/// `SQLiteCaseStore.writerCheckpointPages`, in case this one falls behind or is not running.
public final class Checkpointer: @unchecked Sendable {
    private let connection: DatabaseQueue
    private let interval: TimeInterval
    private let lock = NSCondition()
    private var stopped = false

    /// Opens a second connection to the store at `path` (already created and migrated by `SQLiteCaseStore`).
    public init(path: String, interval: TimeInterval = 0.1) throws {
        WALBuffer.install()
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        connection = try DatabaseQueue(path: path, configuration: configuration)
        // The checkpoint syncs the database file before the log may be reused.
        try connection.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        self.interval = interval
    }

    public func start() {
        Thread { [self] in
            Thread.current.name = "liaison-ckpt"
            loop()
        }.start()
    }

    /// Stops after the checkpoint in progress, with one last one so the log is short for the next start.
    public func stop() {
        lock.lock()
        stopped = true
        lock.signal()
        lock.unlock()
    }

    /// One passive checkpoint now.
    /// - Returns: frames in the log and frames copied into the database.
    @discardableResult
    public func checkpoint() throws -> (log: Int, copied: Int) {
        try connection.writeWithoutTransaction { db in
            let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
            return (row?[1] ?? 0, row?[2] ?? 0)
        }
    }

    private func loop() {
        while true {
            lock.lock()
            if !stopped { _ = lock.wait(until: Date().addingTimeInterval(interval)) }
            let done = stopped
            lock.unlock()
            // A busy or failed checkpoint is retried on the next round; the writer's backstop remains.
            _ = try? checkpoint()
            if done { return }
        }
    }
}
