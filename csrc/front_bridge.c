/*
 * front_bridge.c - the front's two queues with Python: events (a request to
 * answer, bytes of a connection that is Python's, an end of input, a
 * closed connection) that the loop appends and Python takes, and commands
 * (bytes to send, a request answered, close, abort, pause, resume) that
 * Python appends and the loop takes. Each queue is guarded by the front's
 * mutex and signalled with an eventfd when it stops being empty, so a
 * burst costs one wake-up.
 */
#define _GNU_SOURCE

#include "front_impl.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int front_push_event(seamless_front *f, front_conn *c, int kind, const uint8_t *data, size_t len) {
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

int seamless_front_event_fd(const seamless_front *f) {
    return f->event_fd;
}

size_t seamless_front_events(seamless_front *f, seamless_front_event *out, size_t max) {
    uint64_t count;
    ssize_t r = read(f->event_fd, &count, sizeof count);
    (void)r;
    pthread_mutex_lock(&f->lock);
    size_t n = f->events_len < max ? f->events_len : max;
    if (n) { /* no event yet: no array either */
        memcpy(out, f->events, n * sizeof *out);
        memmove(f->events, f->events + n, (f->events_len - n) * sizeof *out);
        f->events_len -= n;
    }
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
    front_command *cmd = calloc(1, sizeof *cmd);
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

front_command *front_take_commands(seamless_front *f) {
    uint64_t count;
    ssize_t r = read(f->cmd_fd, &count, sizeof count); /* reset the signal first: nothing is missed */
    (void)r;
    pthread_mutex_lock(&f->lock);
    front_command *cmd = f->cmd_head;
    f->cmd_head = f->cmd_tail = NULL;
    pthread_mutex_unlock(&f->lock);
    return cmd;
}
