/*
 * support.h - what the C tests share: the CHECK macro (a failed condition
 * is reported with its place and a message, counted in the including
 * file's `failures`, and the test goes on), and a thread that writes a
 * buffer to a socket while the test reads the other end.
 */
#ifndef SEAMLESS_TESTS_SUPPORT_H
#define SEAMLESS_TESTS_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);               \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            failures++;                                                        \
        }                                                                      \
    } while (0)

/* What sender() writes: len bytes of data to fd, then (close_after) the
 * end of the sending side. */
typedef struct {
    int fd;
    const uint8_t *data;
    size_t len;
    bool close_after;
} sender_job;

/* A pthread start routine: write the whole job, or until the peer is gone. */
static inline void *sender(void *arg) {
    sender_job *job = arg;
    size_t done = 0;
    while (done < job->len) {
        ssize_t n = write(job->fd, job->data + done, job->len - done);
        if (n <= 0) {
            break;
        }
        done += (size_t)n;
    }
    if (job->close_after) {
        shutdown(job->fd, SHUT_WR);
    }
    return NULL;
}

#endif /* SEAMLESS_TESTS_SUPPORT_H */
