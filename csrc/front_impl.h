/*
 * front_impl.h - internals of the database front (front.c), shared with
 * its request classifier (front_request.c), its SQLite loader
 * (sqlite_api.c) and the C tests.
 */
#ifndef SEAMLESS_FRONT_IMPL_H
#define SEAMLESS_FRONT_IMPL_H

#include "seamless_native.h"

#include <stddef.h>
#include <stdint.h>

/* The Python server's limits (seamless/server/http/parser.py). */
#define FRONT_MAX_HEAD (16 * 1024)
#define FRONT_MAX_HEADERS 100
/* Larger bodies go to Python with their connection (it streams or refuses). */
#define FRONT_MAX_BODY (64 * 1024)

enum {
    FRONT_NEED_MORE = 0,
    FRONT_RAW = 1,
    FRONT_FORWARD = 2,
    FRONT_HOT_GET = 3,
    FRONT_HOT_PUT = 4
};

/* The request at the start of a connection's input, as far as classified. */
typedef struct {
    size_t head_len;          /* with the blank line */
    size_t body_len;
    int keep_alive;
    const uint8_t *checksum;  /* 64 hex digits, for HOT_GET and HOT_PUT */
    const uint8_t *value;     /* 64 hex digits, for HOT_PUT */
} seamless_front_request;

/* One of the FRONT_* verdicts for the bytes buf[0..len) (see front_request.c). */
int seamless_front_classify(const uint8_t *buf, size_t len, seamless_front_request *req);
int seamless_front_is_hex64(const uint8_t *s, size_t len);

/* ---- SQLite, loaded at run time ---------------------------------------- */

/*
 * The front uses the SQLite library that Python's sqlite3 module already
 * loaded (the same copy: two copies in one process would not see each
 * other's POSIX locks), found by path and opened with dlopen, so building
 * the extension needs no SQLite headers. Only what the front calls.
 */
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

#define FRONT_SQLITE_OK 0
#define FRONT_SQLITE_ROW 100
#define FRONT_SQLITE_DONE 101
#define FRONT_SQLITE_OPEN_READONLY 0x00000001
#define FRONT_SQLITE_OPEN_READWRITE 0x00000002
#define FRONT_SQLITE_OPEN_URI 0x00000040
#define FRONT_SQLITE_OPEN_NOMUTEX 0x00008000

typedef struct {
    void *library;
    int (*open_v2)(const char *, sqlite3 **, int, const char *);
    int (*close_v2)(sqlite3 *);
    int (*exec)(sqlite3 *, const char *, int (*)(void *, int, char **, char **), void *, char **);
    int (*prepare_v2)(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
    int (*bind_text)(sqlite3_stmt *, int, const char *, int, void (*)(void *));
    int (*step)(sqlite3_stmt *);
    int (*reset)(sqlite3_stmt *);
    int (*finalize)(sqlite3_stmt *);
    const unsigned char *(*column_text)(sqlite3_stmt *, int);
    int (*column_bytes)(sqlite3_stmt *, int);
    int (*changes)(sqlite3 *);
    int (*busy_timeout)(sqlite3 *, int);
    const char *(*errmsg)(sqlite3 *);
} seamless_sqlite;

/* Load the library at path into api; on failure a message in message. */
int seamless_sqlite_load(const char *path, seamless_sqlite *api, char *message, size_t message_size);
void seamless_sqlite_unload(seamless_sqlite *api);

#endif /* SEAMLESS_FRONT_IMPL_H */
