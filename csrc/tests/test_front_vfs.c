/*
 * test_front_vfs.c - the front's VFS (csrc/front_vfs.c) on real files with
 * the system's SQLite (skipped where there is none): its declarations
 * against sqlite3.h where that is installed; commits through it seen at
 * once by a connection of SQLite's default VFS, with one write call per
 * small commit, through large transactions that spill, roll back and
 * restart the log; its rules called one by one on a database file and its
 * log; a write that fails making the commit fail, in a child process with a
 * file size limit; and the safeguard stopping a process whose late write
 * fails.
 */
#define _GNU_SOURCE

#include "../front_vfs.h"
#include "support.h"

#include <dlfcn.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#if defined(__has_include)
#if __has_include(<sqlite3.h>)
#include <sqlite3.h>
/* The declarations of front_vfs.h are SQLite's, field by field. */
#define SAME_FIELD(ours, theirs, field) \
    _Static_assert(offsetof(ours, field) == offsetof(theirs, field), #field " of " #theirs)
SAME_FIELD(front_sqlite_vfs, sqlite3_vfs, szOsFile);
SAME_FIELD(front_sqlite_vfs, sqlite3_vfs, zName);
SAME_FIELD(front_sqlite_vfs, sqlite3_vfs, xOpen);
SAME_FIELD(front_sqlite_vfs, sqlite3_vfs, xDlSym);
SAME_FIELD(front_sqlite_vfs, sqlite3_vfs, xCurrentTimeInt64);
SAME_FIELD(front_sqlite_vfs, sqlite3_vfs, xNextSystemCall);
SAME_FIELD(front_sqlite_io_methods, sqlite3_io_methods, xWrite);
SAME_FIELD(front_sqlite_io_methods, sqlite3_io_methods, xDeviceCharacteristics);
SAME_FIELD(front_sqlite_io_methods, sqlite3_io_methods, xShmBarrier);
SAME_FIELD(front_sqlite_io_methods, sqlite3_io_methods, xUnfetch);
_Static_assert(sizeof(front_sqlite_vfs) == sizeof(sqlite3_vfs), "sqlite3_vfs");
_Static_assert(sizeof(front_sqlite_io_methods) == sizeof(sqlite3_io_methods), "sqlite3_io_methods");
_Static_assert(FRONT_SQLITE_OPEN_WAL == SQLITE_OPEN_WAL && FRONT_SQLITE_OPEN_MAIN_DB == SQLITE_OPEN_MAIN_DB &&
                   FRONT_SQLITE_FCNTL_FILE_POINTER == SQLITE_FCNTL_FILE_POINTER &&
                   FRONT_SQLITE_IOERR == SQLITE_IOERR && FRONT_SQLITE_NOMEM == SQLITE_NOMEM,
               "SQLite's constants");
#endif
#endif

static int failures = 0; /* counted by CHECK (support.h) */

#define SQLITE_LIBRARY "libsqlite3.so.0"
#define OPEN_CREATE 0x00000004

/* The calls of these tests beyond the front's own. */
static struct {
    front_sqlite_vfs *(*vfs_find)(const char *);
    const char *(*create_filename)(const char *, const char *, const char *, int, const char **);
    void (*free_filename)(const char *);
    const char *(*filename_wal)(const char *);
} extra;

static int load(seamless_sqlite *api, const char *what) {
    char message[256] = "";
    if (!dlopen(SQLITE_LIBRARY, RTLD_NOW | RTLD_GLOBAL) ||
        seamless_sqlite_load(SQLITE_LIBRARY, api, message, sizeof message) != SEAMLESS_OK) {
        printf("skip: %s (no %s)\n", what, SQLITE_LIBRARY);
        return 0;
    }
    void *p;
    if ((p = dlsym(api->library, "sqlite3_vfs_find")))
        memcpy(&extra.vfs_find, &p, sizeof p);
    if ((p = dlsym(api->library, "sqlite3_create_filename")))
        memcpy(&extra.create_filename, &p, sizeof p);
    if ((p = dlsym(api->library, "sqlite3_free_filename")))
        memcpy(&extra.free_filename, &p, sizeof p);
    if ((p = dlsym(api->library, "sqlite3_filename_wal")))
        memcpy(&extra.filename_wal, &p, sizeof p);
    CHECK(front_vfs_register(api, message, sizeof message) == 0, "register: %s", message);
    CHECK(front_vfs_register(api, message, sizeof message) == 0, "a second registration is harmless");
    return 1;
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) ? -1 : (long long)st.st_size;
}

