/*
 * front_cache.c - the database front's memory of transformation records:
 * a lookup of a record the front has written or read before is answered
 * from memory, without SQLite, for as long as nobody has changed the
 * database since.
 *
 * Why: with one client waiting for each answer, a lookup in SQLite (a read
 * transaction and a B-tree descent in cold caches, ~6 us) is what stands
 * between the request and an answer fast enough to reach the client before
 * it falls asleep; a fixed answer runs twice as many requests per second.
 *
 * Why it is never stale: in WAL mode every COMMIT, by any connection of any
 * process, writes a new WAL-index header into the shared-memory file (the
 * "-shm"; its layout is part of SQLite's documented file format), with a
 * transaction counter (iChange) that every commit increments. The front
 * remembers the header under which its memory is current; before answering
 * from memory it compares the header now in shared memory with it (the very
 * check SQLite makes at the start of each read transaction), and forgets
 * everything when they differ. Its own commits keep the memory only when
 * the counter moved by exactly one (nobody else committed in between).
 * While the front's connection is open, nobody can take the database out of
 * WAL mode. Whatever is unusual (no WAL, no shared memory, a header being
 * written) turns the memory off or sends the lookup to SQLite.
 *
 * The memory is a fixed table of buckets of four records (bounded memory;
 * a full bucket replaces one of its four); forgetting bumps an epoch.
 */
#define _GNU_SOURCE

#include "front_vfs.h"

#include <stdlib.h>
#include <string.h>

#define WAYS 4
#define SHM_REGION 32768 /* SQLite's wal-index region size */

struct front_record {
    uint8_t key[64];
    uint8_t value[64];
    uint32_t epoch;
};

static int text_is(seamless_front *f, const char *sql, const char *expected) {
    sqlite3_stmt *st = NULL;
    int same = 0;
    if (f->sql.prepare_v2(f->db, sql, -1, &st, NULL) == FRONT_SQLITE_OK &&
        f->sql.step(st) == FRONT_SQLITE_ROW) {
        const unsigned char *text = f->sql.column_text(st, 0);
        same = text && strcmp((const char *)text, expected) == 0;
    }
    if (st)
        f->sql.finalize(st);
    return same;
}

void front_cache_open(seamless_front *f) {
    front_cache *m = &f->cache;
    memset(m, 0, sizeof *m);
    if (f->cfg.cache_records < WAYS || !text_is(f, "PRAGMA journal_mode", "wal"))
        return;
    /* A read opens the WAL and its shared memory on this connection. */
    if (!text_is(f, "SELECT count(*) > -1 FROM \"transformation\" WHERE \"checksum\" = ''", "1"))
        return;
    front_sqlite_file *file = NULL;
    void volatile *region = NULL;
    if (f->sql.file_control(f->db, "main", FRONT_SQLITE_FCNTL_FILE_POINTER, &file) != FRONT_SQLITE_OK ||
        !file || !file->pMethods || file->pMethods->iVersion < 2 || !file->pMethods->xShmMap ||
        file->pMethods->xShmMap(file, 0, SHM_REGION, 0, &region) != FRONT_SQLITE_OK || !region)
        return;
    size_t buckets = 1;
    while (buckets * 2 * WAYS <= (size_t)f->cfg.cache_records)
        buckets *= 2;
    m->records = calloc(buckets * WAYS, sizeof *m->records);
    if (!m->records)
        return;
    m->mask = buckets - 1;
    m->header = (const volatile uint8_t *)region;
    m->epoch = 1;
}

void front_cache_close(seamless_front *f) {
    free(f->cache.records);
    memset(&f->cache, 0, sizeof f->cache);
}

static void forget(front_cache *m) {
    if (++m->epoch == 0) { /* after 2^32 forgettings: really empty it */
        memset(m->records, 0, (m->mask + 1) * WAYS * sizeof *m->records);
        m->epoch = 1;
    }
    atomic_fetch_add(&m->forgotten, 1);
}

/* The WAL-index header now in shared memory into out (1), or 0 while it is
 * being written or not initialized: the two copies SQLite keeps, read in
 * the order it reads them, must agree. */
