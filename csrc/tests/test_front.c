/*
 * test_front.c - the database front without Python: its request classifier,
 * and its loop on a real loopback socket and a real SQLite file (the
 * system's libsqlite3, as Python's sqlite3 module uses it; skipped where
 * there is none): lookups and writes answered in C, a request passed on and
 * answered through the command queue, and a pipeline interleaved with another
 * client's writes (a connection answered by one COMMIT and written again
 * before the turn's end once made the loop spin forever); and its memory of
 * records against another connection's updates, deletes and commits.
 */
#define _POSIX_C_SOURCE 200809L

#include "../front_impl.h"
#include "support.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int failures = 0; /* counted by CHECK (support.h) */


/* The front's classifier: which requests it answers, passes on, hands over. */
static void expect_verdict(const char *text, int want, const char *what) {
    seamless_front_request req;
    int got = seamless_front_classify((const uint8_t *)text, strlen(text), &req);
    CHECK(got == want, "classify %s: got %d, want %d", what, got, want);
}

static void test_front_classify(void) {
    char hot[512], body[256];
    const char *tf = "00000000000000000000000000000000000000000000000000000000000000aa";
    snprintf(body, sizeof body, "{\"type\": \"transformation\", \"checksum\": \"%s\"}", tf);
    snprintf(hot, sizeof hot, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    expect_verdict(hot, FRONT_HOT_GET, "a lookup");
    seamless_front_request req;
    seamless_front_classify((const uint8_t *)hot, strlen(hot), &req);
    CHECK(req.keep_alive && req.checksum && !memcmp(req.checksum, tf, 64), "lookup fields");
    CHECK(req.head_len + req.body_len == strlen(hot), "lookup length");
    for (size_t cut = 0; cut < strlen(hot); cut += 7) { /* every prefix is incomplete */
        char part[512];
        memcpy(part, hot, cut);
        part[cut] = 0;
        expect_verdict(part, FRONT_NEED_MORE, "a prefix");
    }
    char put[512], put_body[256];
    snprintf(put_body, sizeof put_body, "{\"checksum\":\"%s\",\"value\":\"%s\",\"type\":\"transformation\"}", tf, tf);
    snprintf(put, sizeof put, "PUT / HTTP/1.1\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(put_body), put_body);
    expect_verdict(put, FRONT_HOT_PUT, "a write");
    seamless_front_classify((const uint8_t *)put, strlen(put), &req);
    CHECK(!req.keep_alive && req.value && !memcmp(req.value, tf, 64), "write fields");

    char other[512];
    snprintf(other, sizeof other, "PUT / HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    expect_verdict(other, FRONT_FORWARD, "a write without value");
    snprintf(other, sizeof other, "GET /x HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    expect_verdict(other, FRONT_FORWARD, "another path");
    expect_verdict("GET /healthcheck HTTP/1.1\r\n\r\n", FRONT_FORWARD, "healthcheck");
    expect_verdict("GET / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", FRONT_FORWARD, "an empty object");
    expect_verdict("GET / HTTP/1.1\r\nContent-Length: 4\r\n\r\n{\"\\u\"", FRONT_FORWARD, "an escape");
    expect_verdict("GET / HTTP/1.0\r\n\r\n", FRONT_RAW, "HTTP/1.0");
    expect_verdict("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", FRONT_RAW, "chunked");
    expect_verdict("PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", FRONT_RAW, "expect");
    expect_verdict("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", FRONT_RAW, "two lengths");
    expect_verdict("GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\nx", FRONT_RAW, "a bad length");
    expect_verdict("GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", FRONT_RAW, "a large body");
    expect_verdict("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", FRONT_RAW, "a bad header name");
    expect_verdict("GET / HTTP/1.1\r\nX: a\001b\r\n\r\n", FRONT_RAW, "a control character");
    expect_verdict("GET / HTTP/1.1\r\n folded\r\n\r\n", FRONT_RAW, "a folded line");
    expect_verdict("GET  / HTTP/1.1\r\n\r\n", FRONT_RAW, "two spaces");
    expect_verdict("BREW / HTTP/1.1\r\n\r\n", FRONT_RAW, "an unknown method");
    expect_verdict("get / HTTP/1.1\r\n\r\n", FRONT_RAW, "a lower-case method");
    expect_verdict("GET / HTTP/1.1\rX\n\r\n\r\n", FRONT_RAW, "a lone CR");
    char *long_head = malloc(FRONT_MAX_HEAD + 64);
    CHECK(long_head != NULL, "malloc");
    if (long_head) {
        memset(long_head, 'a', FRONT_MAX_HEAD + 63);
        long_head[FRONT_MAX_HEAD + 63] = 0;
        memcpy(long_head, "GET / HTTP/1.1\r\nX: ", 19);
        expect_verdict(long_head, FRONT_RAW, "a head that never ends");
        free(long_head);
    }
}

/* ---- the loop ------------------------------------------------------------- */

#define SQLITE_LIBRARY "libsqlite3.so.0"

static const char *const SCHEMA =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE \"transformation\" (\"checksum\" CHAR(64) NOT NULL PRIMARY KEY, \"result\" CHAR(64) NOT NULL);"
    "CREATE TABLE \"rev_transformation\" (\"id\" INTEGER NOT NULL PRIMARY KEY, \"result\" CHAR(64) NOT NULL,"
    " \"checksum\" CHAR(64) NOT NULL);"
    "CREATE TABLE \"irreproducible_transformation\" (\"id\" INTEGER NOT NULL PRIMARY KEY,"
    " \"result\" CHAR(64) NOT NULL, \"checksum\" CHAR(64) NOT NULL, \"metadata\" TEXT NOT NULL);";

typedef struct {
    seamless_front *front;
    atomic_int finished;
} runner;

static void *run_front(void *arg) {
    runner *r = arg;
    seamless_front_run(r->front);
    atomic_store(&r->finished, 1);
    return NULL;
}

static int connect_to(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(0x7f000001);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a))
        return -1;
    return s;
}

/* One request for transformation tf (and result value, for a PUT: value >= 0). */
static size_t request(char *out, const char *method, int tf, int value) {
    char body[256];
    int n = value >= 0 ? sprintf(body, "{\"type\": \"transformation\", \"checksum\": \"%064x\", \"value\": \"%064x\"}",
                                 tf, value)
                       : sprintf(body, "{\"type\": \"transformation\", \"checksum\": \"%064x\"}", tf);
    return (size_t)sprintf(out, "%s / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", method, n, body);
}

/* Read until `want` answers (counted by their status lines) or a timeout;
 * the bytes go to out (up to cap) when it is given. */
static int answers(int fd, int want, int timeout_ms, char *out, size_t cap) {
    char buf[65536];
    int got = 0;
    size_t kept = 0;
    for (int waited = 0; got < want && waited < timeout_ms;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) {
            waited += 50;
            continue;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i + 8 <= n; i++)
            if (!memcmp(buf + i, "HTTP/1.1", 8))
                got++;
        if (out && kept + (size_t)n < cap) {
            memcpy(out + kept, buf, (size_t)n);
            kept += (size_t)n;
            out[kept] = 0;
        }
    }
    return got;
}

static int wait_finished(runner *r, int timeout_ms) {
    for (int waited = 0; waited < timeout_ms && !atomic_load(&r->finished); waited += 10) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&r->finished);
}

