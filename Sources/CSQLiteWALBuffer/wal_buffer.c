// A shim over SQLite's default VFS that gathers the writes to write-ahead logs.
//
// SQLite appends each frame of a commit to the log with two writes, the 24-byte frame header and the page:
// about 124 write(2) calls for a commit of 32 accepted messages, whose syscall overhead was a sixth of the
// writer thread's time. Here a log's contiguous writes collect in a buffer and reach the file in a few large
// writes when the commit is complete, and always before anything that could observe the file:
//   - xSync (every commit with synchronous=FULL, which is what Liaison runs): the frames are written, then
//     synced, so the fsync covers exactly what SQLite wrote;
//   - the page that follows a commit frame's header (its second word, the database size after the commit, is
//     non-zero): so a commit without a sync is in the file before SQLite publishes it in the shared index;
//   - a read, size, truncate, file control or close, and any write that does not continue the buffer.
// Every other file (the database itself, journals) and every other call is passed through unchanged.
// Nothing is reordered: the buffer holds one contiguous run and is written before any other write.

#include "wal_buffer.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define BUFFER_BYTES (1024 * 1024)
#define FRAME_HEADER_BYTES 24

typedef struct BufferedFile {
    sqlite3_file base;
    sqlite3_file *real;       // the underlying VFS's file, allocated right after this struct
    int isLog;                // a write-ahead log: its writes are buffered
    unsigned char *buffer;    // allocated on the first write
    sqlite3_int64 start;      // file offset of buffer[0]
    int length;               // bytes buffered
    int commitPagePending;    // the last write was a commit frame's header
    int64_t requestedWrites;  // writes SQLite asked for
    int64_t madeWrites;       // write(2) calls made for them
} BufferedFile;

static sqlite3_vfs *underlying;
static sqlite3_vfs bufferedVFS;

// The Unix VFS writes at most 128 KiB - 1 bytes per write(2) call, and a request whose length is a multiple
// of 128 KiB as none at all (it masks the length with 0x1ffff): writes are passed down in pieces below that.
#define MOST_PER_WRITE 0x1F000