static void remove_database(const char *path) {
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

static long long count_rows(seamless_sqlite *api, sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (api->prepare_v2(db, sql, -1, &st, NULL) == FRONT_SQLITE_OK && api->step(st) == FRONT_SQLITE_ROW)
        n = atoll((const char *)api->column_text(st, 0));
    if (st)
        api->finalize(st);
    return n;
}

static int run(seamless_sqlite *api, sqlite3 *db, const char *sql) {
    return api->exec(db, sql, NULL, NULL, NULL);
}

static const char *const SETTINGS =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-8000; "
    "PRAGMA mmap_size=2147483648; PRAGMA wal_autocheckpoint=20000;";

/* Commits through the VFS, read by a connection of the default VFS. */
static void test_commits(void) {
    seamless_sqlite api;
    if (!load(&api, "the front's VFS: commits"))
        return;
    char path[64] = "/tmp/seamless-vfs-test-XXXXXX";
    int tmp = mkstemp(path);
    CHECK(tmp >= 0, "mkstemp");
    if (tmp < 0)
        return;
    close(tmp);
    sqlite3 *writer = NULL, *reader = NULL;
    CHECK(api.open_v2(path, &writer, FRONT_SQLITE_OPEN_READWRITE, FRONT_VFS_NAME) == FRONT_SQLITE_OK &&
              run(&api, writer, SETTINGS) == FRONT_SQLITE_OK &&
              run(&api, writer, "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL)") == FRONT_SQLITE_OK,
          "the writer, through the VFS");
    CHECK(api.open_v2(path, &reader, FRONT_SQLITE_OPEN_READWRITE, NULL) == FRONT_SQLITE_OK &&
              run(&api, reader, SETTINGS) == FRONT_SQLITE_OK,
          "the reader, through SQLite's default VFS");
    front_vfs_counters before, after;
    front_vfs_counters_get(&before);

    /* Small commits: each seen at once, each written with one call. */
    int seen = 1;
    for (int i = 0; i < 300; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES (printf('%%064x', %d * 2654435761 %% 1000003), 'v%d')", i,
                 i);
        CHECK(run(&api, writer, sql) == FRONT_SQLITE_OK, "commit %d", i);
        seen &= count_rows(&api, reader, "SELECT count(*) FROM t") == i + 1;
    }
    CHECK(seen, "every commit seen by the other connection at once");
    front_vfs_counters_get(&after);
    uint64_t writes = after.log_writes - before.log_writes, calls = after.log_calls - before.log_calls;
    CHECK(writes >= 4 * 300 && calls <= 300 + 10, "one call per small commit (%llu writes, %llu calls)",
          (unsigned long long)writes, (unsigned long long)calls);

    /* A transaction larger than the page cache (it spills frames to the log
     * before its commit), rolled back, then one committed. */
    CHECK(run(&api, writer, "PRAGMA cache_size=20") == FRONT_SQLITE_OK, "a small cache");
    const char *big = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
                      "INSERT INTO t SELECT printf('big%06d-%s', i, hex(randomblob(24))), hex(randomblob(300)) FROM n";
    CHECK(run(&api, writer, "BEGIN") == FRONT_SQLITE_OK && run(&api, writer, big) == FRONT_SQLITE_OK &&
              count_rows(&api, writer, "SELECT count(*) FROM t") == 3300 &&
              run(&api, writer, "ROLLBACK") == FRONT_SQLITE_OK,
          "a spilled transaction rolled back");
    CHECK(count_rows(&api, reader, "SELECT count(*) FROM t") == 300, "nothing of it seen");
    CHECK(run(&api, writer, "BEGIN") == FRONT_SQLITE_OK && run(&api, writer, big) == FRONT_SQLITE_OK &&
              run(&api, writer, "UPDATE t SET v = 'changed' WHERE k < 'big000100'") == FRONT_SQLITE_OK &&
              run(&api, writer, "COMMIT") == FRONT_SQLITE_OK,
          "a spilled transaction committed");
    CHECK(count_rows(&api, reader, "SELECT count(*) FROM t") == 3300 &&
              count_rows(&api, reader, "SELECT count(*) FROM t WHERE v = 'changed'") == 99 + 300,
          "all of it seen");

    /* The log starts over after a complete checkpoint; commits go on. */
    CHECK(run(&api, reader, "PRAGMA wal_checkpoint(TRUNCATE)") == FRONT_SQLITE_OK, "checkpoint");
    for (int i = 0; i < 50; i++) {
        char sql[120];
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES ('after%03d', 'x')", i);
        CHECK(run(&api, writer, sql) == FRONT_SQLITE_OK, "commit after the checkpoint %d", i);
    }
    CHECK(count_rows(&api, reader, "SELECT count(*) FROM t") == 3350, "seen after the log started over");
    CHECK(count_rows(&api, reader, "SELECT count(*) FROM t WHERE k LIKE 'after%'") == 50, "all 50");
    front_vfs_counters_get(&after);
    CHECK(after.late_flushes == before.late_flushes, "no commit found frames still gathered");
    api.close_v2(writer);
    sqlite3_stmt *st = NULL;
    int ok = api.prepare_v2(reader, "PRAGMA integrity_check", -1, &st, NULL) == FRONT_SQLITE_OK &&
             api.step(st) == FRONT_SQLITE_ROW && !strcmp((const char *)api.column_text(st, 0), "ok");
    if (st)
        api.finalize(st);
    CHECK(ok, "integrity check");
    api.close_v2(reader);
    remove_database(path);
    seamless_sqlite_unload(&api);
}

