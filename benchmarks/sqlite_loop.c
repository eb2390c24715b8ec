/*
 * sqlite_loop.c - the database server's writes without the server: their ceiling.
 *
 * Runs the statements with which the database server's front stores one
 * transformation record (BEGIN IMMEDIATE, the two INSERTs, COMMIT), with
 * the server's settings, in a loop of one record per commit, in C: no HTTP,
 * no parsing, no Python. A server that answers a write only once it is
 * committed cannot store records faster than this, whatever its front.
 *
 *   sqlite_loop LIBRARY DATABASE COUNT SETTINGS
 *
 * LIBRARY is the SQLite shared library to use (the one the server's
 * process uses); DATABASE an existing seamless.db (the schema is made by
 * the caller, so it is the server's own); SETTINGS the PRAGMAs the server
 * gives its connections (seamless/database/connection.py). Prints
 * "SECONDS COUNT".
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The few SQLite calls used, declared here so that no header is needed. */
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
#define SQLITE_OK 0
#define SQLITE_DONE 101
#define SQLITE_STATIC ((void (*)(void *))0) /* the values outlive each step, as in the front */

static struct {
    int (*open)(const char *, sqlite3 **);
    int (*exec)(sqlite3 *, const char *, void *, void *, char **);
    int (*prepare_v2)(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
    int (*bind_text)(sqlite3_stmt *, int, const char *, int, void (*)(void *));
    int (*step)(sqlite3_stmt *);
    int (*reset)(sqlite3_stmt *);
    int (*finalize)(sqlite3_stmt *);
    int (*close)(sqlite3 *);
    const char *(*errmsg)(sqlite3 *);
} sql;

static void *symbol(void *library, const char *name) {
    void *p = dlsym(library, name);
    if (!p) {
        fprintf(stderr, "sqlite_loop: %s: %s\n", name, dlerror());
        exit(1);
    }
    return p;
}

static void must(int ok, sqlite3 *db, const char *what) {
    if (!ok) {
        fprintf(stderr, "sqlite_loop: %s: %s\n", what, sql.errmsg(db));
        exit(1);
    }
}

static uint64_t state; /* seeded per run: every run stores new records */

static void random_hex(char *out) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 64; i += 16) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        for (int j = 0; j < 16; j++)
            out[i + j] = digits[(state >> (4 * j)) & 15];
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: sqlite_loop LIBRARY DATABASE COUNT SETTINGS\n");
        return 2;
    }
    void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        fprintf(stderr, "sqlite_loop: %s\n", dlerror());
        return 1;
    }
    *(void **)&sql.open = symbol(library, "sqlite3_open");
    *(void **)&sql.exec = symbol(library, "sqlite3_exec");
    *(void **)&sql.prepare_v2 = symbol(library, "sqlite3_prepare_v2");
    *(void **)&sql.bind_text = symbol(library, "sqlite3_bind_text");
    *(void **)&sql.step = symbol(library, "sqlite3_step");
    *(void **)&sql.reset = symbol(library, "sqlite3_reset");
    *(void **)&sql.finalize = symbol(library, "sqlite3_finalize");
    *(void **)&sql.close = symbol(library, "sqlite3_close");
    *(void **)&sql.errmsg = symbol(library, "sqlite3_errmsg");
    long count = atol(argv[3]);
    struct timespec seed;
    clock_gettime(CLOCK_REALTIME, &seed);
    state = ((uint64_t)seed.tv_sec * 1000000000u + (uint64_t)seed.tv_nsec) ^ ((uint64_t)getpid() << 32) ^
            0x9E3779B97F4A7C15u;
    sqlite3 *db = NULL;
    must(sql.open(argv[2], &db) == SQLITE_OK, db, "open");
    /* The server's settings and the front's statements (csrc/front_records.c). */
    must(sql.exec(db, argv[4], NULL, NULL, NULL) == SQLITE_OK, db, "settings");
    sqlite3_stmt *begin, *insert, *reverse, *commit;
    must(sql.prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL) == SQLITE_OK, db, "BEGIN");
    must(sql.prepare_v2(db, "COMMIT", -1, &commit, NULL) == SQLITE_OK, db, "COMMIT");
    must(sql.prepare_v2(db,
                        "INSERT INTO \"transformation\" SELECT ?, ? WHERE NOT EXISTS "
                        "(SELECT 1 FROM \"irreproducible_transformation\" WHERE \"checksum\" = ?) "
                        "ON CONFLICT DO NOTHING",
                        -1, &insert, NULL) == SQLITE_OK,
         db, "INSERT");
    must(sql.prepare_v2(db,
                        "INSERT INTO \"rev_transformation\" (\"result\", \"checksum\") SELECT ?, ? WHERE NOT EXISTS "
                        "(SELECT 1 FROM \"rev_transformation\" WHERE \"result\" = ? AND \"checksum\" = ?)",
                        -1, &reverse, NULL) == SQLITE_OK,
         db, "INSERT");
    double start = now();
    for (long i = 0; i < count; i++) {
        char checksum[64], result[64];
        random_hex(checksum);
        random_hex(result);
        must(sql.step(begin) == SQLITE_DONE, db, "BEGIN");
        sql.reset(begin);
        sql.bind_text(insert, 1, checksum, 64, SQLITE_STATIC);
        sql.bind_text(insert, 2, result, 64, SQLITE_STATIC);
        sql.bind_text(insert, 3, checksum, 64, SQLITE_STATIC);
        must(sql.step(insert) == SQLITE_DONE, db, "INSERT");
        sql.reset(insert);
        sql.bind_text(reverse, 1, result, 64, SQLITE_STATIC);
        sql.bind_text(reverse, 2, checksum, 64, SQLITE_STATIC);
        sql.bind_text(reverse, 3, result, 64, SQLITE_STATIC);
        sql.bind_text(reverse, 4, checksum, 64, SQLITE_STATIC);
        must(sql.step(reverse) == SQLITE_DONE, db, "INSERT");
        sql.reset(reverse);
        must(sql.step(commit) == SQLITE_DONE, db, "COMMIT");
        sql.reset(commit);
    }
    printf("%.6f %ld\n", now() - start, count);
    sql.finalize(begin);
    sql.finalize(insert);
    sql.finalize(reverse);
    sql.finalize(commit);
    sql.close(db);
    return 0;
}