/// Writes `length` bytes at `offset` to the file below, in pieces it writes whole.
static int writeDown(BufferedFile *file, const unsigned char *data, int length, sqlite3_int64 offset) {
    for (int done = 0; done < length; done += MOST_PER_WRITE) {
        int piece = length - done < MOST_PER_WRITE ? length - done : MOST_PER_WRITE;
        file->madeWrites += 1;
        int rc = file->real->pMethods->xWrite(file->real, data + done, piece, offset + done);
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

static int flush(BufferedFile *file) {
    int length = file->length;
    file->length = 0;
    return writeDown(file, file->buffer, length, file->start);
}

static int bufferedClose(sqlite3_file *base) {
    BufferedFile *file = (BufferedFile *)base;
    int flushed = flush(file);
    int closed = file->real->pMethods->xClose(file->real);
    free(file->buffer);
    file->buffer = NULL;
    return flushed != SQLITE_OK ? flushed : closed;
}

static int bufferedRead(sqlite3_file *base, void *data, int amount, sqlite3_int64 offset) {
    BufferedFile *file = (BufferedFile *)base;
    if (file->length > 0 && offset < file->start + file->length && offset + amount > file->start) {
        int rc = flush(file);
        if (rc != SQLITE_OK) return rc;
    }
    return file->real->pMethods->xRead(file->real, data, amount, offset);
}

static int bufferedWrite(sqlite3_file *base, const void *data, int amount, sqlite3_int64 offset) {
    BufferedFile *file = (BufferedFile *)base;
    if (!file->isLog) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    file->requestedWrites += 1;
    int rc;
    if (file->length > 0 && (offset != file->start + file->length || file->length + amount > BUFFER_BYTES)) {
        rc = flush(file);
        if (rc != SQLITE_OK) return rc;
    }
    if (file->buffer == NULL) {
        file->buffer = malloc(BUFFER_BYTES);
        if (file->buffer == NULL) return SQLITE_IOERR_NOMEM;
    }
    if (amount > BUFFER_BYTES) {
        // Larger than the buffer (SQLite's own writes never are): written straight away.
        rc = writeDown(file, data, amount, offset);
        if (rc != SQLITE_OK) return rc;
    } else {
        if (file->length == 0) file->start = offset;
        memcpy(file->buffer + file->length, data, (size_t)amount);
        file->length += amount;
    }
    if (file->commitPagePending) {
        file->commitPagePending = 0;
        return flush(file);
    }
    if (amount == FRAME_HEADER_BYTES) {
        const unsigned char *header = data;
        file->commitPagePending = (header[4] | header[5] | header[6] | header[7]) != 0;
    }
    return SQLITE_OK;
}

static int bufferedTruncate(sqlite3_file *base, sqlite3_int64 size) {
    BufferedFile *file = (BufferedFile *)base;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xTruncate(file->real, size);
}

static int bufferedSync(sqlite3_file *base, int flags) {
    BufferedFile *file = (BufferedFile *)base;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xSync(file->real, flags);
}

static int bufferedFileSize(sqlite3_file *base, sqlite3_int64 *size) {
    BufferedFile *file = (BufferedFile *)base;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xFileSize(file->real, size);
}

static int bufferedLock(sqlite3_file *base, int lock) {
    BufferedFile *file = (BufferedFile *)base;
    return file->real->pMethods->xLock(file->real, lock);
}

static int bufferedUnlock(sqlite3_file *base, int lock) {
    BufferedFile *file = (BufferedFile *)base;
    return file->real->pMethods->xUnlock(file->real, lock);
}

static int bufferedCheckReservedLock(sqlite3_file *base, int *reserved) {
    BufferedFile *file = (BufferedFile *)base;
    return file->real->pMethods->xCheckReservedLock(file->real, reserved);
}

static int bufferedFileControl(sqlite3_file *base, int op, void *argument) {
    BufferedFile *file = (BufferedFile *)base;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xFileControl(file->real, op, argument);
}

static int bufferedSectorSize(sqlite3_file *base) {
    BufferedFile *file = (BufferedFile *)base;
    return file->real->pMethods->xSectorSize(file->real);
}

static int bufferedDeviceCharacteristics(sqlite3_file *base) {
    BufferedFile *file = (BufferedFile *)base;
    return file->real->pMethods->xDeviceCharacteristics(file->real);
}

static int bufferedShmMap(sqlite3_file *base, int region, int size, int extend, void volatile **memory) {
    BufferedFile *file = (BufferedFile *)base;
    if (file->real->pMethods->iVersion < 2) return SQLITE_IOERR_SHMMAP;
    return file->real->pMethods->xShmMap(file->real, region, size, extend, memory);
}

static int bufferedShmLock(sqlite3_file *base, int offset, int count, int flags) {
    BufferedFile *file = (BufferedFile *)base;
    if (file->real->pMethods->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
    return file->real->pMethods->xShmLock(file->real, offset, count, flags);
}

static void bufferedShmBarrier(sqlite3_file *base) {
    BufferedFile *file = (BufferedFile *)base;
    if (file->real->pMethods->iVersion < 2) return;
    file->real->pMethods->xShmBarrier(file->real);
}

static int bufferedShmUnmap(sqlite3_file *base, int deleteFlag) {
    BufferedFile *file = (BufferedFile *)base;
    if (file->real->pMethods->iVersion < 2) return SQLITE_OK;
    return file->real->pMethods->xShmUnmap(file->real, deleteFlag);
}

static int bufferedFetch(sqlite3_file *base, sqlite3_int64 offset, int amount, void **pointer) {
    BufferedFile *file = (BufferedFile *)base;
    *pointer = NULL;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    if (file->real->pMethods->iVersion < 3) return SQLITE_OK;
    return file->real->pMethods->xFetch(file->real, offset, amount, pointer);
}

static int bufferedUnfetch(sqlite3_file *base, sqlite3_int64 offset, void *pointer) {
    BufferedFile *file = (BufferedFile *)base;
    if (file->real->pMethods->iVersion < 3) return SQLITE_OK;
    return file->real->pMethods->xUnfetch(file->real, offset, pointer);
}

static const sqlite3_io_methods bufferedMethods = {
    3,
    bufferedClose,
    bufferedRead,
    bufferedWrite,
    bufferedTruncate,
    bufferedSync,
    bufferedFileSize,
    bufferedLock,
    bufferedUnlock,
    bufferedCheckReservedLock,
    bufferedFileControl,
    bufferedSectorSize,
    bufferedDeviceCharacteristics,
    bufferedShmMap,
    bufferedShmLock,
    bufferedShmBarrier,
    bufferedShmUnmap,
    bufferedFetch,
    bufferedUnfetch,
};

static int bufferedOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *base, int flags, int *outFlags) {
    (void)vfs;
    BufferedFile *file = (BufferedFile *)base;
    memset(file, 0, sizeof(*file));
    file->real = (sqlite3_file *)&file[1];
    int rc = underlying->xOpen(underlying, name, file->real, flags, outFlags);
    // A file the underlying VFS did not open is not closed either.
    if (file->real->pMethods == NULL) {
        base->pMethods = NULL;
        return rc;
    }
    file->isLog = (flags & SQLITE_OPEN_WAL) != 0;
    base->pMethods = &bufferedMethods;
    return rc;
}

static int forwardDelete(sqlite3_vfs *vfs, const char *name, int syncDirectory) {
    (void)vfs;
    return underlying->xDelete(underlying, name, syncDirectory);
}

static int forwardAccess(sqlite3_vfs *vfs, const char *name, int flags, int *result) {
    (void)vfs;
    return underlying->xAccess(underlying, name, flags, result);
}

static int forwardFullPathname(sqlite3_vfs *vfs, const char *name, int size, char *output) {
    (void)vfs;
    return underlying->xFullPathname(underlying, name, size, output);
}

static void *forwardDlOpen(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return underlying->xDlOpen(underlying, name);
}

static void forwardDlError(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    underlying->xDlError(underlying, size, message);
}

static void (*forwardDlSym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return underlying->xDlSym(underlying, handle, symbol);
}

static void forwardDlClose(sqlite3_vfs *vfs, void *handle) {
    (void)vfs;
    underlying->xDlClose(underlying, handle);
}

static int forwardRandomness(sqlite3_vfs *vfs, int size, char *output) {
    (void)vfs;
    return underlying->xRandomness(underlying, size, output);
}

static int forwardSleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return underlying->xSleep(underlying, microseconds);
}

static int forwardCurrentTime(sqlite3_vfs *vfs, double *now) {
    (void)vfs;
    return underlying->xCurrentTime(underlying, now);
}

static int forwardGetLastError(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    return underlying->xGetLastError(underlying, size, message);
}

static int forwardCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *now) {
    (void)vfs;
    return underlying->xCurrentTimeInt64(underlying, now);
}

