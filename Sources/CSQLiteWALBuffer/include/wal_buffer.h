#ifndef LIAISON_WAL_BUFFER_H
#define LIAISON_WAL_BUFFER_H

#include <sqlite3.h>
#include <stdint.h>

/// Registers, once per process, the "liaison-wal-buffer" SQLite VFS as the default: the system's default VFS
/// with write-ahead log writes gathered into one write(2) per commit. Returns SQLITE_OK or SQLite's error.
int liaison_wal_buffer_register(void);

/// For the log that connection `db` has open: the writes SQLite asked for since it was opened, and the
/// write(2) calls made for them. Returns SQLITE_NOTFOUND when the connection has no buffered log open.
int liaison_wal_buffer_counts(sqlite3 *db, int64_t *requested, int64_t *made);

#endif