/* A front on a fresh database file (schema in place, and a connection of
 * the test's own to it) and a loopback port. */
typedef struct {
    seamless_sqlite api;
    sqlite3 *db;
    char path[64];
    int listener, port;
    runner r;
    pthread_t thread;
    int started;
} front_fixture;

/* The settings the server gives its front (seamless/database/connection.py). */
static const char *const SETTINGS =
    "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-8000; PRAGMA mmap_size=2147483648; "
    "PRAGMA wal_autocheckpoint=20000;";

/* 1 when made (not yet running); 0 when SQLite is missing or it failed. */
static int fixture_open(front_fixture *x, const char *what, int cache_records) {
    memset(x, 0, sizeof *x);
    x->listener = -1;
    if (!dlopen(SQLITE_LIBRARY, RTLD_NOW | RTLD_GLOBAL)) {
        printf("skip: %s (no %s)\n", what, SQLITE_LIBRARY);
        return 0;
    }
    char message[256] = "";
    snprintf(x->path, sizeof x->path, "/tmp/seamless-front-test-XXXXXX");
    int tmp = mkstemp(x->path);
    CHECK(tmp >= 0 && seamless_sqlite_load(SQLITE_LIBRARY, &x->api, message, sizeof message) == SEAMLESS_OK,
          "set-up: %s", message);
    if (tmp < 0)
        return 0;
    close(tmp);
    CHECK(x->api.open_v2(x->path, &x->db, FRONT_SQLITE_OPEN_READWRITE, NULL) == FRONT_SQLITE_OK &&
              x->api.exec(x->db, SCHEMA, NULL, NULL, NULL) == FRONT_SQLITE_OK,
          "schema");
    x->listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(0x7f000001);
    socklen_t alen = sizeof a;
    CHECK(!bind(x->listener, (struct sockaddr *)&a, sizeof a) && !listen(x->listener, 64) &&
              !getsockname(x->listener, (struct sockaddr *)&a, &alen),
          "listen");
    x->port = ntohs(a.sin_port);
    seamless_front_config cfg = {.listen_fd = x->listener, .sqlite_library = SQLITE_LIBRARY, .database = x->path,
                                 .settings = SETTINGS, .writes = 1, .head_timeout_ms = 30000, .body_timeout_ms = 60000,
                                 .idle_timeout_ms = 75000, .write_timeout_ms = 60000, .spin_us = 50,
                                 .cache_records = cache_records, .wal_batching = 1};
    CHECK(seamless_front_new(&cfg, &x->r.front, message, sizeof message) == SEAMLESS_OK, "front: %s", message);
    return x->r.front != NULL;
}

