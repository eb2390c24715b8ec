/*
 * front_vfs.c - the database front's SQLite files: SQLite's own VFS, with
 * the frames of the write-ahead log written once per commit.
 *
 * In WAL mode SQLite appends every page a commit changed to the log with
 * two write calls, a frame header of 24 bytes and then the page. A record
 * of the front changes about five pages, eight concurrent records forty:
 * ten to eighty system calls per commit, each of which costs more than the
 * copy it makes on a virtual machine. This VFS lies over the default one
 * (unix) and passes everything through, except that it gathers the frames
 * appended to a log in memory and writes them with one call per 120 KiB
 * once the frame that ends the transaction is complete. That happens inside
 * SQLite's write of that frame, so a failed write fails the commit exactly
 * as it would without this VFS, and it happens before SQLite publishes the
 * commit in the WAL-index: no reader, in this process or another, can see
 * a frame before it is in the file. Until then nobody reads those frames:
 * they lie beyond the end of the log that the WAL-index shows.
 *
 * The rules that keep it so:
 *  - only files that SQLite opens as a write-ahead log gather, and only
 *    while the database file they belong to is open through this VFS;
 *  - only a write that starts where the file's previous write ended is
 *    gathered; any other (the log's header when it starts over, a frame
 *    overwritten in place, rewritten checksums) first writes out what is
 *    gathered and then goes through as it came;
 *  - what is gathered is written out before any other call on the log
 *    (read, size, sync, truncate, file control, close), once it reaches
 *    120 KiB at the end of a frame (a header stays with its page), and once
 *    the page of a frame whose header carries a database size (the last
 *    frame of a transaction) is gathered;
 *  - and as a safeguard: should anything still be gathered when SQLite
 *    publishes a commit (the memory barrier on the database file, between
 *    the two copies of the WAL-index header), it is written out right there
 *    and that log gathers nothing more. SQLite's known versions never leave
 *    anything (the counter late_flushes says so in the tests). If that
 *    write fails the process aborts: the commit is then lost, as if the
 *    process had crashed before it, instead of published with frames that
 *    are not in the file.
 *
 * The VFS is registered once per process under FRONT_VFS_NAME and only the
 * front's own connection opens files through it; Python's connections and
 * other processes use SQLite's default VFS on the same files, and the
 * locks are the default VFS's own (it does all the locking underneath).
 */
#define _GNU_SOURCE

#include "front_vfs.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A log's gathered frames are written out by this size at most: the unix
 * VFS fails a single write of 128 KiB or more (it masks the length). */
#define CHUNK (120 * 1024)
/* Bytes of a frame header; its bytes 4-7 hold the database size in pages
 * after a commit, in the last frame of a transaction, and 0 otherwise. */
#define FRAME_HEADER 24

enum { FILE_OTHER, FILE_MAIN, FILE_LOG };

typedef struct gather_file {
    front_sqlite_file base;       /* our methods */
    int kind;
    const char *name;             /* as SQLite passed it (the database's, to pair it with its log) */
    int gathering;                /* a log that gathers its appended frames */
    int commit_frame;             /* the header of a transaction's last frame is gathered */
    uint8_t *buf;
    size_t len, cap;
    front_sqlite_int64 start;     /* the file offset of buf[0] */
    front_sqlite_int64 next;      /* where the previous write ended (-1: not known) */
    struct gather_file *partner;  /* a database file and its log, each other's */
    struct gather_file *next_main;
    /* the default VFS's file follows */
} gather_file;

static front_sqlite_file *real_file(gather_file *f) {
    return (front_sqlite_file *)(f + 1);
}

static struct {
    pthread_mutex_t lock;          /* the registration and the open database files */
    int registered;
    front_sqlite_vfs *parent;
    front_sqlite_vfs vfs;
    const char *(*filename_database)(const char *); /* NULL before SQLite 3.31 */
    gather_file *mains;
    atomic_uint_fast64_t log_writes, log_calls, late_flushes;
} state = {.lock = PTHREAD_MUTEX_INITIALIZER};

