/*
 * stream.c - bytes of a socket or pipe, for a store write straight from it.
 *
 * A server that receives a large upload hands its socket to the store: the
 * store's pipeline then reads the body into its own aligned blocks on a
 * helper thread (another one writes them) while the calling thread hashes,
 * instead of the bytes passing through the event loop and two more copies.
 * The socket may be non-blocking (it belongs to an event loop): reads wait
 * with poll(). Exactly the announced length is read, never a byte of what
 * follows (a pipelined request stays in the socket for the server).
 *
 * A stream that ends early is ECONNRESET; one that stalls for stall_ms, or
 * delivers fewer than min_rate bytes per second over a window of stall_ms,
 * is ETIMEDOUT, so a client that trickles cannot hold a thread for long.
 */
#define _GNU_SOURCE

#include "seamless_native_impl.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

static int count_progress(const seamless_source *src, size_t n, int *os_errno) {
    seamless_stream_window *w = src->window;
    if (w == NULL) {
        return 0;
    }
    int64_t now = seamless_monotonic_us() / 1000;
    if (w->start_ms == 0) {
        w->start_ms = now;
    }
    w->bytes += n;
    if (src->stall_ms > 0 && now - w->start_ms > src->stall_ms) {
        uint64_t floor = (uint64_t)src->min_rate * (uint64_t)src->stall_ms / 1000;
        if (w->bytes < floor) {
            *os_errno = ETIMEDOUT;
            return -1;
        }
        w->start_ms = now;
        w->bytes = 0;
    }
    return 0;
}

int64_t seamless_read_stream(const seamless_source *src, uint64_t offset,
                             uint8_t *buf, size_t len, int *os_errno) {
    size_t done = 0;
    if (offset < src->prefix_len) {
        size_t k = src->prefix_len - (size_t)offset;
        k = k < len ? k : len;
        memcpy(buf, src->prefix + offset, k);
        done = k;
    }
    while (done < len) {
        ssize_t n = read(src->fd, buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            if (count_progress(src, (size_t)n, os_errno) != 0) {
                return -1;
            }
            continue;
        }
        if (n == 0) {
            *os_errno = ECONNRESET; /* the stream ended before its length */
            return -1;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *os_errno = errno;
            return -1;
        }
        struct pollfd p = {src->fd, POLLIN, 0};
        int ready = poll(&p, 1, src->stall_ms > 0 ? src->stall_ms : -1);
        if (ready == 0) {
            *os_errno = ETIMEDOUT;
            return -1;
        }
        if (ready < 0 && errno != EINTR) {
            *os_errno = errno;
            return -1;
        }
        if (count_progress(src, 0, os_errno) != 0) {
            return -1;
        }
    }
    return (int64_t)done;
}
