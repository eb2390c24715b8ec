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
 * in WAL mode readers do not block; a lookup of a record the front wrote
 * or read before is answered from its memory while nobody has committed
 * since (front_cache.c).
 *
 * Timeouts mirror the Python server's: an incomplete head is answered 408,
 * a stalled body or a client that stops reading is dropped, an idle
 * keep-alive connection is closed.
 *
 * This file is the loop and its connections; the records (SQLite) are
 * front_records.c's, their memory front_cache.c's, the queues with Python
 * front_bridge.c's, and the choice of what to answer front_request.c's.
 */
#define _GNU_SOURCE

#include "front_impl.h"
#include "seamless_native_impl.h"

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

typedef front_conn conn;
typedef front_command command;

/* Input kept for a connection (pipelined requests beyond it wait in the socket). */
#define IN_LIMIT (FRONT_MAX_HEAD + FRONT_MAX_BODY + 16 * 1024)
/* Answers waiting for a slow reader beyond this stop the parsing of more. */
#define OUT_LIMIT (256 * 1024)
#define RAW_CHUNK (64 * 1024)
#define MAX_EVENTS 256

static int64_t monotonic_ms(void) {
    return seamless_monotonic_us() / 1000;
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

/* ---- connections ------------------------------------------------------------ */

static void want(seamless_front *f, conn *c) {
    uint32_t events = 0;
    size_t pending_out = c->out_len - c->out_off;
    if (!c->eof && !c->paused && !c->dead && pending_out < OUT_LIMIT &&
        (c->mode == FRONT_MODE_RAW || c->in_len < IN_LIMIT))
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
        front_push_event(f, c, SEAMLESS_FRONT_CLOSED, NULL, 0);
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
void front_respond(seamless_front *f, conn *c, int status, const char *body, size_t body_len,
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

void front_forward(seamless_front *f, conn *c, const uint8_t *request, size_t len, int keep_alive) {
    if (front_push_event(f, c, SEAMLESS_FRONT_REQUEST, request, len) != SEAMLESS_OK) {
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
    c->mode = FRONT_MODE_RAW;
    c->partial_ms = 0;
    if (front_push_event(f, c, SEAMLESS_FRONT_RAW, c->in, c->in_len) != SEAMLESS_OK) {
        kill_conn(f, c, 1);
        return;
    }
    c->in_len = 0;
    if (c->eof)
        front_push_event(f, c, SEAMLESS_FRONT_EOF, NULL, 0);
}

/* ---- serving a connection's input ------------------------------------------- */

void front_commit(seamless_front *f);

static void serve(seamless_front *f, conn *c) {
    size_t off = 0; /* taken from c->in so far (removed once, at the end) */
    while (!c->dead && c->mode == FRONT_MODE_PARSE && !c->no_more && !c->waiting && !c->committed &&
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
            front_commit(f); /* a lookup sees committed records only */
            answered = front_answer_get(f, c, &req);
        } else if (verdict == FRONT_HOT_PUT && !c->outstanding && f->cfg.writes) {
            answered = front_write_record(f, c, &req, start, total);
        }
        if (!answered)
            front_forward(f, c, start, total, req.keep_alive);
        off += total;
    }
    if (off)
        consume(c, off);
    if (c->dead || c->mode != FRONT_MODE_PARSE)
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
        if (c->mode == FRONT_MODE_RAW) {
            uint8_t chunk[RAW_CHUNK];
            n = recv(c->fd, chunk, sizeof chunk, 0);
            if (n > 0) {
                c->last_ms = f->now_ms;
                if (front_push_event(f, c, SEAMLESS_FRONT_RAW, chunk, (size_t)n) != SEAMLESS_OK)
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
            if (c->mode == FRONT_MODE_RAW)
                front_push_event(f, c, SEAMLESS_FRONT_EOF, NULL, 0);
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

static void finish_turn(seamless_front *f) {
    front_commit(f);
    while (f->committed_head) { /* answers out, then what the clients sent after */
        conn *c = f->committed_head;
        f->committed_head = c->next_waiting;
        c->committed = 0;
        go_on(f, c);
        if (!f->committed_head)
            front_commit(f);
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
    command *cmd = front_take_commands(f);
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
        if (c->mode != FRONT_MODE_PARSE || c->outstanding || c->waiting)
            continue; /* Python's, or busy */
        if (c->partial_ms) {
            if (!head_incomplete(c)) { /* the head is here; the body stalls */
                if (now - c->last_ms > f->cfg.body_timeout_ms)
                    kill_conn(f, c, 1);
            } else if (now - c->partial_ms > f->cfg.head_timeout_ms) {
                front_respond(f, c, 408, "Request timeout", 15, 0);
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
        int idle = c->mode == FRONT_MODE_PARSE && !c->outstanding && !c->waiting && c->out_off == c->out_len &&
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
            int64_t until = seamless_monotonic_us() + f->cfg.spin_us;
            while (n == 0 && seamless_monotonic_us() < until)
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
    if (front_open_database(f, message, message_size)) {
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
    front_close_database(f);
    seamless_sqlite_unload(&f->sql);
    int fds[] = {f->ep, f->cmd_fd, f->event_fd};
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

