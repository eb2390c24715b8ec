/*
 * front_records.c - the transformation records of the database front, on
 * its own SQLite connection (see front.c for when they are used).
 *
 * A lookup is the indexed SELECT of ResultDB.get_transformation; a write is
 * the two INSERTs of ResultDB.set_transformation's plain case (a new,
 * reproducible record, and its reverse row unless present). The writes of
 * one turn share one transaction: their answers wait for its COMMIT, and if
 * anything fails they all go to Python, which writes them its own way. The
 * connection never waits for the lock (busy_timeout 0): a busy BEGIN sends
 * the write to Python's worker threads, which may wait.
 */
#define _GNU_SOURCE

#include "front_vfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int step_once(seamless_front *f, sqlite3_stmt *st) {
    int rc = f->sql.step(st);
    f->sql.reset(st);
    return rc;
}

/* Run a statement once with these 64-digit checksums as its parameters. */
static int run_with(seamless_front *f, sqlite3_stmt *st, const char *const *checksums, int n) {
    for (int i = 0; i < n; i++)
        f->sql.bind_text(st, i + 1, checksums[i], 64, NULL);
    return step_once(f, st);
}

/* A lookup answered, or 0 when Python must answer it. */
int front_answer_get(seamless_front *f, front_conn *c, const seamless_front_request *req) {
    const uint8_t *remembered = front_cache_find(f, req->checksum);
    if (remembered) {
        front_respond(f, c, 200, (const char *)remembered, 64, req->keep_alive);
        return 1;
    }
    f->sql.bind_text(f->get, 1, (const char *)req->checksum, 64, NULL);
    int rc = f->sql.step(f->get);
    int done = 1;
    if (rc == FRONT_SQLITE_ROW) {
        const uint8_t *text = f->sql.column_text(f->get, 0);
        int n = f->sql.column_bytes(f->get, 0);
        if (text && n == 64 && seamless_front_is_hex64(text, 64)) {
            front_respond(f, c, 200, (const char *)text, 64, req->keep_alive);
            front_cache_read(f, req->checksum, text);
        } else
            done = 0; /* a stored value Python normalizes (or refuses) */
    } else if (rc == FRONT_SQLITE_DONE) {
        front_respond(f, c, 404, "ERROR: Unknown key", 18, req->keep_alive);
    } else {
        done = 0;
    }
    f->sql.reset(f->get);
    return done;
}

/* The turn's transaction is over: its waiting writes are answered OK
 * (committed; their connections then go on in finish_turn), or passed to
 * Python (the transaction is gone). */
static void settle_waiting(seamless_front *f, int committed) {
    front_conn *c = f->waiting_head;
    f->waiting_head = NULL;
    while (c) {
        front_conn *next = c->next_waiting;
        c->waiting = 0;
        if (!c->dead && committed) {
            front_respond(f, c, 200, "OK", 2, c->waiting_keep_alive);
            c->committed = 1; /* on one list at a time: not parsed until finish_turn takes it */
            c->next_waiting = f->committed_head;
            f->committed_head = c;
        } else if (!c->dead) {
            front_forward(f, c, c->waiting_request, c->waiting_len, c->waiting_keep_alive);
        }
        free(c->waiting_request);
        c->waiting_request = NULL;
        c = next;
    }
}

/* Every waiting PUT of the turn to Python (the transaction is gone). */
static void abandon_batch(seamless_front *f) {
    if (f->in_txn)
        step_once(f, f->rollback);
    f->in_txn = 0;
    f->txn_changes = 0;
    settle_waiting(f, 0);
}

/* A new record written in the turn's transaction (1), or 0 when Python
 * must handle the request: the lock is busy, the transformation is known or
 * marked irreproducible, or SQLite failed. */
