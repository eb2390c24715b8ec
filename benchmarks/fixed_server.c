/*
 * fixed_server.c - an HTTP server that does nothing: the round-trip ceiling.
 *
 * A sequential client waits for each answer, so its rate is bounded by the
 * round trip over loopback as much as by the server's work. This server
 * answers every request at once with the same short JSON text (no parsing
 * beyond the head's end and Content-Length, no database), and polls a
 * little for the next request before sleeping, as the database server's
 * front does. What a sequential client reaches against it is the most any
 * server can reach on this machine with that client.
 *
 *   fixed_server            prints the loopback port it listens on, then serves
 *
 * Ends on SIGTERM.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SPIN_US 50
#define MAX_IN (1024 * 1024) /* the largest request it takes */

static const char ANSWER[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 66\r\n\r\n"
                             "\"0000000000000000000000000000000000000000000000000000000000000000\"";

typedef struct {
    int fd;
    size_t len;
    char in[MAX_IN];
} connection;

static long long now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

/* The length of the first whole request in c->in, or 0 if it is not all here. */
static size_t whole_request(const connection *c) {
    const char *end = memmem(c->in, c->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - c->in) + 4;
    size_t body = 0;
    for (const char *p = c->in; p < end; p++) {
        if ((p == c->in || p[-1] == '\n') && strncasecmp(p, "Content-Length:", 15) == 0) {
            body = strtoul(p + 15, NULL, 10);
            break;
        }
    }
    return c->len >= head + body ? head + body : 0;
}

/* Reads what has arrived and answers each whole request; -1 when the connection is done. */
static int serve(connection *c) {
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->len, MAX_IN - c->len, 0);
        if (n == 0)
            return -1;
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->len += (size_t)n;
        size_t used;
        while ((used = whole_request(c)) > 0) {
            if (send(c->fd, ANSWER, sizeof ANSWER - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof ANSWER - 1))
                return -1;
            memmove(c->in, c->in + used, c->len - used);
            c->len -= used;
        }
        if (c->len == MAX_IN)
            return -1; /* a request larger than this server takes */
    }
}

int main(void) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t size = sizeof address;
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) || listen(listener, 128) ||
        getsockname(listener, (struct sockaddr *)&address, &size) || ep < 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev)) {
        perror("fixed_server");
        return 1;
    }
    printf("%d\n", ntohs(address.sin_port));
    fflush(stdout);
    struct epoll_event events[64];
    for (;;) {
        int n = epoll_wait(ep, events, 64, 0);
        for (long long until = now_us() + SPIN_US; n == 0 && now_us() < until;)
            n = epoll_wait(ep, events, 64, 0);
        if (n == 0)
            n = epoll_wait(ep, events, 64, -1);
        for (int i = 0; i < n; i++) {
            connection *c = events[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    connection *fresh = calloc(1, sizeof *fresh);
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = fresh};
                    if (!fresh || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev)) {
                        close(fd);
                        free(fresh);
                        continue;
                    }
                    fresh->fd = fd;
                }
            } else if (serve(c) < 0) {
                close(c->fd);
                free(c);
            }
        }
    }
}