static int read_header(const front_cache *m, uint8_t out[FRONT_WAL_HEADER]) {
    uint8_t second[FRONT_WAL_HEADER];
    for (int i = 0; i < FRONT_WAL_HEADER; i++)
        out[i] = m->header[i];
    atomic_thread_fence(memory_order_seq_cst);
    for (int i = 0; i < FRONT_WAL_HEADER; i++)
        second[i] = m->header[FRONT_WAL_HEADER + i];
    return memcmp(out, second, FRONT_WAL_HEADER) == 0 && out[12] != 0; /* isInit */
}

static uint32_t change_counter(const uint8_t header[FRONT_WAL_HEADER]) {
    uint32_t counter;
    memcpy(&counter, header + 8, sizeof counter); /* iChange, native byte order */
    return counter;
}

/* Is the memory current? If the database changed, forget, and take the
 * header now as the one the memory (empty) is current under. */
static int current(front_cache *m) {
    uint8_t now[FRONT_WAL_HEADER];
    if (!read_header(m, now)) {
        m->known = 0;
        return 0;
    }
    if (m->known && memcmp(now, m->known_header, FRONT_WAL_HEADER) == 0)
        return 1;
    forget(m);
    memcpy(m->known_header, now, FRONT_WAL_HEADER);
    m->known = 1;
    return 1;
}

static struct front_record *bucket(const front_cache *m, const uint8_t key[64]) {
    uint64_t h = 0;
    for (int i = 0; i < 64; i += 8) { /* all of the key: it comes from clients */
        uint64_t word;
        memcpy(&word, key + i, sizeof word);
        h = (h ^ word) * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
    }
    return m->records + ((h >> 32) & m->mask) * WAYS;
}

const uint8_t *front_cache_find(seamless_front *f, const uint8_t key[64]) {
    front_cache *m = &f->cache;
    if (!m->records || !current(m))
        return NULL;
    struct front_record *b = bucket(m, key);
    for (int i = 0; i < WAYS; i++)
        if (b[i].epoch == m->epoch && memcmp(b[i].key, key, 64) == 0) {
            atomic_fetch_add(&m->hits, 1);
            return b[i].value;
        }
    return NULL;
}

/* Remember a record read or written under the header the memory is current
 * under (the caller made sure of that). */
static void remember(front_cache *m, const uint8_t key[64], const uint8_t value[64]) {
    struct front_record *b = bucket(m, key), *slot = NULL;
    for (int i = 0; i < WAYS && !slot; i++)
        if (b[i].epoch == m->epoch && memcmp(b[i].key, key, 64) == 0)
            slot = b + i;
    for (int i = 0; i < WAYS && !slot; i++)
        if (b[i].epoch != m->epoch)
            slot = b + i;
    if (!slot)
        slot = b + (m->victim++ % WAYS);
    memcpy(slot->key, key, 64);
    memcpy(slot->value, value, 64);
    slot->epoch = m->epoch;
}

void front_cache_read(seamless_front *f, const uint8_t key[64], const uint8_t value[64]) {
    /* front_cache_find ran just before the read: a commit since then makes
     * the header differ from the known one, and the memory is forgotten
     * before it is used again. */
    if (f->cache.records && f->cache.known)
        remember(&f->cache, key, value);
}

void front_cache_began(seamless_front *f) {
    front_cache *m = &f->cache;
    /* The write lock is held: the header cannot change until the COMMIT. */
    m->txn_known = m->records && current(m);
    if (m->txn_known)
        m->txn_counter = change_counter(m->known_header);
}

void front_cache_committed(seamless_front *f, const front_conn *written) {
    front_cache *m = &f->cache;
    if (!m->records)
        return;
    if (m->after_commit)
        m->after_commit(m->after_commit_arg);
    uint8_t now[FRONT_WAL_HEADER];
    int ours = m->txn_known && read_header(m, now) && change_counter(now) == m->txn_counter + 1;
    if (!ours) {
        current(m); /* someone else committed too: forget */
        return;
    }
    memcpy(m->known_header, now, FRONT_WAL_HEADER);
    for (const front_conn *c = written; c; c = c->next_waiting)
        remember(m, c->waiting_record, c->waiting_record + 64);
}

void seamless_front_cache_stats(const seamless_front *f, uint64_t *hits, uint64_t *forgotten) {
    *hits = atomic_load(&f->cache.hits);
    *forgotten = atomic_load(&f->cache.forgotten);
}