/* A database file and its log opened through the VFS by hand, named as
 * SQLite names them. */
typedef struct {
    front_sqlite_vfs *vfs;
    char path[64], log_path[80];
    const char *names; /* from sqlite3_create_filename */
    front_sqlite_file *db, *log;
} pair;

static int pair_open(pair *p, const char *what) {
    memset(p, 0, sizeof *p);
    if (!extra.vfs_find || !extra.create_filename || !extra.free_filename || !extra.filename_wal) {
        printf("skip: %s (SQLite before 3.35)\n", what);
        return 0;
    }
    p->vfs = extra.vfs_find(FRONT_VFS_NAME);
    CHECK(p->vfs != NULL, "the VFS is registered");
    if (!p->vfs)
        return 0;
    snprintf(p->path, sizeof p->path, "/tmp/seamless-vfs-pair-XXXXXX");
    int tmp = mkstemp(p->path);
    if (tmp < 0)
        return 0;
    close(tmp);
    snprintf(p->log_path, sizeof p->log_path, "%s-wal", p->path);
    p->names = extra.create_filename(p->path, "", p->log_path, 0, NULL);
    p->db = calloc(1, (size_t)p->vfs->szOsFile);
    p->log = calloc(1, (size_t)p->vfs->szOsFile);
    int out = 0;
    CHECK(p->names && p->db && p->log &&
              p->vfs->xOpen(p->vfs, p->names, p->db, FRONT_SQLITE_OPEN_MAIN_DB | FRONT_SQLITE_OPEN_READWRITE, &out) ==
                  FRONT_SQLITE_OK &&
              p->vfs->xOpen(p->vfs, extra.filename_wal(p->names), p->log,
                            FRONT_SQLITE_OPEN_WAL | FRONT_SQLITE_OPEN_READWRITE | OPEN_CREATE, &out) == FRONT_SQLITE_OK,
          "open a database file and its log");
    return p->db && p->db->pMethods && p->log && p->log->pMethods;
}