static void fixture_start(front_fixture *x) {
    x->started = !pthread_create(&x->thread, NULL, run_front, &x->r);
}

/* Stop the front (if it runs), free it, and remove the files. */
static void fixture_close(front_fixture *x) {
    if (x->r.front) {
        seamless_front_stop(x->r.front, 1000);
        CHECK(!x->started || wait_finished(&x->r, 5000), "the front stops");
        if (!x->started || atomic_load(&x->r.finished)) {
            if (x->started)
                pthread_join(x->thread, NULL);
            seamless_front_event events[8];
            size_t got = seamless_front_events(x->r.front, events, 8);
            seamless_front_release(events, got);
            seamless_front_free(x->r.front);
        }
    }
    if (x->listener >= 0)
        close(x->listener);
    if (x->db)
        x->api.close_v2(x->db);
    seamless_sqlite_unload(&x->api);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3 && x->path[0]; i++) {
        char name[80];
        snprintf(name, sizeof name, "%s%s", x->path, suffixes[i]);
        unlink(name);
    }
}

static void test_front_loop(void) {
    front_fixture x;
    if (!fixture_open(&x, "the front's loop", 0)) {
        fixture_close(&x);
        return;
    }
    int port = x.port;

    /* A: two writes, then lookups, more than the front keeps of its input,
     * already waiting when the front starts; B: a lookup and a write, so
     * that A's first write is committed by B's lookup and A is written
     * again in the same turn. */
    enum { N = 700 };
    char *pipeline = malloc((size_t)N * 300);
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += i < 2 ? request(pipeline + len, "PUT", 1000 + i, 5000 + i) : request(pipeline + len, "GET", 1000, -1);
    int A = connect_to(port), B = connect_to(port);
    sender_job to_a = {A, (const uint8_t *)pipeline, len, false};
    pthread_t sending;
    pthread_create(&sending, NULL, sender, &to_a);
    struct timespec pause = {0, 200 * 1000000};
    nanosleep(&pause, NULL);
    char small[2048];
    size_t small_len = request(small, "GET", 7, -1);
    small_len += request(small + small_len, "PUT", 1999, 1);
    CHECK(send(B, small, small_len, 0) == (ssize_t)small_len, "send B");
    nanosleep(&pause, NULL);
    fixture_start(&x);
    char b_out[4096];
    CHECK(answers(B, 2, 5000, b_out, sizeof b_out) == 2, "B's two answers");
    CHECK(strstr(b_out, "404 Not Found") && strstr(b_out, "\r\n\r\nOK"), "B: %s", b_out);
    CHECK(answers(A, N, 10000, NULL, 0) == N, "all of A's answers");
    pthread_join(sending, NULL);

    /* A request the front passes on: answered through the command queue. */
    int C = connect_to(port);
    const char *protocol = "GET / HTTP/1.1\r\nContent-Length: 20\r\n\r\n{\"type\": \"protocol\"}";
    CHECK(send(C, protocol, strlen(protocol) - 1, 0) > 0, "send C"); /* one byte short */
    CHECK(send(C, protocol + strlen(protocol) - 1, 1, 0) == 1, "send C's last byte");
    seamless_front_event events[8];
    size_t got = 0;
    for (int waited = 0; !got && waited < 5000; waited += 10) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
        got = seamless_front_events(x.r.front, events, 8);
    }
    CHECK(got == 1 && events[0].kind == SEAMLESS_FRONT_REQUEST && events[0].len == strlen(protocol) &&
              !memcmp(events[0].data, protocol, events[0].len),
          "the passed-on request (%zu events)", got);
    if (got) {
        const char *answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
        seamless_front_command(x.r.front, events[0].conn, SEAMLESS_FRONT_SEND, (const uint8_t *)answer, strlen(answer));
        seamless_front_command(x.r.front, events[0].conn, SEAMLESS_FRONT_DONE, NULL, 0);
        seamless_front_release(events, got);
        char c_out[512];
        CHECK(answers(C, 1, 5000, c_out, sizeof c_out) == 1 && strstr(c_out, "\r\n\r\nhi"), "C's answer");
        /* After the DONE the front answers this connection itself again. */
        char lookup[512];
        size_t lookup_len = request(lookup, "GET", 1000, -1);
        CHECK(send(C, lookup, lookup_len, 0) == (ssize_t)lookup_len, "send C's lookup");
        CHECK(answers(C, 1, 5000, c_out, sizeof c_out) == 1 && strstr(c_out, "00001388"), "C's lookup: %s", c_out);
    }
    uint64_t answered, forwarded, changes;
    seamless_front_stats(x.r.front, &answered, &forwarded, &changes);
    CHECK(answered == N + 3 && forwarded == 1 && changes == 6, "stats %llu %llu %llu",
          (unsigned long long)answered, (unsigned long long)forwarded, (unsigned long long)changes);

    close(A);
    close(B);
    close(C);
    free(pipeline);
    fixture_close(&x);
}

