import CSQLiteWALBuffer
import GRDB

/// Gathers the writes of each commit to the write-ahead log into one `write(2)` (`wal_buffer.c`): SQLite
/// writes each frame as a 24-byte header and a page, about 124 calls for a commit of 32 accepted messages.
///
/// It is SQLite's default VFS in this process once installed, and changes nothing but how log writes reach
/// the file: they are all written, in order, before the log is synced, read, truncated or closed, and at
/// the end of every commit.
public enum WALBuffer {
    /// Installs the buffering VFS as SQLite's default, once per process, before the store's connections open.
    /// - Returns: whether it is in use; if not, SQLite's own default VFS is, and nothing else changes.
    @discardableResult
    static func install() -> Bool {
        liaison_wal_buffer_register() == SQLITE_OK
    }

    /// For the log the connection has open: the writes SQLite asked for, and the `write(2)` calls made for
    /// them; nil when the connection has no buffered log open.
    static func counts(_ db: Database) -> (requested: Int, made: Int)? {
        var requested: Int64 = 0
        var made: Int64 = 0
        guard let connection = db.sqliteConnection, liaison_wal_buffer_counts(connection, &requested, &made) == SQLITE_OK
        else { return nil }
        return (Int(requested), Int(made))
    }
}