static void pair_close(pair *p) {
    if (p->log && p->log->pMethods)
        p->log->pMethods->xClose(p->log);
    if (p->db && p->db->pMethods)
        p->db->pMethods->xClose(p->db);
    free(p->log);
    free(p->db);
    if (p->names)
        extra.free_filename(p->names);
    remove_database(p->path);
}

static int put(front_sqlite_file *f, const void *data, int n, long long offset) {
    return f->pMethods->xWrite(f, data, n, offset);
}

/* A frame header: page 1, and the database size of a transaction's end. */
static void frame_header(uint8_t out[24], unsigned database_pages) {
    memset(out, 0, 24);
    out[3] = 1;
    out[4] = (uint8_t)(database_pages >> 24), out[5] = (uint8_t)(database_pages >> 16);
    out[6] = (uint8_t)(database_pages >> 8), out[7] = (uint8_t)database_pages;
}

/* The rules, one by one. */
static void test_rules(void) {
    seamless_sqlite api;
    if (!load(&api, "the front's VFS: rules"))
        return;
    pair p;
    if (!pair_open(&p, "the front's VFS: rules")) {
        pair_close(&p);
        seamless_sqlite_unload(&api);
        return;
    }
    static uint8_t page[4096], header[24], back[4096];
    memset(page, 'p', sizeof page);
    front_sqlite_file *log = p.log;

    CHECK(put(log, "0123456789abcdef0123456789abcdef", 32, 0) == FRONT_SQLITE_OK && file_size(p.log_path) == 32,
          "the first write goes through");
    frame_header(header, 0);
    CHECK(put(log, header, 24, 32) == FRONT_SQLITE_OK && put(log, page, 4096, 56) == FRONT_SQLITE_OK &&
              file_size(p.log_path) == 32,
          "a frame inside a transaction is gathered");
    frame_header(header, 7);
    CHECK(put(log, header, 24, 4152) == FRONT_SQLITE_OK && file_size(p.log_path) == 32,
          "the last frame's header is gathered");
    CHECK(put(log, page, 4096, 4176) == FRONT_SQLITE_OK && file_size(p.log_path) == 8272,
          "its page completes the transaction: written");

    frame_header(header, 0);
    CHECK(put(log, header, 24, 8272) == FRONT_SQLITE_OK && file_size(p.log_path) == 8272, "gathered again");
    CHECK(log->pMethods->xRead(log, back, 24, 8272) == FRONT_SQLITE_OK && !memcmp(back, header, 24) &&
              file_size(p.log_path) == 8296,
          "a read first writes out what is gathered");
    CHECK(put(log, page, 4096, 8296) == FRONT_SQLITE_OK && file_size(p.log_path) == 8296, "gathered");
    CHECK(put(log, "XY", 2, 100) == FRONT_SQLITE_OK && file_size(p.log_path) == 12392 &&
              log->pMethods->xRead(log, back, 4, 99) == FRONT_SQLITE_OK && !memcmp(back, "pXYp", 4),
          "a write elsewhere: what was gathered first, then the write");
    /* The last frame's header where what is gathered reaches 120 KiB: its
     * page still ends the transaction. */
    static uint8_t large[122860];
    memset(large, 'l', sizeof large);
    CHECK(put(log, large, (int)sizeof large, 102) == FRONT_SQLITE_OK, "gathered");
    frame_header(header, 9);
    CHECK(put(log, header, 24, 102 + (long long)sizeof large) == FRONT_SQLITE_OK &&
              put(log, page, 4096, 126 + (long long)sizeof large) == FRONT_SQLITE_OK &&
              file_size(p.log_path) == 126 + (long long)sizeof large + 4096,
          "a transaction's end at the size limit: written");
    long long size = 0;
    CHECK(put(log, page, 100, 126 + (long long)sizeof large + 4096) == FRONT_SQLITE_OK &&
              log->pMethods->xFileSize(log, &size) == FRONT_SQLITE_OK && size == 226 + (long long)sizeof large + 4096,
          "the size of the file as written");

    pair_close(&p);

    /* The safeguard: a commit published with frames still gathered writes
     * them out and ends the gathering of that log. */
    if (pair_open(&p, "the front's VFS: rules")) {
        front_vfs_counters before, after;
        front_vfs_counters_get(&before);
        CHECK(put(p.log, page, 32, 0) == FRONT_SQLITE_OK && put(p.log, page, 500, 32) == FRONT_SQLITE_OK &&
                  file_size(p.log_path) == 32,
              "gathered");
        p.db->pMethods->xShmBarrier(p.db);
        front_vfs_counters_get(&after);
        CHECK(file_size(p.log_path) == 532 && after.late_flushes == before.late_flushes + 1,
              "written out at the database's barrier");
        CHECK(put(p.log, page, 500, 532) == FRONT_SQLITE_OK && file_size(p.log_path) == 1032,
              "that log gathers no more");
    }
    pair_close(&p);

    /* A log whose database is closed first gathers no more either. */
    if (pair_open(&p, "the front's VFS: rules")) {
        CHECK(put(p.log, page, 32, 0) == FRONT_SQLITE_OK && put(p.log, page, 100, 32) == FRONT_SQLITE_OK &&
                  file_size(p.log_path) == 32,
              "gathered while the database is open");
        p.db->pMethods->xClose(p.db);
        p.db->pMethods = NULL;
        CHECK(put(p.log, page, 100, 132) == FRONT_SQLITE_OK && file_size(p.log_path) == 232,
              "written at once without it");
    }
    pair_close(&p);
    seamless_sqlite_unload(&api);
}