/* One request on fd and its answer's body (NUL-terminated in out). */
static const char *ask(int fd, const char *method, int tf, int value, char *out, size_t cap) {
    char req[512];
    size_t len = request(req, method, tf, value);
    out[0] = 0;
    if (send(fd, req, len, 0) != (ssize_t)len || answers(fd, 1, 5000, out, cap) != 1)
        return "";
    const char *body = strstr(out, "\r\n\r\n");
    return body ? body + 4 : "";
}

static int has_value(const char *body, int value) {
    char want[65];
    snprintf(want, sizeof want, "%064x", value);
    return strcmp(body, want) == 0;
}

typedef struct {
    seamless_sqlite *api;
    sqlite3 *db;
} sneak_in;

static void sneak_in_update(void *arg) {
    sneak_in *s = arg;
    CHECK(s->api->exec(s->db, "UPDATE transformation SET result = printf('%064x', 103) WHERE result = "
                              "printf('%064x', 102)", NULL, NULL, NULL) == FRONT_SQLITE_OK &&
              s->api->changes(s->db) == 1,
          "the update sneaking in");
}

/* The front's memory of records: used for lookups of what it wrote or read,
 * and forgotten whenever another connection commits (here: in this
 * process; another process is in tests/database/test_front.py). */
static void test_front_cache(void) {
    front_fixture x;
    if (!fixture_open(&x, "the front's memory", 8)) {
        fixture_close(&x);
        return;
    }
    fixture_start(&x);
    char out[4096];
    int fd = connect_to(x.port);
    uint64_t hits, forgotten, hits_before, forgotten_before;

    CHECK(!strcmp(ask(fd, "PUT", 1, 101, out, sizeof out), "OK"), "write: %s", out);
    CHECK(has_value(ask(fd, "GET", 1, -1, out, sizeof out), 101), "lookup: %s", out);
    seamless_front_cache_stats(x.r.front, &hits, &forgotten);
    CHECK(hits == 1, "the written record answered from memory (%llu)", (unsigned long long)hits);

    /* Another connection changes the record: the memory must not be used. */
    CHECK(x.api.exec(x.db, "UPDATE transformation SET result = printf('%064x', 102)", NULL, NULL, NULL) ==
              FRONT_SQLITE_OK, "update");
    hits_before = hits, forgotten_before = forgotten;
    CHECK(has_value(ask(fd, "GET", 1, -1, out, sizeof out), 102), "lookup after an update: %s", out);
    seamless_front_cache_stats(x.r.front, &hits, &forgotten);
    CHECK(hits == hits_before && forgotten > forgotten_before, "forgotten after an update (%llu, %llu)",
          (unsigned long long)hits, (unsigned long long)forgotten);
    CHECK(has_value(ask(fd, "GET", 1, -1, out, sizeof out), 102), "lookup again: %s", out);
    seamless_front_cache_stats(x.r.front, &hits, &forgotten);
    CHECK(hits == hits_before + 1, "a record read is remembered (%llu)", (unsigned long long)hits);

    /* Another connection commits right after one of the front's own
     * COMMITs, before the front looks at the header again. */
    sneak_in sneak = {&x.api, x.db};
    x.r.front->cache.after_commit = sneak_in_update;
    x.r.front->cache.after_commit_arg = &sneak;
    CHECK(!strcmp(ask(fd, "PUT", 2, 201, out, sizeof out), "OK"), "write 2: %s", out);
    x.r.front->cache.after_commit = NULL;
    CHECK(has_value(ask(fd, "GET", 1, -1, out, sizeof out), 103), "lookup after a commit just after ours: %s", out);
    CHECK(has_value(ask(fd, "GET", 2, -1, out, sizeof out), 201), "lookup of the write: %s", out);

    CHECK(x.api.exec(x.db, "DELETE FROM transformation", NULL, NULL, NULL) == FRONT_SQLITE_OK, "delete");
    ask(fd, "GET", 1, -1, out, sizeof out);
    CHECK(strstr(out, "404 Not Found") != NULL, "lookup after a delete: %s", out);

    /* More records than the memory holds: every answer is still right. */
    for (int i = 10; i < 40; i++)
        CHECK(!strcmp(ask(fd, "PUT", i, 1000 + i, out, sizeof out), "OK"), "write %d: %s", i, out);
    seamless_front_cache_stats(x.r.front, &hits_before, &forgotten_before);
    for (int i = 10; i < 40; i++)
        for (int twice = 0; twice < 2; twice++)
            CHECK(has_value(ask(fd, "GET", i, -1, out, sizeof out), 1000 + i), "lookup %d: %s", i, out);
    seamless_front_cache_stats(x.r.front, &hits, &forgotten);
    CHECK(hits - hits_before >= 30 && hits - hits_before < 60 && forgotten == forgotten_before,
          "a bounded memory (%llu hits of 60)", (unsigned long long)(hits - hits_before));

    close(fd);
    fixture_close(&x);
}