void front_vfs_counters_get(front_vfs_counters *out) {
    out->log_writes = atomic_load(&state.log_writes);
    out->log_calls = atomic_load(&state.log_calls);
    out->late_flushes = atomic_load(&state.late_flushes);
}

/* Write out what the log gathered, by CHUNK. */
static int flush(gather_file *f) {
    int rc = FRONT_SQLITE_OK;
    front_sqlite_file *real = real_file(f);
    for (size_t done = 0; done < f->len && rc == FRONT_SQLITE_OK;) {
        size_t n = f->len - done < CHUNK ? f->len - done : CHUNK;
        rc = real->pMethods->xWrite(real, f->buf + done, (int)n, f->start + (front_sqlite_int64)done);
        atomic_fetch_add(&state.log_calls, 1);
        done += n;
    }
    f->len = 0;
    f->commit_frame = 0;
    if (rc != FRONT_SQLITE_OK)
        f->next = -1;
    return rc;
}

static int gather(gather_file *f, const void *data, int amount, front_sqlite_int64 offset) {
    size_t n = (size_t)amount;
    if (f->len + n > f->cap) {
        size_t cap = f->cap ? f->cap : 64 * 1024;
        while (cap < f->len + n)
            cap *= 2;
        uint8_t *grown = realloc(f->buf, cap);
        if (!grown)
            return -1;
        f->buf = grown, f->cap = cap;
    }
    if (!f->len)
        f->start = offset;
    memcpy(f->buf + f->len, data, n);
    f->len += n;
    f->next = offset + amount;
    return 0;
}

static int io_write(front_sqlite_file *file, const void *data, int amount, front_sqlite_int64 offset) {
    gather_file *f = (gather_file *)file;
    front_sqlite_file *real = real_file(f);
    if (f->kind != FILE_LOG)
        return real->pMethods->xWrite(real, data, amount, offset);
    atomic_fetch_add(&state.log_writes, 1);
    int rc = FRONT_SQLITE_OK;
    if (f->len && offset != f->next && (rc = flush(f)) != FRONT_SQLITE_OK)
        return rc;
    if (!f->gathering || offset != f->next || amount <= 0 || gather(f, data, amount, offset)) {
        rc = flush(f);
        if (rc == FRONT_SQLITE_OK)
            rc = real->pMethods->xWrite(real, data, amount, offset);
        atomic_fetch_add(&state.log_calls, 1);
        f->next = rc == FRONT_SQLITE_OK ? offset + amount : -1;
        return rc;
    }
    if (amount == FRAME_HEADER) { /* kept with its page: never written out alone */
        const uint8_t *h = data;
        if (h[4] | h[5] | h[6] | h[7])
            f->commit_frame = 1;
        return FRONT_SQLITE_OK;
    }
    if (f->commit_frame || f->len >= CHUNK)
        return flush(f);
    return FRONT_SQLITE_OK;
}

/* Calls that must see the file as SQLite wrote it: what is gathered first. */
#define FLUSHED_FIRST(f)                                     \
    do {                                                     \
        if ((f)->len) {                                      \
            int flushed_ = flush(f);                         \
            if (flushed_ != FRONT_SQLITE_OK)                 \
                return flushed_;                             \
        }                                                    \
    } while (0)

static int io_read(front_sqlite_file *file, void *out, int amount, front_sqlite_int64 offset) {
    gather_file *f = (gather_file *)file;
    FLUSHED_FIRST(f);
    return real_file(f)->pMethods->xRead(real_file(f), out, amount, offset);
}

static int io_truncate(front_sqlite_file *file, front_sqlite_int64 size) {
    gather_file *f = (gather_file *)file;
    FLUSHED_FIRST(f);
    f->next = -1;
    return real_file(f)->pMethods->xTruncate(real_file(f), size);
}

static int io_sync(front_sqlite_file *file, int flags) {
    gather_file *f = (gather_file *)file;
    FLUSHED_FIRST(f);
    return real_file(f)->pMethods->xSync(real_file(f), flags);
}

static int io_file_size(front_sqlite_file *file, front_sqlite_int64 *size) {
    gather_file *f = (gather_file *)file;
    FLUSHED_FIRST(f);
    return real_file(f)->pMethods->xFileSize(real_file(f), size);
}

