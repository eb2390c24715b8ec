/*
 * loadgen.c - the load generator of http_load.py, in C.
 *
 * A Python client spends 20-30 microseconds on each request, more than a
 * fast server does: it would measure itself. This one sends prebuilt
 * requests over keep-alive connections and reads only what it must of the
 * answers (status, Content-Length or the end of a chunked body), so the
 * server is what is measured. Both servers of a comparison get this same
 * client.
 *
 *   loadgen HOST PORT CONCURRENCY FILE
 *
 * FILE holds the requests, each as a 4-byte little-endian length and the
 * bytes. With CONCURRENCY connections, each sends its next request as soon
 * as its answer is in. Prints "SECONDS COUNT STATUS:N ..." on success.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    char *buf;
    size_t len, cap;
    long current; /* index of the request in flight, -1 if none */
} connection;

static const char **requests;
static size_t *lengths;
static long count, next_request;
static long statuses[600];

static void fail(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void send_all(int fd, const char *data, size_t len) {
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                poll(&p, 1, 1000);
                continue;
            }
            fail("send");
        }
        data += n;
        len -= (size_t)n;
    }
}

/* The length of the first whole answer in buf, or 0 if it is not all here. */
static size_t whole_answer(const char *buf, size_t len, int *status) {
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - buf) + 4;
    *status = atoi(buf + 9);
    size_t body = 0;
    for (const char *p = buf; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        p = nl + 1;
        if (!strncasecmp(p, "content-length:", 15)) {
            body = strtoul(p + 15, NULL, 10);
        } else if (!strncasecmp(p, "transfer-encoding:", 18)) {
            const char *last = memmem(buf + head - 2, len - head + 2, "\r\n0\r\n\r\n", 7);
            return last ? (size_t)(last - buf) + 7 : 0;
        }
    }
    return len >= head + body ? head + body : 0;
}

static void start_next(connection *c) {
    if (next_request >= count) {
        c->current = -1;
        return;
    }
    c->current = next_request++;
    send_all(c->fd, requests[c->current], lengths[c->current]);
}

/* Read what is there; 1 when the connection finished an answer. */
static int receive(connection *c) {
    if (c->cap - c->len < 65536) {
        c->cap = c->cap * 2 + 65536;
        c->buf = realloc(c->buf, c->cap);
        if (!c->buf)
            fail("realloc");
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n == 0) {
        fprintf(stderr, "loadgen: the server closed a connection\n");
        exit(1);
    }
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return 0;
        fail("recv");
    }
    c->len += (size_t)n;
    int done = 0, status;
    size_t used;
    while (c->current >= 0 && (used = whole_answer(c->buf, c->len, &status)) > 0) {
        statuses[status >= 0 && status < 600 ? status : 0]++;
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        start_next(c);
        done = 1;
    }
    return done;
}

static int connect_to(const char *host, const char *port) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, port, &hints, &res))
        fail("getaddrinfo");
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen))
        fail("connect");
    freeaddrinfo(res);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: loadgen HOST PORT CONCURRENCY FILE\n");
        return 2;
    }
    int concurrency = atoi(argv[3]);
    FILE *f = fopen(argv[4], "rb");
    if (!f || concurrency < 1)
        fail("the request file");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *all = malloc((size_t)size + 1);
    if (!all || fread(all, 1, (size_t)size, f) != (size_t)size)
        fail("read");
    fclose(f);
    for (long pos = 0; pos + 4 <= size; count++) {
        uint32_t n;
        memcpy(&n, all + pos, 4);
        pos += 4 + n;
    }
    requests = malloc(sizeof *requests * (size_t)(count + 1));
    lengths = malloc(sizeof *lengths * (size_t)(count + 1));
    for (long pos = 0, i = 0; i < count; i++) {
        uint32_t n;
        memcpy(&n, all + pos, 4);
        requests[i] = all + pos + 4;
        lengths[i] = n;
        pos += 4 + n;
    }
    connection *conns = calloc((size_t)concurrency, sizeof *conns);
    struct pollfd *polls = calloc((size_t)concurrency, sizeof *polls);
    for (int i = 0; i < concurrency; i++) {
        conns[i].fd = connect_to(argv[1], argv[2]);
        conns[i].current = -1;
        polls[i] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int busy = 0;
    for (int i = 0; i < concurrency; i++) {
        start_next(&conns[i]);
        busy += conns[i].current >= 0;
    }
    while (busy) {
        if (concurrency == 1) { /* one connection: a blocking read, no poll */
            receive(&conns[0]);
        } else if (poll(polls, (nfds_t)concurrency, -1) < 0) {
            if (errno != EINTR)
                fail("poll");
            continue;
        } else {
            for (int i = 0; i < concurrency; i++)
                if (polls[i].revents && conns[i].current >= 0)
                    receive(&conns[i]);
        }
        busy = 0;
        for (int i = 0; i < concurrency; i++)
            busy += conns[i].current >= 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.6f %ld", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, count);
    for (int s = 0; s < 600; s++)
        if (statuses[s])
            printf(" %d:%ld", s, statuses[s]);
    printf("\n");
    for (int i = 0; i < concurrency; i++)
        close(conns[i].fd);
    return 0;
}