/* An integer that one PRAGMA of the front's own connection reads. */
static long front_pragma(seamless_front *f, const char *sql) {
    sqlite3_stmt *stmt = NULL;
    long value = LONG_MIN;
    if (f->sql.prepare_v2(f->db, sql, -1, &stmt, NULL) == FRONT_SQLITE_OK && f->sql.step(stmt) == FRONT_SQLITE_ROW)
        value = atol((const char *)f->sql.column_text(stmt, 0));
    if (stmt)
        f->sql.finalize(stmt);
    return value;
}

/* The settings given to the front are the ones its connection runs with,
 * and settings SQLite refuses stop the front from starting, with the reason. */
static void test_front_settings(void) {
    front_fixture x;
    if (!fixture_open(&x, "the front's settings", 0)) {
        fixture_close(&x);
        return;
    }
    CHECK(front_pragma(x.r.front, "PRAGMA cache_size") == -8000, "the given page cache");
    CHECK(front_pragma(x.r.front, "PRAGMA wal_autocheckpoint") == 20000, "the given checkpoint interval");
    CHECK(front_pragma(x.r.front, "PRAGMA synchronous") == 1, "synchronous=NORMAL");

    char message[256] = "";
    seamless_front *other = NULL;
    seamless_front_config cfg = {.listen_fd = x.listener, .sqlite_library = SQLITE_LIBRARY, .database = x.path,
                                 .settings = "PRAGMA cache_size=-8000; PRAGMA no_such_table_here; SELECT * FROM nowhere",
                                 .writes = 1, .head_timeout_ms = 1000, .body_timeout_ms = 1000,
                                 .idle_timeout_ms = 1000, .write_timeout_ms = 1000};
    CHECK(seamless_front_new(&cfg, &other, message, sizeof message) != SEAMLESS_OK && other == NULL,
          "refused settings stop the front");
    CHECK(strstr(message, "cannot apply the database settings") && strstr(message, "nowhere"),
          "the reason is given: %s", message);
    fixture_close(&x);
}

int test_front(void) {
    test_front_classify();
    test_front_loop();
    test_front_cache();
    test_front_settings();
    return failures;
}