static int io_file_control(front_sqlite_file *file, int op, void *arg) {
    gather_file *f = (gather_file *)file;
    FLUSHED_FIRST(f);
    return real_file(f)->pMethods->xFileControl(real_file(f), op, arg);
}

static int io_close(front_sqlite_file *file) {
    gather_file *f = (gather_file *)file;
    int rc = f->len ? flush(f) : FRONT_SQLITE_OK;
    pthread_mutex_lock(&state.lock);
    if (f->partner) { /* a log without its database's safeguard gathers no more */
        f->partner->gathering = 0;
        f->partner->partner = NULL;
    }
    for (gather_file **p = &state.mains; *p; p = &(*p)->next_main)
        if (*p == f) {
            *p = f->next_main;
            break;
        }
    pthread_mutex_unlock(&state.lock);
    int closed = real_file(f)->pMethods->xClose(real_file(f));
    free(f->buf);
    f->buf = NULL;
    return rc != FRONT_SQLITE_OK ? rc : closed;
}

/* A database file's barrier: SQLite publishes a commit around it. */
static void io_shm_barrier(front_sqlite_file *file) {
    gather_file *f = (gather_file *)file;
    gather_file *log = f->partner;
    if (log && log->len) {
        atomic_fetch_add(&state.late_flushes, 1);
        log->gathering = 0;
        if (flush(log) != FRONT_SQLITE_OK) {
            fprintf(stderr, "seamless database front: cannot write the frames of a commit to %s; "
                            "stopping before SQLite publishes them\n", log->name ? log->name : "the log");
            abort();
        }
    }
    front_sqlite_file *real = real_file(f);
    if (real->pMethods->iVersion >= 2 && real->pMethods->xShmBarrier)
        real->pMethods->xShmBarrier(real);
}

/* The rest go through unchanged. */
static int io_lock(front_sqlite_file *f, int level) {
    return real_file((gather_file *)f)->pMethods->xLock(real_file((gather_file *)f), level);
}
static int io_unlock(front_sqlite_file *f, int level) {
    return real_file((gather_file *)f)->pMethods->xUnlock(real_file((gather_file *)f), level);
}
static int io_check_reserved_lock(front_sqlite_file *f, int *out) {
    return real_file((gather_file *)f)->pMethods->xCheckReservedLock(real_file((gather_file *)f), out);
}
static int io_sector_size(front_sqlite_file *f) {
    return real_file((gather_file *)f)->pMethods->xSectorSize(real_file((gather_file *)f));
}
static int io_device_characteristics(front_sqlite_file *f) {
    return real_file((gather_file *)f)->pMethods->xDeviceCharacteristics(real_file((gather_file *)f));
}
static int io_shm_map(front_sqlite_file *f, int region, int size, int extend, void volatile **out) {
    front_sqlite_file *real = real_file((gather_file *)f);
    if (real->pMethods->iVersion < 2 || !real->pMethods->xShmMap)
        return FRONT_SQLITE_IOERR;
    return real->pMethods->xShmMap(real, region, size, extend, out);
}
static int io_shm_lock(front_sqlite_file *f, int offset, int n, int flags) {
    front_sqlite_file *real = real_file((gather_file *)f);
    if (real->pMethods->iVersion < 2 || !real->pMethods->xShmLock)
        return FRONT_SQLITE_IOERR;
    return real->pMethods->xShmLock(real, offset, n, flags);
}
static int io_shm_unmap(front_sqlite_file *f, int delete_flag) {
    front_sqlite_file *real = real_file((gather_file *)f);
    if (real->pMethods->iVersion < 2 || !real->pMethods->xShmUnmap)
        return FRONT_SQLITE_OK;
    return real->pMethods->xShmUnmap(real, delete_flag);
}
static int io_fetch(front_sqlite_file *f, front_sqlite_int64 offset, int amount, void **out) {
    front_sqlite_file *real = real_file((gather_file *)f);
    if (real->pMethods->iVersion < 3 || !real->pMethods->xFetch) {
        *out = NULL; /* no memory map: SQLite reads instead */
        return FRONT_SQLITE_OK;
    }
    return real->pMethods->xFetch(real, offset, amount, out);
}
static int io_unfetch(front_sqlite_file *f, front_sqlite_int64 offset, void *p) {
    front_sqlite_file *real = real_file((gather_file *)f);
    if (real->pMethods->iVersion < 3 || !real->pMethods->xUnfetch)
        return FRONT_SQLITE_OK;
    return real->pMethods->xUnfetch(real, offset, p);
}

