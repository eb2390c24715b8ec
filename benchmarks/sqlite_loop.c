/*
 * sqlite_loop.c - the database server's writes without the server: their ceiling.
 *
 * Runs the statements with which the database server's front stores one
 * transformation record (BEGIN IMMEDIATE, the two INSERTs, COMMIT), with
 * the server's settings and through the front's VFS (csrc/front_vfs.c), in
 * a loop of one record per commit, in C: no HTTP, no parsing, no Python. A
 * server that answers a write only once it is committed cannot store
 * records faster than this, whatever its front.
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

#include "front_vfs.h" /* the front's SQLite calls and VFS (csrc/, built with this program) */

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SQLITE_STATIC ((void (*)(void *))0) /* the values outlive each step, as in the front */

static seamless_sqlite sql;

static void must(int ok, sqlite3 *db, const char *what) {
    if (!ok) {
        fprintf(stderr, "sqlite_loop: %s: %s\n", what, db ? sql.errmsg(db) : "no database");
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
    char message[256] = "";
    if (!dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL) || seamless_sqlite_load(argv[1], &sql, message, sizeof message)) {
        fprintf(stderr, "sqlite_loop: %s: %s\n", argv[1], message[0] ? message : dlerror());
        return 1;
    }
    /* The front's connection writes a commit's log frames with one call. */
    if (front_vfs_register(&sql, message, sizeof message)) {
        fprintf(stderr, "sqlite_loop: %s\n", message);
        return 1;
    }
    long count = atol(argv[3]);
    struct timespec seed;
    clock_gettime(CLOCK_REALTIME, &seed);
    state = ((uint64_t)seed.tv_sec * 1000000000u + (uint64_t)seed.tv_nsec) ^ ((uint64_t)getpid() << 32) ^
            0x9E3779B97F4A7C15u;
    sqlite3 *db = NULL;
    must(sql.open_v2(argv[2], &db, FRONT_SQLITE_OPEN_READWRITE, FRONT_VFS_NAME) == FRONT_SQLITE_OK, db, "open");
    /* The server's settings and the front's statements (csrc/front_records.c). */
    must(sql.exec(db, argv[4], NULL, NULL, NULL) == FRONT_SQLITE_OK, db, "settings");
    sqlite3_stmt *begin, *insert, *reverse, *commit;
    must(sql.prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL) == FRONT_SQLITE_OK, db, "BEGIN");
    must(sql.prepare_v2(db, "COMMIT", -1, &commit, NULL) == FRONT_SQLITE_OK, db, "COMMIT");
    must(sql.prepare_v2(db,
                        "INSERT INTO \"transformation\" SELECT ?, ? WHERE NOT EXISTS "
                        "(SELECT 1 FROM \"irreproducible_transformation\" WHERE \"checksum\" = ?) "
                        "ON CONFLICT DO NOTHING",
                        -1, &insert, NULL) == FRONT_SQLITE_OK,
         db, "INSERT");
    must(sql.prepare_v2(db,
                        "INSERT INTO \"rev_transformation\" (\"result\", \"checksum\") SELECT ?, ? WHERE NOT EXISTS "
                        "(SELECT 1 FROM \"rev_transformation\" WHERE \"result\" = ? AND \"checksum\" = ?)",
                        -1, &reverse, NULL) == FRONT_SQLITE_OK,
         db, "INSERT");
    double start = now();
    for (long i = 0; i < count; i++) {
        char checksum[64], result[64];
        random_hex(checksum);
        random_hex(result);
        must(sql.step(begin) == FRONT_SQLITE_DONE, db, "BEGIN");
        sql.reset(begin);
        sql.bind_text(insert, 1, checksum, 64, SQLITE_STATIC);
        sql.bind_text(insert, 2, result, 64, SQLITE_STATIC);
        sql.bind_text(insert, 3, checksum, 64, SQLITE_STATIC);
        must(sql.step(insert) == FRONT_SQLITE_DONE, db, "INSERT");
        sql.reset(insert);
        sql.bind_text(reverse, 1, result, 64, SQLITE_STATIC);
        sql.bind_text(reverse, 2, checksum, 64, SQLITE_STATIC);
        sql.bind_text(reverse, 3, result, 64, SQLITE_STATIC);
        sql.bind_text(reverse, 4, checksum, 64, SQLITE_STATIC);
        must(sql.step(reverse) == FRONT_SQLITE_DONE, db, "INSERT");
        sql.reset(reverse);
        must(sql.step(commit) == FRONT_SQLITE_DONE, db, "COMMIT");
        sql.reset(commit);
    }
    printf("%.6f %ld\n", now() - start, count);
    sql.finalize(begin);
    sql.finalize(insert);
    sql.finalize(reverse);
    sql.finalize(commit);
    sql.close_v2(db);
    return 0;
}
