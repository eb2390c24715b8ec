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
    int (*file_control)(sqlite3 *, const char *, int, void *);
} seamless_sqlite;

/* Load the library at path into api; on failure a message in message. */
int seamless_sqlite_load(const char *path, seamless_sqlite *api, char *message, size_t message_size);
void seamless_sqlite_unload(seamless_sqlite *api);

/* ---- the front's state, shared by its three files ----------------------
 *   front.c          the loop: connections, parsing, answers, timeouts
 *   front_records.c  the records, on the front's own SQLite connection
 *   front_cache.c    the records remembered for lookups
 *   front_bridge.c   events to Python and commands from it
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

enum { FRONT_MODE_PARSE, FRONT_MODE_RAW };

typedef struct front_conn {
    uint64_t id;
    int fd;
    int mode;
    uint8_t *in;
    size_t in_len, in_cap;
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    unsigned outstanding;   /* REQUESTs with Python, not yet DONE */
    int known;              /* Python has had an event of it */
    int no_more;            /* a request without keep-alive was taken */
    int closing;            /* close once out is sent */
    int eof;                /* the client sent everything it will */
    int paused;             /* Python paused reading (RAW) */
    int dead;               /* to be closed at the end of the turn */
    int reset;              /* ... with a reset */
    uint32_t events;        /* the epoll registration */
    int64_t last_ms;        /* last input or output */
    int64_t partial_ms;     /* since when an incomplete request waits (0: none) */
    int64_t write_ms;       /* last progress of a waiting answer */
    /* A hot PUT waiting for the COMMIT of its turn. */
    int waiting;
    int committed;          /* answered by a COMMIT, to go on at the turn's end */
    int waiting_keep_alive;
    uint8_t *waiting_request;
    size_t waiting_len;
    uint8_t waiting_record[128]; /* its checksum and result, to remember */
    struct front_conn *next_waiting;
    struct front_conn *next_dead;
} front_conn;

typedef struct front_command {
    uint64_t conn;
    int kind;
    uint8_t *data;
    size_t len;
    struct front_command *next;
} front_command;

/* The memory of front_cache.c. */
#define FRONT_WAL_HEADER 48
struct front_record;
typedef struct {
    struct front_record *records; /* NULL: no memory */
    size_t mask;                  /* buckets - 1 */
    uint32_t epoch;               /* records of another epoch are forgotten */
    unsigned victim;
    const volatile uint8_t *header; /* the WAL-index header in shared memory */
    uint8_t known_header[FRONT_WAL_HEADER]; /* ... under which the memory is current */
    int known;
    int txn_known;                /* the turn's transaction began under known_header */
    uint32_t txn_counter;
    atomic_uint_fast64_t hits, forgotten;
    /* For the C tests: runs between a COMMIT and the look at the header. */
    void (*after_commit)(void *arg);
    void *after_commit_arg;
} front_cache;

struct seamless_front {
    seamless_front_config cfg;
    int ep, cmd_fd, event_fd;
    seamless_sqlite sql;
    sqlite3 *db;
    sqlite3_stmt *get, *insert, *reverse, *begin, *commit, *rollback;
    front_conn **conns; /* by descriptor */
    size_t conns_cap, live;
    uint32_t generation;
    int listening;
    int64_t accept_again_ms;
    /* Commands from Python, events to Python. */
    pthread_mutex_t lock;
    front_command *cmd_head, *cmd_tail;
    seamless_front_event *events;
    size_t events_len, events_cap;
    /* Stopping. */
    atomic_int stopping;
    atomic_int grace_ms;
    int64_t deadline_ms;
    /* The turn's transaction. */
    int in_txn;
    uint64_t txn_changes;
    front_conn *waiting_head;
    front_conn *committed_head;
    front_conn *dead_head;
    front_cache cache;
    /* Statistics. */
    atomic_uint_fast64_t answered, forwarded, changes;
    /* The Date header, once a second. */
    char date[48];
    time_t date_second;
    int64_t now_ms;
    int64_t swept_ms;
};

/* front.c: a connection's answers. */
void front_respond(seamless_front *f, front_conn *c, int status, const char *body, size_t body_len,
                   int keep_alive);
void front_forward(seamless_front *f, front_conn *c, const uint8_t *request, size_t len, int keep_alive);

/* front_records.c */
int front_open_database(seamless_front *f, char *message, size_t message_size);
void front_close_database(seamless_front *f);
int front_answer_get(seamless_front *f, front_conn *c, const seamless_front_request *req);
int front_write_record(seamless_front *f, front_conn *c, const seamless_front_request *req,
                       const uint8_t *request, size_t len);
void front_commit(seamless_front *f);

/* front_cache.c */
void front_cache_open(seamless_front *f);
void front_cache_close(seamless_front *f);
/* The remembered result of a lookup, or NULL: ask SQLite. */
const uint8_t *front_cache_find(seamless_front *f, const uint8_t key[64]);
/* A record SQLite returned for a lookup that front_cache_find missed. */
void front_cache_read(seamless_front *f, const uint8_t key[64], const uint8_t value[64]);
/* The turn's transaction has begun, and has committed the records of written. */
void front_cache_began(seamless_front *f);
void front_cache_committed(seamless_front *f, const front_conn *written);

/* front_bridge.c */
int front_push_event(seamless_front *f, front_conn *c, int kind, const uint8_t *data, size_t len);
/* Every command queued so far, oldest first (the caller frees them). */
front_command *front_take_commands(seamless_front *f);

#endif /* SEAMLESS_FRONT_IMPL_H */