static int forwardSetSystemCall(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr call) {
    (void)vfs;
    return underlying->xSetSystemCall(underlying, name, call);
}

static sqlite3_syscall_ptr forwardGetSystemCall(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return underlying->xGetSystemCall(underlying, name);
}

static const char *forwardNextSystemCall(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return underlying->xNextSystemCall(underlying, name);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered = SQLITE_ERROR;

static void registerOnce(void) {
    sqlite3_initialize();
    underlying = sqlite3_vfs_find(NULL);
    // The shim forwards version 3 of both interfaces: the Unix VFS has had them since SQLite 3.7.
    if (underlying == NULL || underlying->iVersion < 3) return;
    bufferedVFS.iVersion = 3;
    bufferedVFS.szOsFile = (int)sizeof(BufferedFile) + underlying->szOsFile;
    bufferedVFS.mxPathname = underlying->mxPathname;
    bufferedVFS.zName = "liaison-wal-buffer";
    bufferedVFS.xOpen = bufferedOpen;
    bufferedVFS.xDelete = forwardDelete;
    bufferedVFS.xAccess = forwardAccess;
    bufferedVFS.xFullPathname = forwardFullPathname;
    bufferedVFS.xDlOpen = forwardDlOpen;
    bufferedVFS.xDlError = forwardDlError;
    bufferedVFS.xDlSym = forwardDlSym;
    bufferedVFS.xDlClose = forwardDlClose;
    bufferedVFS.xRandomness = forwardRandomness;
    bufferedVFS.xSleep = forwardSleep;
    bufferedVFS.xCurrentTime = forwardCurrentTime;
    bufferedVFS.xGetLastError = forwardGetLastError;
    bufferedVFS.xCurrentTimeInt64 = forwardCurrentTimeInt64;
    bufferedVFS.xSetSystemCall = forwardSetSystemCall;
    bufferedVFS.xGetSystemCall = forwardGetSystemCall;
    bufferedVFS.xNextSystemCall = forwardNextSystemCall;
    registered = sqlite3_vfs_register(&bufferedVFS, 1);
}

int liaison_wal_buffer_register(void) {
    pthread_once(&once, registerOnce);
    return registered;
}

int liaison_wal_buffer_counts(sqlite3 *db, int64_t *requested, int64_t *made) {
    sqlite3_file *log = NULL;
    // In WAL mode the pager's journal is the log.
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &log) != SQLITE_OK || log == NULL
        || log->pMethods != &bufferedMethods) {
        return SQLITE_NOTFOUND;
    }
    BufferedFile *file = (BufferedFile *)log;
    if (!file->isLog) return SQLITE_NOTFOUND;
    *requested = file->requestedWrites;
    *made = file->madeWrites;
    return SQLITE_OK;
}