static const front_sqlite_io_methods gather_methods = {
    .iVersion = 3,
    .xClose = io_close,
    .xRead = io_read,
    .xWrite = io_write,
    .xTruncate = io_truncate,
    .xSync = io_sync,
    .xFileSize = io_file_size,
    .xLock = io_lock,
    .xUnlock = io_unlock,
    .xCheckReservedLock = io_check_reserved_lock,
    .xFileControl = io_file_control,
    .xSectorSize = io_sector_size,
    .xDeviceCharacteristics = io_device_characteristics,
    .xShmMap = io_shm_map,
    .xShmLock = io_shm_lock,
    .xShmBarrier = io_shm_barrier,
    .xShmUnmap = io_shm_unmap,
    .xFetch = io_fetch,
    .xUnfetch = io_unfetch,
};

/* The database file a log belongs to, among the open ones (under the lock). */
static gather_file *database_of(const char *log_name) {
    const char *database = state.filename_database ? state.filename_database(log_name) : NULL;
    for (gather_file *m = state.mains; m; m = m->next_main)
        if (!m->partner && database && m->name == database)
            return m;
    /* Without that function: by name, when only one open database has it. */
    size_t n = strlen(log_name);
    gather_file *found = NULL;
    int candidates = 0;
    for (gather_file *m = state.mains; m; m = m->next_main)
        if (!m->partner && m->name && n == strlen(m->name) + 4 && !strncmp(log_name, m->name, n - 4) &&
            !strcmp(log_name + n - 4, "-wal"))
            found = m, candidates++;
    return candidates == 1 ? found : NULL;
}

static int vfs_open(front_sqlite_vfs *vfs, const char *name, front_sqlite_file *file, int flags, int *out_flags) {
    (void)vfs;
    gather_file *f = (gather_file *)file;
    memset(f, 0, sizeof *f);
    front_sqlite_file *real = real_file(f);
    real->pMethods = NULL;
    int rc = state.parent->xOpen(state.parent, name, real, flags, out_flags);
    if (rc != FRONT_SQLITE_OK) {
        if (real->pMethods)
            real->pMethods->xClose(real);
        f->base.pMethods = NULL;
        return rc;
    }
    f->name = name;
    f->next = -1;
    f->kind = (flags & FRONT_SQLITE_OPEN_WAL) ? FILE_LOG : (flags & FRONT_SQLITE_OPEN_MAIN_DB) ? FILE_MAIN : FILE_OTHER;
    pthread_mutex_lock(&state.lock);
    if (f->kind == FILE_MAIN) {
        f->next_main = state.mains;
        state.mains = f;
    } else if (f->kind == FILE_LOG && name) {
        gather_file *m = database_of(name);
        if (m) {
            m->partner = f;
            f->partner = m;
            f->gathering = 1; /* its database's barrier is then the safeguard */
        }
    }
    pthread_mutex_unlock(&state.lock);
    f->base.pMethods = &gather_methods;
    return FRONT_SQLITE_OK;
}

