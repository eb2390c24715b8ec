/*
 * front_vfs.h - SQLite's VFS objects, and the VFS of the database front's
 * connection (see front_vfs.c): SQLite's own, with the frames of a
 * write-ahead log gathered and written once per commit; front_cache.c
 * reads the WAL-index through the same objects.
 *
 * The front builds without SQLite's headers (front_impl.h), so the VFS
 * objects are declared here as SQLite documents them (sqlite3.h, VFS
 * version 3, I/O methods version 3); csrc/tests/test_front.c checks the
 * layout against sqlite3.h where that header is installed.
 */
#ifndef SEAMLESS_FRONT_VFS_H
#define SEAMLESS_FRONT_VFS_H

#include "front_impl.h"

#include <stdint.h>

typedef long long front_sqlite_int64;
typedef struct front_sqlite_file front_sqlite_file;
typedef struct front_sqlite_vfs front_sqlite_vfs;
typedef void (*front_sqlite_syscall_ptr)(void);

typedef struct {
    int iVersion;
    int (*xClose)(front_sqlite_file *);
    int (*xRead)(front_sqlite_file *, void *, int, front_sqlite_int64);
    int (*xWrite)(front_sqlite_file *, const void *, int, front_sqlite_int64);
    int (*xTruncate)(front_sqlite_file *, front_sqlite_int64);
    int (*xSync)(front_sqlite_file *, int);
    int (*xFileSize)(front_sqlite_file *, front_sqlite_int64 *);
    int (*xLock)(front_sqlite_file *, int);
    int (*xUnlock)(front_sqlite_file *, int);
    int (*xCheckReservedLock)(front_sqlite_file *, int *);
    int (*xFileControl)(front_sqlite_file *, int, void *);
    int (*xSectorSize)(front_sqlite_file *);
    int (*xDeviceCharacteristics)(front_sqlite_file *);
    int (*xShmMap)(front_sqlite_file *, int, int, int, void volatile **);
    int (*xShmLock)(front_sqlite_file *, int, int, int);
    void (*xShmBarrier)(front_sqlite_file *);
    int (*xShmUnmap)(front_sqlite_file *, int);
    int (*xFetch)(front_sqlite_file *, front_sqlite_int64, int, void **);
    int (*xUnfetch)(front_sqlite_file *, front_sqlite_int64, void *);
} front_sqlite_io_methods;

struct front_sqlite_file {
    const front_sqlite_io_methods *pMethods;
};

struct front_sqlite_vfs {
    int iVersion;
    int szOsFile;
    int mxPathname;
    front_sqlite_vfs *pNext;
    const char *zName;
    void *pAppData;
    int (*xOpen)(front_sqlite_vfs *, const char *, front_sqlite_file *, int, int *);
    int (*xDelete)(front_sqlite_vfs *, const char *, int);
    int (*xAccess)(front_sqlite_vfs *, const char *, int, int *);
    int (*xFullPathname)(front_sqlite_vfs *, const char *, int, char *);
    void *(*xDlOpen)(front_sqlite_vfs *, const char *);
    void (*xDlError)(front_sqlite_vfs *, int, char *);
    void (*(*xDlSym)(front_sqlite_vfs *, void *, const char *))(void);
    void (*xDlClose)(front_sqlite_vfs *, void *);
    int (*xRandomness)(front_sqlite_vfs *, int, char *);
    int (*xSleep)(front_sqlite_vfs *, int);
    int (*xCurrentTime)(front_sqlite_vfs *, double *);
    int (*xGetLastError)(front_sqlite_vfs *, int, char *);
    int (*xCurrentTimeInt64)(front_sqlite_vfs *, front_sqlite_int64 *);
    int (*xSetSystemCall)(front_sqlite_vfs *, const char *, front_sqlite_syscall_ptr);
    front_sqlite_syscall_ptr (*xGetSystemCall)(front_sqlite_vfs *, const char *);
    const char *(*xNextSystemCall)(front_sqlite_vfs *, const char *);
};

#define FRONT_SQLITE_IOERR 10
#define FRONT_SQLITE_NOMEM 7
#define FRONT_SQLITE_CANTOPEN 14
#define FRONT_SQLITE_OPEN_MAIN_DB 0x00000100
#define FRONT_SQLITE_OPEN_WAL 0x00080000
#define FRONT_SQLITE_FCNTL_FILE_POINTER 7

/* The name under which the VFS is registered. */
#define FRONT_VFS_NAME "seamless-front"

/* Register the VFS in the process's SQLite (api's library), once; it sits
 * over the default VFS and is never made the default. 0, or -1 with the
 * reason in message (the front then opens its database without it). */
int front_vfs_register(const seamless_sqlite *api, char *message, size_t message_size);

/* Counters of every file of the VFS since the process started (for the
 * tests): write calls that SQLite made to write-ahead logs, the calls that
 * reached the file system for them, and the times a commit was published
 * with frames still gathered (written out then; never, with the SQLite
 * versions known). */
typedef struct {
    uint64_t log_writes;
    uint64_t log_calls;
    uint64_t late_flushes;
} front_vfs_counters;
void front_vfs_counters_get(front_vfs_counters *out);

#endif