/* In a child with a file size limit: what the child's calls returned. */
static int limited_child(pair *p, int publish_late) {
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit limit = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
        setrlimit(RLIMIT_FSIZE, &limit);
        static uint8_t page[4096], header[24];
        int rc = put(p->log, page, 32, 0);
        frame_header(header, publish_late ? 0 : 3);
        rc |= put(p->log, header, 24, 32);
        if (publish_late) {
            if (!freopen("/dev/null", "w", stderr)) /* the message it prints is expected here */
                _exit(4);
            rc |= put(p->log, page, 4096, 56); /* past the limit, gathered */
            p->db->pMethods->xShmBarrier(p->db); /* must not return */
            _exit(3);
        }
        int last = put(p->log, page, 4096, 56); /* the transaction's end: written, past the limit */
        _exit(rc != FRONT_SQLITE_OK ? 2 : last != FRONT_SQLITE_OK ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* A write that fails fails the commit; a late one stops the process. */
static void test_failed_writes(void) {
    seamless_sqlite api;
    if (!load(&api, "the front's VFS: failed writes"))
        return;
    pair p;
    if (pair_open(&p, "the front's VFS: failed writes")) {
        int status = limited_child(&p, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the write that ends a transaction reports the failure (status %d)", status);
        CHECK(file_size(p.log_path) <= 4096, "nothing beyond the limit");
    }
    pair_close(&p);
    if (pair_open(&p, "the front's VFS: failed writes")) {
        fflush(stderr);
        int status = limited_child(&p, 1);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "a late write that fails stops the process before the commit is published (status %d)", status);
    }
    pair_close(&p);
    seamless_sqlite_unload(&api);
}

int test_front_vfs(void) {
    test_commits();
    test_rules();
    test_failed_writes();
    return failures;
}