/* The VFS's other calls: the default VFS's, with the default VFS. */
static int vfs_delete(front_sqlite_vfs *v, const char *name, int sync_dir) {
    (void)v;
    return state.parent->xDelete(state.parent, name, sync_dir);
}
static int vfs_access(front_sqlite_vfs *v, const char *name, int flags, int *out) {
    (void)v;
    return state.parent->xAccess(state.parent, name, flags, out);
}
static int vfs_full_pathname(front_sqlite_vfs *v, const char *name, int n, char *out) {
    (void)v;
    return state.parent->xFullPathname(state.parent, name, n, out);
}
static void *vfs_dl_open(front_sqlite_vfs *v, const char *name) {
    (void)v;
    return state.parent->xDlOpen(state.parent, name);
}
static void vfs_dl_error(front_sqlite_vfs *v, int n, char *out) {
    (void)v;
    state.parent->xDlError(state.parent, n, out);
}
static void (*vfs_dl_sym(front_sqlite_vfs *v, void *handle, const char *symbol))(void) {
    (void)v;
    return state.parent->xDlSym(state.parent, handle, symbol);
}
static void vfs_dl_close(front_sqlite_vfs *v, void *handle) {
    (void)v;
    state.parent->xDlClose(state.parent, handle);
}
static int vfs_randomness(front_sqlite_vfs *v, int n, char *out) {
    (void)v;
    return state.parent->xRandomness(state.parent, n, out);
}
static int vfs_sleep(front_sqlite_vfs *v, int microseconds) {
    (void)v;
    return state.parent->xSleep(state.parent, microseconds);
}
static int vfs_current_time(front_sqlite_vfs *v, double *out) {
    (void)v;
    return state.parent->xCurrentTime(state.parent, out);
}
static int vfs_get_last_error(front_sqlite_vfs *v, int n, char *out) {
    (void)v;
    return state.parent->xGetLastError ? state.parent->xGetLastError(state.parent, n, out) : 0;
}
static int vfs_current_time_int64(front_sqlite_vfs *v, front_sqlite_int64 *out) {
    (void)v;
    return state.parent->xCurrentTimeInt64(state.parent, out);
}

/* dlsym's object pointer into a function pointer slot (ISO C has no cast). */
static void *symbol(void *library, const char *name, void *slot) {
    void *p = dlsym(library, name);
    if (p)
        memcpy(slot, &p, sizeof p);
    return p;
}

int front_vfs_register(const seamless_sqlite *api, char *message, size_t message_size) {
    int rc = 0;
    pthread_mutex_lock(&state.lock);
    if (!state.registered) {
        front_sqlite_vfs *(*find)(const char *) = NULL;
        int (*reg)(front_sqlite_vfs *, int) = NULL;
        symbol(api->library, "sqlite3_filename_database", &state.filename_database);
        front_sqlite_vfs *parent = NULL;
        if (!symbol(api->library, "sqlite3_vfs_find", &find) || !symbol(api->library, "sqlite3_vfs_register", &reg)) {
            snprintf(message, message_size, "the SQLite library cannot register a VFS");
            rc = -1;
        } else if (!(parent = find(NULL)) || parent->iVersion < 2 || parent->szOsFile <= 0) {
            snprintf(message, message_size, "SQLite's default VFS is not one to build on");
            rc = -1;
        } else {
            state.parent = parent;
            front_sqlite_vfs *v = &state.vfs;
            memset(v, 0, sizeof *v);
            v->iVersion = parent->iVersion < 3 ? parent->iVersion : 3;
            v->szOsFile = (int)sizeof(gather_file) + parent->szOsFile;
            v->mxPathname = parent->mxPathname;
            v->zName = FRONT_VFS_NAME;
            v->xOpen = vfs_open, v->xDelete = vfs_delete, v->xAccess = vfs_access;
            v->xFullPathname = vfs_full_pathname, v->xDlOpen = vfs_dl_open, v->xDlError = vfs_dl_error;
            v->xDlSym = vfs_dl_sym, v->xDlClose = vfs_dl_close, v->xRandomness = vfs_randomness;
            v->xSleep = vfs_sleep, v->xCurrentTime = vfs_current_time, v->xGetLastError = vfs_get_last_error;
            if (v->iVersion >= 2 && parent->xCurrentTimeInt64)
                v->xCurrentTimeInt64 = vfs_current_time_int64;
            if (reg(v, 0) != FRONT_SQLITE_OK) {
                snprintf(message, message_size, "SQLite refused the front's VFS");
                rc = -1;
            } else {
                state.registered = 1;
            }
        }
    }
    pthread_mutex_unlock(&state.lock);
    return rc;
}
