import Foundation
import GRDB
import Testing

@testable import LiaisonStore

@Suite struct WALBufferTests {
    private func createFiller(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE IF NOT EXISTS filler (n INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    }

    /// Rows `range` of 1,000 random bytes each.
    private func fill(_ db: Database, _ range: Range<Int>) throws {
        for n in range { try db.execute(sql: "INSERT INTO filler (n, body) VALUES (?, randomblob(1000))", arguments: [n]) }
    }

    /// What a separate connection, with its own handle on the log, reads.
    private func readBack(_ path: String) throws -> (rows: Int, integrity: String) {
        let reader = try DatabaseQueue(path: path)
        return try reader.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM filler") ?? -1, try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "")
        }
    }

    @Test func aCommitReachesTheLogInOneWriteAndOtherConnectionsReadIt() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        try store.pool.write(createFiller)
        let before = try #require(store.pool.writeWithoutTransaction { WALBuffer.counts($0) })
        try store.pool.write { db in try fill(db, 0..<200) }
        let after = try #require(store.pool.writeWithoutTransaction { WALBuffer.counts($0) })
        // About 50 pages, each a frame header and a page (over 100 writes asked for, 206 KB): written in two
        // pieces of at most 124 KB.
        #expect(after.requested - before.requested >= 100)
        #expect(after.made - before.made == 2)
        #expect(try readBack(temporary.path) == (200, "ok"))
    }

    @Test func aCommitWithoutASyncIsInTheLogBeforeOthersCanSeeIt() throws {
        let temporary = TemporaryStore()
        WALBuffer.install()
        var configuration = Configuration()
        // No fsync at commit: only the commit frame tells the buffer to write.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = OFF") }
        let writer = try DatabasePool(path: temporary.path, configuration: configuration)
        try writer.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = OFF") }
        try writer.write(createFiller)
        for round in 0..<5 {
            try writer.write { db in try fill(db, (round * 100)..<(round * 100 + 100)) }
            #expect(try readBack(temporary.path) == ((round + 1) * 100, "ok"))
        }
    }

    @Test func pagesSpilledBeforeTheCommitAreReadBackAndARollbackLeavesNothing() throws {
        let temporary = TemporaryStore()
        let store = try SQLiteCaseStore(path: temporary.path)
        try store.pool.write(createFiller)
        // A cache of 10 pages with spilling on: most of a 2 MB transaction goes to the log before its commit,
        // more than the buffer holds.
        try store.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA cache_size = 10; PRAGMA cache_spill = ON")
            try db.inTransaction {
                try fill(db, 0..<2_000)
                #expect(try Int.fetchOne(db, sql: "SELECT sum(length(body)) FROM filler") == 2_000_000)
                return .rollback
            }
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM filler") == 0)
            try db.inTransaction {
                try fill(db, 0..<2_000)
                return .commit
            }
            try db.execute(sql: "PRAGMA cache_size = -8192; PRAGMA cache_spill = OFF")
        }
        #expect(try readBack(temporary.path) == (2_000, "ok"))
        // And after the log is copied back into the database and starts over.
        try store.pool.writeWithoutTransaction { db in _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try store.pool.write { db in try fill(db, 2_000..<2_100) }
        #expect(try readBack(temporary.path) == (2_100, "ok"))
    }
}
