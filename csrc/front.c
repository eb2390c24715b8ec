/*
 * front.c - the database server's front door: one epoll loop in C.
 *
 * A Python HTTP server spends tens of microseconds of interpreter time on
 * every request before the database is even asked; for a lookup of one
 * transformation record that is most of the cost. The front takes the
 * listening socket and every connection, and answers a lookup or a write of
 * one transformation record itself: an indexed SELECT, or an INSERT into
 * the write-ahead log, on its own SQLite connection. Everything else goes
 * to the Python server (front_request.c decides), which answers as it
 * always did:
 *
 *  - a well-formed request of known length is passed whole (a REQUEST
 *    event); Python answers with SEND commands and a DONE. While a
 *    connection has requests with Python, later requests on it go to Python
 *    too, so answers never overtake each other;
 *  - anything the front is not sure of (chunked, Expect, an odd head, a
 *    large body) turns the connection RAW: its bytes go to Python as they
 *    arrive, and Python's parser answers or refuses them from then on.
 *
 * Writes: the hot PUTs of one turn of the loop share one transaction
 * (group commit), and their answers go out only after its COMMIT. The front
 * never waits for SQLite's lock: if another writer holds it (BEGIN
 * IMMEDIATE is busy), or a write is not the plain case (a known or
 * irreproducible transformation, an error), the request goes to Python,
 * whose worker threads wait and answer exactly. Lookups never wait either:
 * in WAL mode readers do not block.
 *
 * Timeouts mirror the Python server's: an incomplete head is answered 408,
 * a stalled body or a client that stops reading is dropped, an idle
 * keep-alive connection is closed.
 */
#define _GNU_SOURCE

#include "front_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Input kept for a connection (pipelined requests beyond it wait in the socket). */
#define IN_LIMIT (FRONT_MAX_HEAD + FRONT_MAX_BODY + 16 * 1024)
/* Answers waiting for a slow reader beyond this stop the parsing of more. */
#define OUT_LIMIT (256 * 1024)
#define RAW_CHUNK (64 * 1024)
#define MAX_EVENTS 256

enum { MODE_PARSE, MODE_RAW };

typedef struct conn {
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
    struct conn *next_waiting;
    struct conn *next_dead;
} conn;

typedef struct command {
    uint64_t conn;
    int kind;
    uint8_t *data;
    size_t len;
    struct command *next;
} command;

struct seamless_front {
    seamless_front_config cfg;
    int ep, cmd_fd, event_fd;
    seamless_sqlite sql;
    sqlite3 *db;
    sqlite3_stmt *get, *insert, *reverse, *begin, *commit, *rollback;
    conn **conns; /* by descriptor */
    size_t conns_cap, live;
    uint32_t generation;
    int listening;
    int64_t accept_again_ms;
    /* Commands from Python, events to Python. */
    pthread_mutex_t lock;
    command *cmd_head, *cmd_tail;
    seamless_front_event *events;
    size_t events_len, events_cap;
    /* Stopping. */
    atomic_int stopping;
    atomic_int grace_ms;
    int64_t deadline_ms;
    /* The turn's transaction. */
    int in_txn;
    uint64_t txn_changes;
    conn *waiting_head;
    conn *committed_head;
    conn *dead_head;
    /* Statistics. */
    atomic_uint_fast64_t answered, forwarded, changes;
    /* The Date header, once a second. */
    char date[48];
    time_t date_second;
    int64_t now_ms;
    int64_t swept_ms;
};

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void refresh_date(seamless_front *f) {
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    if (now == f->date_second)
        return;
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(f->date, sizeof f->date, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", days[tm.tm_wday],
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    f->date_second = now;
}

/* ---- events to Python ----------------------------------------------------- */

static int push_event(seamless_front *f, conn *c, int kind, const uint8_t *data, size_t len) {
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return SEAMLESS_ERR_NOMEM;
        memcpy(copy, data, len);
    }
    pthread_mutex_lock(&f->lock);
    if (f->events_len == f->events_cap) {
        size_t cap = f->events_cap ? f->events_cap * 2 : 64;
        seamless_front_event *grown = realloc(f->events, cap * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&f->lock);
            free(copy);
            return SEAMLESS_ERR_NOMEM;
        }
        f->events = grown;
        f->events_cap = cap;
    }
    int signal = f->events_len == 0;
    f->events[f->events_len++] = (seamless_front_event){.conn = c->id, .kind = kind, .data = copy, .len = len};
    pthread_mutex_unlock(&f->lock);
    c->known = 1;
    if (signal) {
        uint64_t one = 1;
        ssize_t w = write(f->event_fd, &one, sizeof one);
        (void)w; /* EAGAIN: the counter is already non-zero */
    }
    return SEAMLESS_OK;
}