int front_write_record(seamless_front *f, front_conn *c, const seamless_front_request *req,
                       const uint8_t *request, size_t len) {
    if (!f->in_txn) {
        if (step_once(f, f->begin) != FRONT_SQLITE_DONE)
            return 0;
        f->in_txn = 1;
        front_cache_began(f);
    }
    const char *tf = (const char *)req->checksum, *result = (const char *)req->value;
    const char *insert[] = {tf, result, tf}, *reverse[] = {result, tf, result, tf};
    if (run_with(f, f->insert, insert, 3) != FRONT_SQLITE_DONE) {
        abandon_batch(f);
        return 0;
    }
    if (f->sql.changes(f->db) != 1)
        return 0; /* nothing written: Python decides (same result, or a conflict) */
    if (run_with(f, f->reverse, reverse, 4) != FRONT_SQLITE_DONE) {
        abandon_batch(f);
        return 0;
    }
    f->txn_changes += 1 + (uint64_t)f->sql.changes(f->db);
    c->waiting_request = malloc(len);
    if (!c->waiting_request) {
        abandon_batch(f);
        return 0;
    }
    memcpy(c->waiting_request, request, len);
    c->waiting_len = len;
    memcpy(c->waiting_record, tf, 64);
    memcpy(c->waiting_record + 64, result, 64);
    c->waiting = 1;
    c->waiting_keep_alive = req->keep_alive;
    c->next_waiting = f->waiting_head;
    f->waiting_head = c;
    return 1;
}

/* Commit the turn's writes and answer them (their connections then go on
 * in finish_turn), or hand them all to Python if the COMMIT fails. */
void front_commit(seamless_front *f) {
    if (!f->in_txn)
        return;
    if (step_once(f, f->commit) != FRONT_SQLITE_DONE) {
        abandon_batch(f);
        return;
    }
    f->in_txn = 0;
    atomic_fetch_add(&f->changes, f->txn_changes);
    f->txn_changes = 0;
    front_cache_committed(f, f->waiting_head);
    settle_waiting(f, 1);
}

static int prepare(seamless_front *f, const char *sql, sqlite3_stmt **out) {
    return f->sql.prepare_v2(f->db, sql, -1, out, NULL) == FRONT_SQLITE_OK ? 0 : -1;
}

/* The statements are the ones of seamless/database/sql.py and store.py. */
int front_open_database(seamless_front *f, char *message, size_t message_size) {
    int flags = (f->cfg.readonly ? FRONT_SQLITE_OPEN_READONLY : FRONT_SQLITE_OPEN_READWRITE) |
                FRONT_SQLITE_OPEN_NOMUTEX;
    /* Without the VFS that batches the log's writes (unavailable: rare) the
     * front works as well, with more system calls per commit. */
    char vfs_message[128];
    const char *vfs = f->cfg.wal_batching && !front_vfs_register(&f->sql, vfs_message, sizeof vfs_message)
                          ? FRONT_VFS_NAME
                          : NULL;
    if (f->sql.open_v2(f->cfg.database, &f->db, flags, vfs) != FRONT_SQLITE_OK) {
        snprintf(message, message_size, "cannot open %s: %s", f->cfg.database,
                 f->db ? f->sql.errmsg(f->db) : "out of memory");
        return -1;
    }
    f->sql.busy_timeout(f->db, 0); /* never wait: a busy lock sends the request to Python */
    if (f->cfg.settings && f->sql.exec(f->db, f->cfg.settings, NULL, NULL, NULL) != FRONT_SQLITE_OK) {
        snprintf(message, message_size, "cannot apply the database settings: %s", f->sql.errmsg(f->db));
        return -1;
    }
    if (prepare(f, "SELECT \"result\" FROM \"transformation\" WHERE \"checksum\" = ?", &f->get) ||
        (!f->cfg.readonly &&
         (prepare(f,
                  "INSERT INTO \"transformation\" SELECT ?, ? WHERE NOT EXISTS "
                  "(SELECT 1 FROM \"irreproducible_transformation\" WHERE \"checksum\" = ?) "
                  "ON CONFLICT DO NOTHING",
                  &f->insert) ||
          prepare(f,
                  "INSERT INTO \"rev_transformation\" (\"result\", \"checksum\") SELECT ?, ? WHERE NOT EXISTS "
                  "(SELECT 1 FROM \"rev_transformation\" WHERE \"result\" = ? AND \"checksum\" = ?)",
                  &f->reverse) ||
          prepare(f, "BEGIN IMMEDIATE", &f->begin) || prepare(f, "COMMIT", &f->commit) ||
          prepare(f, "ROLLBACK", &f->rollback)))) {
        snprintf(message, message_size, "cannot prepare the database front: %s", f->sql.errmsg(f->db));
        return -1;
    }
    front_cache_open(f);
    return 0;
}

void front_close_database(seamless_front *f) {
    front_cache_close(f);
    sqlite3_stmt *statements[] = {f->get, f->insert, f->reverse, f->begin, f->commit, f->rollback};
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++)
        if (statements[i])
            f->sql.finalize(statements[i]);
    if (f->db)
        f->sql.close_v2(f->db);
    f->db = NULL;
}