/* ---- connections ------------------------------------------------------------ */

static void want(seamless_front *f, conn *c) {
    uint32_t events = 0;
    size_t pending_out = c->out_len - c->out_off;
    if (!c->eof && !c->paused && !c->dead && pending_out < OUT_LIMIT &&
        (c->mode == MODE_RAW || c->in_len < IN_LIMIT))
        events |= EPOLLIN;
    if (pending_out)
        events |= EPOLLOUT;
    if (events != c->events && !c->dead) {
        struct epoll_event ev = {.events = events, .data.ptr = c};
        epoll_ctl(f->ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->events = events;
    }
}

static void kill_conn(seamless_front *f, conn *c, int reset) {
    if (c->dead)
        return;
    c->dead = 1;
    c->reset = reset;
    c->next_dead = f->dead_head;
    f->dead_head = c;
}

static void close_conn(seamless_front *f, conn *c) {
    epoll_ctl(f->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->reset) {
        struct linger linger = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    }
    close(c->fd);
    if (c->known)
        push_event(f, c, SEAMLESS_FRONT_CLOSED, NULL, 0);
    f->conns[c->fd] = NULL;
    f->live--;
    free(c->in);
    free(c->out);
    free(c->waiting_request);
    free(c);
}

static int ensure(uint8_t **buf, size_t *cap, size_t need) {
    if (need <= *cap)
        return 0;
    size_t grown = *cap ? *cap : 4096;
    while (grown < need)
        grown *= 2;
    uint8_t *p = realloc(*buf, grown);
    if (!p)
        return -1;
    *buf = p;
    *cap = grown;
    return 0;
}

static void flush(seamless_front *f, conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            c->write_ms = c->last_ms = f->now_ms;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        kill_conn(f, c, 1);
        return;
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        if (c->out_cap > OUT_LIMIT) { /* a large answer went out: do not keep its room */
            free(c->out);
            c->out = NULL;
            c->out_cap = 0;
        }
        if (c->closing && !c->waiting) /* a write's OK is still to come */
            kill_conn(f, c, 0);
    }
}

static int append_out(conn *c, const void *data, size_t len) {
    if (!c->out_len)
        c->out_off = 0;
    if (ensure(&c->out, &c->out_cap, c->out_len + len))
        return -1;
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return 0;
}

/* An answer as the Python server words it (messages.Response.head). */
static void respond(seamless_front *f, conn *c, int status, const char *body, size_t body_len,
                    int keep_alive) {
    const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Request Timeout";
    if (!c->out_len)
        c->write_ms = f->now_ms;
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n%s%s\r\n",
                     status, reason, body_len, keep_alive ? "" : "Connection: close\r\n", f->date);
    if (append_out(c, head, (size_t)n) || append_out(c, body, body_len)) {
        kill_conn(f, c, 1);
        return;
    }
    atomic_fetch_add(&f->answered, 1);
    if (!keep_alive) {
        c->no_more = 1;
        c->closing = 1;
    }
}

static void forward(seamless_front *f, conn *c, const uint8_t *request, size_t len, int keep_alive) {
    if (push_event(f, c, SEAMLESS_FRONT_REQUEST, request, len) != SEAMLESS_OK) {
        kill_conn(f, c, 1);
        return;
    }
    c->outstanding++;
    atomic_fetch_add(&f->forwarded, 1);
    if (!keep_alive)
        c->no_more = 1; /* Python answers it and closes */
}

static void consume(conn *c, size_t len) {
    memmove(c->in, c->in + len, c->in_len - len);
    c->in_len -= len;
}

/* From now on the connection's bytes are Python's, as they arrive. */
static void go_raw(seamless_front *f, conn *c) {
    c->mode = MODE_RAW;
    c->partial_ms = 0;
    if (push_event(f, c, SEAMLESS_FRONT_RAW, c->in, c->in_len) != SEAMLESS_OK) {
        kill_conn(f, c, 1);
        return;
    }
    c->in_len = 0;
    if (c->eof)
        push_event(f, c, SEAMLESS_FRONT_EOF, NULL, 0);
}

/* ---- SQLite ------------------------------------------------------------------ */

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
static int answer_get(seamless_front *f, conn *c, const seamless_front_request *req) {
    f->sql.bind_text(f->get, 1, (const char *)req->checksum, 64, NULL);
    int rc = f->sql.step(f->get);
    int done = 1;
    if (rc == FRONT_SQLITE_ROW) {
        const uint8_t *text = f->sql.column_text(f->get, 0);
        int n = f->sql.column_bytes(f->get, 0);
        if (text && n == 64 && seamless_front_is_hex64(text, 64))
            respond(f, c, 200, (const char *)text, 64, req->keep_alive);
        else
            done = 0; /* a stored value Python normalizes (or refuses) */
    } else if (rc == FRONT_SQLITE_DONE) {
        respond(f, c, 404, "ERROR: Unknown key", 18, req->keep_alive);
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
    conn *c = f->waiting_head;
    f->waiting_head = NULL;
    while (c) {
        conn *next = c->next_waiting;
        c->waiting = 0;
        if (!c->dead && committed) {
            respond(f, c, 200, "OK", 2, c->waiting_keep_alive);
            c->committed = 1; /* on one list at a time: not parsed until finish_turn takes it */
            c->next_waiting = f->committed_head;
            f->committed_head = c;
        } else if (!c->dead) {
            forward(f, c, c->waiting_request, c->waiting_len, c->waiting_keep_alive);
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
static int write_record(seamless_front *f, conn *c, const seamless_front_request *req,
                        const uint8_t *request, size_t len) {
    if (!f->in_txn) {
        if (step_once(f, f->begin) != FRONT_SQLITE_DONE)
            return 0;
        f->in_txn = 1;
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
    c->waiting = 1;
    c->waiting_keep_alive = req->keep_alive;
    c->next_waiting = f->waiting_head;
    f->waiting_head = c;
    return 1;
}

/* ---- serving a connection's input ------------------------------------------- */

static void commit(seamless_front *f);

static void serve(seamless_front *f, conn *c) {
    size_t off = 0; /* taken from c->in so far (removed once, at the end) */
    while (!c->dead && c->mode == MODE_PARSE && !c->no_more && !c->waiting && !c->committed &&
           c->out_len - c->out_off < OUT_LIMIT) {
        while (off + 1 < c->in_len && c->in[off] == '\r' && c->in[off + 1] == '\n')
            off += 2; /* empty lines between requests */
        if (off == c->in_len) {
            c->partial_ms = 0;
            break;
        }
        const uint8_t *start = c->in + off;
        seamless_front_request req;
        int verdict = seamless_front_classify(start, c->in_len - off, &req);
        if (verdict == FRONT_NEED_MORE) {
            if (!c->partial_ms)
                c->partial_ms = f->now_ms;
            break;
        }
        c->partial_ms = 0;
        if (verdict == FRONT_RAW) {
            consume(c, off);
            off = 0;
            go_raw(f, c);
            break;
        }
        size_t total = req.head_len + req.body_len;
        int answered = 0;
        if (verdict == FRONT_HOT_GET && !c->outstanding) {
            commit(f); /* a lookup sees committed records only */
            answered = answer_get(f, c, &req);
        } else if (verdict == FRONT_HOT_PUT && !c->outstanding && f->cfg.writes) {
            answered = write_record(f, c, &req, start, total);
        }
        if (!answered)
            forward(f, c, start, total, req.keep_alive);
        off += total;
    }
    if (off)
        consume(c, off);
    if (c->dead || c->mode != MODE_PARSE)
        return;
    /* A client that sent everything gets its answers, then the close. */
    if (c->eof && !c->outstanding && !c->waiting && (c->no_more || !c->in_len || c->partial_ms)) {
        c->closing = 1;
        if (c->out_off == c->out_len)
            kill_conn(f, c, 0);
    }
}

static void read_input(seamless_front *f, conn *c) {
    for (int rounds = 0; rounds < 8 && !c->dead && !c->eof && !c->paused; rounds++) {
        ssize_t n;
        if (c->mode == MODE_RAW) {
            uint8_t chunk[RAW_CHUNK];
            n = recv(c->fd, chunk, sizeof chunk, 0);
            if (n > 0) {
                c->last_ms = f->now_ms;
                if (push_event(f, c, SEAMLESS_FRONT_RAW, chunk, (size_t)n) != SEAMLESS_OK)
                    kill_conn(f, c, 1);
                continue;
            }
        } else {
            if (c->in_len >= IN_LIMIT)
                break;
            if (ensure(&c->in, &c->in_cap, c->in_len + 16384)) {
                kill_conn(f, c, 1);
                break;
            }
            size_t room = c->in_cap - c->in_len;
            if (room > IN_LIMIT - c->in_len)
                room = IN_LIMIT - c->in_len;
            n = recv(c->fd, c->in + c->in_len, room, 0);
            if (n > 0) {
                c->last_ms = f->now_ms;
                c->in_len += (size_t)n;
                if ((size_t)n < room)
                    break;
                continue;
            }
        }
        if (n == 0) {
            c->eof = 1;
            if (c->mode == MODE_RAW)
                push_event(f, c, SEAMLESS_FRONT_EOF, NULL, 0);
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            kill_conn(f, c, 1);
        break;
    }
}

static void accept_all(seamless_front *f) {
    for (int i = 0; i < 64; i++) {
        int fd = accept4(f->cfg.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: try again in a moment, not in a spin. */
                epoll_ctl(f->ep, EPOLL_CTL_DEL, f->cfg.listen_fd, NULL);
                f->listening = 0;
                f->accept_again_ms = f->now_ms + 100;
            }
            return;
        }
        if ((size_t)fd >= f->conns_cap) {
            size_t cap = f->conns_cap * 2;
            while (cap <= (size_t)fd)
                cap *= 2;
            conn **grown = realloc(f->conns, cap * sizeof *grown);
            if (!grown) {
                close(fd);
                continue;
            }
            memset(grown + f->conns_cap, 0, (cap - f->conns_cap) * sizeof *grown);
            f->conns = grown;
            f->conns_cap = cap;
        }
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->id = ((uint64_t)++f->generation << 32) | (uint32_t)fd;
        c->last_ms = f->now_ms;
        c->events = EPOLLIN;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev)) {
            close(fd);
            free(c);
            continue;
        }
        f->conns[fd] = c;
        f->live++;
    }
}

/* Parse what the connection holds, send what it owes, listen as it may. */
static void go_on(seamless_front *f, conn *c) {
    if (!c->dead)
        serve(f, c);
    if (!c->dead)
        flush(f, c);
    if (!c->dead)
        want(f, c);
}

/* ---- the turn's end: commit, closes --------------------------------------------- */

/* Commit the turn's writes and answer them (their connections then go on
 * in finish_turn), or hand them all to Python if the COMMIT fails. */
static void commit(seamless_front *f) {
    if (!f->in_txn)
        return;
    if (step_once(f, f->commit) != FRONT_SQLITE_DONE) {
        abandon_batch(f);
        return;
    }
    f->in_txn = 0;
    atomic_fetch_add(&f->changes, f->txn_changes);
    f->txn_changes = 0;
    settle_waiting(f, 1);
}

static void finish_turn(seamless_front *f) {
    commit(f);
    while (f->committed_head) { /* answers out, then what the clients sent after */
        conn *c = f->committed_head;
        f->committed_head = c->next_waiting;
        c->committed = 0;
        go_on(f, c);
        if (!f->committed_head)
            commit(f);
    }
    while (f->dead_head) {
        conn *c = f->dead_head;
        f->dead_head = c->next_dead;
        close_conn(f, c);
    }
}

/* ---- commands from Python ------------------------------------------------------- */

static conn *lookup(seamless_front *f, uint64_t id) {
    size_t fd = (uint32_t)id;
    if (fd >= f->conns_cap || !f->conns[fd] || f->conns[fd]->id != id)
        return NULL;
    return f->conns[fd];
}

static void run_commands(seamless_front *f) {
    uint64_t count;
    ssize_t r = read(f->cmd_fd, &count, sizeof count);
    (void)r;
    pthread_mutex_lock(&f->lock);
    command *cmd = f->cmd_head;
    f->cmd_head = f->cmd_tail = NULL;
    pthread_mutex_unlock(&f->lock);
    while (cmd) {
        command *next = cmd->next;
        conn *c = lookup(f, cmd->conn);
        if (c && !c->dead) {
            switch (cmd->kind) {
            case SEAMLESS_FRONT_SEND:
                if (!c->out_len)
                    c->write_ms = f->now_ms;
                if (append_out(c, cmd->data, cmd->len))
                    kill_conn(f, c, 1);
                break;
            case SEAMLESS_FRONT_DONE:
                if (c->outstanding)
                    c->outstanding--;
                break;
            case SEAMLESS_FRONT_CLOSE:
                c->closing = c->no_more = 1;
                break;
            case SEAMLESS_FRONT_ABORT:
                kill_conn(f, c, 1);
                break;
            case SEAMLESS_FRONT_PAUSE:
                c->paused = 1;
                break;
            case SEAMLESS_FRONT_RESUME:
                c->paused = 0;
                break;
            default:
                break;
            }
            go_on(f, c);
        }
        free(cmd->data);
        free(cmd);
        cmd = next;
    }
}

/* ---- upkeep ---------------------------------------------------------------------- */

/* Whether the connection's input is the start of a head, nothing more. */
static int head_incomplete(const conn *c) {
    seamless_front_request req;
    return c->partial_ms && seamless_front_classify(c->in, c->in_len, &req) == FRONT_NEED_MORE && !req.head_len;
}

static void sweep(seamless_front *f) {
    int64_t now = f->now_ms;
    for (size_t fd = 0; fd < f->conns_cap; fd++) {
        conn *c = f->conns[fd];
        if (!c || c->dead)
            continue;
        if (c->out_off < c->out_len) {
            if (now - c->write_ms > f->cfg.write_timeout_ms)
                kill_conn(f, c, 1); /* a client that stopped reading */
            continue;
        }
        if (c->mode != MODE_PARSE || c->outstanding || c->waiting)
            continue; /* Python's, or busy */
        if (c->partial_ms) {
            if (!head_incomplete(c)) { /* the head is here; the body stalls */
                if (now - c->last_ms > f->cfg.body_timeout_ms)
                    kill_conn(f, c, 1);
            } else if (now - c->partial_ms > f->cfg.head_timeout_ms) {
                respond(f, c, 408, "Request timeout", 15, 0);
                flush(f, c);
                if (!c->dead)
                    want(f, c);
            }
        } else if (now - c->last_ms > f->cfg.idle_timeout_ms) {
            kill_conn(f, c, 0);
        }
    }
}

/* While stopping: idle connections close now (those in the middle of a
 * head too, as the Python server's do), the rest when done. */
static void drain(seamless_front *f) {
    if (f->listening) {
        epoll_ctl(f->ep, EPOLL_CTL_DEL, f->cfg.listen_fd, NULL);
        f->listening = 0;
    }
    for (size_t fd = 0; fd < f->conns_cap; fd++) {
        conn *c = f->conns[fd];
        if (!c || c->dead)
            continue;
        int idle = c->mode == MODE_PARSE && !c->outstanding && !c->waiting && c->out_off == c->out_len &&
                   (!c->partial_ms || head_incomplete(c));
        if (idle || f->now_ms >= f->deadline_ms)
            kill_conn(f, c, !idle);
        else
            c->no_more = 1;
    }
}

/* One batch of epoll events: accept, commands, input and answers. */
static void handle_events(seamless_front *f, const struct epoll_event *events, int n) {
    for (int i = 0; i < n; i++) {
        void *ptr = events[i].data.ptr;
        if (ptr == &f->cfg.listen_fd) {
            accept_all(f);
            continue;
        }
        if (ptr == &f->cmd_fd) {
            run_commands(f);
            continue;
        }
        conn *c = ptr;
        if (c->dead)
            continue;
        if ((events[i].events & EPOLLERR) || ((events[i].events & EPOLLHUP) && c->eof)) {
            kill_conn(f, c, 1); /* gone both ways: nothing can reach it */
            continue;
        }
        if (events[i].events & EPOLLOUT)
            flush(f, c);
        if (!c->dead && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            read_input(f, c);
        go_on(f, c);
    }
}

int seamless_front_run(seamless_front *f) {
    struct epoll_event events[MAX_EVENTS];
    int stopping = 0;
    for (;;) {
        int n = epoll_wait(f->ep, events, MAX_EVENTS, 0);
        if (n == 0 && f->cfg.spin_us > 0 && !stopping) {
            /* Poll a little before sleeping: a client's next request
             * usually comes within microseconds of its answer, and is then
             * read without waking a sleeping thread. */
            int64_t until = monotonic_us() + f->cfg.spin_us;
            while (n == 0 && monotonic_us() < until)
                n = epoll_wait(f->ep, events, MAX_EVENTS, 0);
        }
        if (n == 0)
            n = epoll_wait(f->ep, events, MAX_EVENTS, stopping ? 20 : 1000);
        if (n < 0 && errno != EINTR)
            return SEAMLESS_ERR_OS;
        f->now_ms = monotonic_ms();
        refresh_date(f);
        handle_events(f, events, n);
        /* Writes wait for the COMMIT: first take in what else has arrived
         * meanwhile, so that more writes share it (group commit). */
        for (int more = 0; f->in_txn && more < 8; more++) {
            n = epoll_wait(f->ep, events, MAX_EVENTS, 0);
            if (n <= 0)
                break;
            handle_events(f, events, n);
        }
        finish_turn(f);
        if (!f->listening && !stopping && f->now_ms >= f->accept_again_ms) {
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &f->cfg.listen_fd};
            if (!epoll_ctl(f->ep, EPOLL_CTL_ADD, f->cfg.listen_fd, &ev))
                f->listening = 1;
        }
        if (!stopping && atomic_load(&f->stopping)) {
            stopping = 1;
            f->deadline_ms = f->now_ms + atomic_load(&f->grace_ms);
        }
        if (stopping) {
            drain(f);
            finish_turn(f);
            if (!f->live)
                return SEAMLESS_OK;
        } else if (f->now_ms - f->swept_ms >= 1000) {
            f->swept_ms = f->now_ms;
            sweep(f);
            finish_turn(f);
        }
    }
}

/* ---- the API ------------------------------------------------------------------------ */

static int prepare(seamless_front *f, const char *sql, sqlite3_stmt **out) {
    return f->sql.prepare_v2(f->db, sql, -1, out, NULL) == FRONT_SQLITE_OK ? 0 : -1;
}

/* The statements are the ones of seamless/database/sql.py and store.py. */
static int open_database(seamless_front *f, char *message, size_t message_size) {
    int flags = (f->cfg.readonly ? FRONT_SQLITE_OPEN_READONLY : FRONT_SQLITE_OPEN_READWRITE) |
                FRONT_SQLITE_OPEN_NOMUTEX;
    if (f->sql.open_v2(f->cfg.database, &f->db, flags, NULL) != FRONT_SQLITE_OK) {
        snprintf(message, message_size, "cannot open %s: %s", f->cfg.database,
                 f->db ? f->sql.errmsg(f->db) : "out of memory");
        return -1;
    }
    f->sql.busy_timeout(f->db, 0); /* never wait: a busy lock sends the request to Python */
    static const char *const pragmas =
        "PRAGMA cache_size=-64000; PRAGMA mmap_size=268435456; PRAGMA synchronous=NORMAL; "
        "PRAGMA wal_autocheckpoint=20000;";
    if (f->sql.exec(f->db, pragmas, NULL, NULL, NULL) != FRONT_SQLITE_OK ||
        prepare(f, "SELECT \"result\" FROM \"transformation\" WHERE \"checksum\" = ?", &f->get) ||
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
    return 0;
}

static void close_database(seamless_front *f) {
    sqlite3_stmt *statements[] = {f->get, f->insert, f->reverse, f->begin, f->commit, f->rollback};
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++)
        if (statements[i])
            f->sql.finalize(statements[i]);
    if (f->db)
        f->sql.close_v2(f->db);
    f->db = NULL;
}

int seamless_front_new(const seamless_front_config *cfg, seamless_front **out, char *message,
                       size_t message_size) {
    if (!cfg || !out || !cfg->database || cfg->listen_fd < 0)
        return SEAMLESS_ERR_ARGUMENT;
    *out = NULL;
    seamless_front *f = calloc(1, sizeof *f);
    if (!f)
        return SEAMLESS_ERR_NOMEM;
    f->cfg = *cfg;
    f->cfg.writes = cfg->writes && !cfg->readonly;
    f->ep = f->cmd_fd = f->event_fd = -1;
    pthread_mutex_init(&f->lock, NULL);
    int rc = seamless_sqlite_load(cfg->sqlite_library, &f->sql, message, message_size);
    if (rc != SEAMLESS_OK) {
        seamless_front_free(f);
        return rc;
    }
    if (open_database(f, message, message_size)) {
        seamless_front_free(f);
        return SEAMLESS_ERR_OS;
    }
    f->conns_cap = 1024;
    f->conns = calloc(f->conns_cap, sizeof *f->conns);
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    f->cmd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    f->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int flags = fcntl(cfg->listen_fd, F_GETFL);
    struct epoll_event listen_ev = {.events = EPOLLIN, .data.ptr = &f->cfg.listen_fd};
    struct epoll_event cmd_ev = {.events = EPOLLIN, .data.ptr = &f->cmd_fd};
    if (!f->conns || f->ep < 0 || f->cmd_fd < 0 || f->event_fd < 0 || flags < 0 ||
        fcntl(cfg->listen_fd, F_SETFL, flags | O_NONBLOCK) ||
        epoll_ctl(f->ep, EPOLL_CTL_ADD, cfg->listen_fd, &listen_ev) ||
        epoll_ctl(f->ep, EPOLL_CTL_ADD, f->cmd_fd, &cmd_ev)) {
        snprintf(message, message_size, "cannot set up the front's event loop: %s", strerror(errno));
        seamless_front_free(f);
        return SEAMLESS_ERR_OS;
    }
    f->listening = 1;
    f->now_ms = f->swept_ms = monotonic_ms();
    refresh_date(f);
    *out = f;
    return SEAMLESS_OK;
}

void seamless_front_stop(seamless_front *f, int grace_ms) {
    atomic_store(&f->grace_ms, grace_ms < 0 ? 0 : grace_ms);
    atomic_store(&f->stopping, 1);
    uint64_t one = 1;
    ssize_t w = write(f->cmd_fd, &one, sizeof one);
    (void)w;
}

void seamless_front_free(seamless_front *f) {
    if (!f)
        return;
    for (size_t fd = 0; fd < f->conns_cap && f->conns; fd++) {
        conn *c = f->conns[fd];
        if (c) {
            close(c->fd);
            free(c->in);
            free(c->out);
            free(c->waiting_request);
            free(c);
        }
    }
    free(f->conns);
    while (f->cmd_head) {
        command *next = f->cmd_head->next;
        free(f->cmd_head->data);
        free(f->cmd_head);
        f->cmd_head = next;
    }
    seamless_front_release(f->events, f->events_len);
    free(f->events);
    close_database(f);
    seamless_sqlite_unload(&f->sql);
    int fds[] = {f->ep, f->cmd_fd, f->event_fd};
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

int seamless_front_event_fd(const seamless_front *f) {
    return f->event_fd;
}

size_t seamless_front_events(seamless_front *f, seamless_front_event *out, size_t max) {
    uint64_t count;
    ssize_t r = read(f->event_fd, &count, sizeof count);
    (void)r;
    pthread_mutex_lock(&f->lock);
    size_t n = f->events_len < max ? f->events_len : max;
    memcpy(out, f->events, n * sizeof *out);
    memmove(f->events, f->events + n, (f->events_len - n) * sizeof *out);
    f->events_len -= n;
    int more = f->events_len > 0;
    pthread_mutex_unlock(&f->lock);
    if (more) { /* the caller stops at max: keep the descriptor readable */
        uint64_t one = 1;
        ssize_t w = write(f->event_fd, &one, sizeof one);
        (void)w;
    }
    return n;
}

void seamless_front_release(seamless_front_event *events, size_t count) {
    for (size_t i = 0; events && i < count; i++) {
        free(events[i].data);
        events[i].data = NULL;
    }
}

int seamless_front_command(seamless_front *f, uint64_t conn_id, int kind, const uint8_t *data, size_t len) {
    command *cmd = calloc(1, sizeof *cmd);
    if (!cmd)
        return SEAMLESS_ERR_NOMEM;
    if (len) {
        cmd->data = malloc(len);
        if (!cmd->data) {
            free(cmd);
            return SEAMLESS_ERR_NOMEM;
        }
        memcpy(cmd->data, data, len);
    }
    cmd->conn = conn_id;
    cmd->kind = kind;
    cmd->len = len;
    pthread_mutex_lock(&f->lock);
    int signal = f->cmd_head == NULL;
    if (f->cmd_tail)
        f->cmd_tail->next = cmd;
    else
        f->cmd_head = cmd;
    f->cmd_tail = cmd;
    pthread_mutex_unlock(&f->lock);
    if (signal) {
        uint64_t one = 1;
        ssize_t w = write(f->cmd_fd, &one, sizeof one);
        (void)w;
    }
    return SEAMLESS_OK;
}

void seamless_front_stats(const seamless_front *f, uint64_t *answered, uint64_t *forwarded, uint64_t *changes) {
    *answered = atomic_load(&f->answered);
    *forwarded = atomic_load(&f->forwarded);
    *changes = atomic_load(&f->changes);
}
