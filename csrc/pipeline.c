/*
 * pipeline.c - one pass over a source: hash it, and optionally write it.
 *
 * Used by file hashing (no destination) and by store writes (a temporary
 * file as destination). Each block is taken from the source (copied when
 * the source may change under us, read when it is a file, used in place
 * when it is immutable memory) and then both hashed and written, so what is
 * written is what is hashed. For large inputs a helper thread produces
 * blocks while the calling thread hashes them and a second one writes them:
 * the read and the write then cost little more than the hash.
 */
#define _GNU_SOURCE

#include "seamless_native_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK (1u << 20)
/* One block each for the reader, the hasher and the writer, and one spare.
 * More slots decouple the stages no better, and cost: a direct-I/O upload
 * of 1 GiB on this project's virtual machines ran at 69-74% of the disk's
 * own direct-write rate from 8 slots, at 80-88% from 4 or 3. Even a plain
 * loop of direct writes runs slower from eight buffers in turn than from
 * one or two there (why is not visible from inside the machine). See
 * docs/PERFORMANCE.md. */
#define SLOTS 4
/* Below this, a helper thread costs more than it saves. */
#define THREADED_MIN (4u << 20)
/* Slots are aligned for direct I/O (see write_all). */
#define SLOT_ALIGN 4096

static uint8_t *alloc_slots(size_t n) {
    void *p = NULL;
    return posix_memalign(&p, SLOT_ALIGN, n * BLOCK) == 0 ? p : NULL;
}

/* Make block number k available; returns its length (0 at the end) or -1. */
static int64_t produce(const seamless_source *src, uint64_t offset, uint8_t *slot,
                       const uint8_t **block, int *os_errno) {
    if (src->data != NULL) {
        if (offset >= src->len) {
            return 0;
        }
        size_t n = src->len - offset < BLOCK ? (size_t)(src->len - offset) : BLOCK;
        if (src->stable) {
            *block = src->data + offset;
        } else {
            memcpy(slot, src->data + offset, n);
            *block = slot;
        }
        return (int64_t)n;
    }
    *block = slot;
    if (src->stream) {
        if (offset >= src->len) {
            return 0;
        }
        size_t n = src->len - offset < BLOCK ? (size_t)(src->len - offset) : BLOCK;
        return seamless_read_stream(src, offset, slot, n, os_errno);
    }
    return seamless_read_full(src->fd, slot, BLOCK, -1, os_errno);
}

/* Write n bytes. A destination opened for direct I/O (O_DIRECT) takes only
 * aligned blocks: an unaligned one (the tail, or memory of the caller's)
 * is refused with EINVAL before anything is written, and the destination
 * then goes on without direct I/O. */
static int write_all(int fd, const uint8_t *p, size_t n, int *os_errno) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
#ifdef O_DIRECT
            if (errno == EINVAL) {
                int flags = fcntl(fd, F_GETFL);
                if (flags >= 0 && (flags & O_DIRECT) &&
                    fcntl(fd, F_SETFL, flags & ~O_DIRECT) == 0) {
                    continue;
                }
            }
#endif
            *os_errno = errno;
            return SEAMLESS_ERR_OS;
        }
        p += w;
        n -= (size_t)w;
    }
    return SEAMLESS_OK;
}

/* ---- the copy: sequential, or a pipeline of threads -------------------- */

/* Block k lives in slot k % SLOTS. The producer (a helper thread) reads
 * block k once the slot's previous block has been both hashed and written;
 * the calling thread hashes the blocks in order; the writer (a second
 * helper, when there is a destination) writes them in order. So reading,
 * hashing and writing overlap: a socket is read while the previous block is
 * hashed and the one before it is on its way to the device. The counts only
 * grow; a block of length 0 ends the source, -1 is a read error. */
typedef struct {
    const seamless_source *src;
    int dst;
    uint8_t *slots;
    const uint8_t *block[SLOTS];
    int64_t len[SLOTS];
    unsigned produced; /* blocks made available, the end marker included */
    unsigned hashed;
    unsigned written;
    int rc;
    int os_errno;
    bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} pipe_state;

static unsigned slowest_consumer(const pipe_state *p) {
    return p->dst >= 0 && p->written < p->hashed ? p->written : p->hashed;
}

static void fail(pipe_state *p, int rc, int os_errno) {
    pthread_mutex_lock(&p->mu);
    if (p->rc == SEAMLESS_OK) {
        p->rc = rc;
        p->os_errno = os_errno;
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void *producer(void *arg) {
    pipe_state *p = arg;
    uint64_t offset = 0;
    for (unsigned k = 0;; k++) {
        unsigned s = k % SLOTS;
        pthread_mutex_lock(&p->mu);
        while (k - slowest_consumer(p) >= SLOTS && !p->stop && p->rc == SEAMLESS_OK) {
            pthread_cond_wait(&p->cv, &p->mu);
        }
        bool stop = p->stop || p->rc != SEAMLESS_OK;
        pthread_mutex_unlock(&p->mu);
        if (stop) {
            return NULL;
        }
        int err = 0;
        const uint8_t *block = NULL;
        int64_t n = produce(p->src, offset, p->slots + (size_t)s * BLOCK, &block, &err);
        pthread_mutex_lock(&p->mu);
        p->block[s] = block;
        p->len[s] = n;
        p->produced = k + 1;
        if (n < 0 && p->rc == SEAMLESS_OK) {
            p->rc = SEAMLESS_ERR_OS;
            p->os_errno = err;
        }
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (n <= 0) {
            return NULL;
        }
        offset += (uint64_t)n;
    }
}

/* Waits for block k; its length, or -1 once the copy failed or stops. */
static int64_t next_block(pipe_state *p, unsigned k, const uint8_t **block) {
    pthread_mutex_lock(&p->mu);
    while (p->produced <= k && p->rc == SEAMLESS_OK && !p->stop) {
        pthread_cond_wait(&p->cv, &p->mu);
    }
    int64_t n = p->produced > k && p->rc == SEAMLESS_OK ? p->len[k % SLOTS] : -1;
    *block = p->block[k % SLOTS];
    pthread_mutex_unlock(&p->mu);
    return n;
}

static void *writer(void *arg) {
    pipe_state *p = arg;
    for (unsigned k = 0;; k++) {
        const uint8_t *block = NULL;
        int64_t n = next_block(p, k, &block);
        if (n <= 0) {
            return NULL;
        }
        int err = 0;
        int rc = write_all(p->dst, block, (size_t)n, &err);
        if (rc != SEAMLESS_OK) {
            fail(p, rc, err);
            return NULL;
        }
        pthread_mutex_lock(&p->mu);
        p->written = k + 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static void stop_and_join(pipe_state *p, pthread_t thread) {
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(thread, NULL);
}

static int copy_threaded(const seamless_source *src, int dst, seamless_hasher *h,
                         uint64_t *total, int *os_errno) {
    pipe_state p;
    memset(&p, 0, sizeof(p));
    p.src = src;
    p.dst = dst;
    bool in_place = src->data != NULL && src->stable;
    p.slots = in_place ? NULL : alloc_slots(SLOTS);
    if (p.slots == NULL && !in_place) {
        return -1;
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    /* The writer first: if a thread cannot be made, nothing has been read
     * from the source yet, and the caller copies sequentially instead. */
    pthread_t writer_thread, producer_thread;
    int rc = -1;
    bool has_writer = dst >= 0 && pthread_create(&writer_thread, NULL, writer, &p) == 0;
    if (has_writer || dst < 0) {
        if (pthread_create(&producer_thread, NULL, producer, &p) == 0) {
            rc = SEAMLESS_OK;
        } else if (has_writer) {
            stop_and_join(&p, writer_thread);
        }
    }
    if (rc == SEAMLESS_OK) {
        for (unsigned k = 0;; k++) {
            const uint8_t *block = NULL;
            int64_t n = next_block(&p, k, &block);
            if (n <= 0) {
                break;
            }
            seamless_hasher_update(h, block, (size_t)n);
            *total += (uint64_t)n;
            pthread_mutex_lock(&p.mu);
            p.hashed = k + 1;
            pthread_cond_broadcast(&p.cv);
            pthread_mutex_unlock(&p.mu);
        }
        /* A failed copy of a stream: the reader may be waiting for bytes
         * that are no use any more (the caller drops the connection anyway);
         * ending the socket's receiving side wakes it at once. */
        if (p.rc != SEAMLESS_OK && src->stream) {
            (void)shutdown(src->fd, SHUT_RD);
        }
        /* The writer ends by itself after the last block (or an error):
         * wait for it before stopping anything, so every block is written. */
        if (has_writer) {
            pthread_join(writer_thread, NULL);
        }
        stop_and_join(&p, producer_thread);
        rc = p.rc;
        *os_errno = p.os_errno;
    }
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    free(p.slots);
    return rc;
}

static int copy_sequential(const seamless_source *src, int dst, seamless_hasher *h,
                           uint64_t *total, int *os_errno) {
    uint8_t *slot = NULL;
    if (!(src->data != NULL && src->stable)) {
        slot = alloc_slots(1);
        if (slot == NULL) {
            return SEAMLESS_ERR_NOMEM;
        }
    }
    int rc = SEAMLESS_OK;
    for (uint64_t offset = 0;;) {
        const uint8_t *block = NULL;
        int64_t n = produce(src, offset, slot, &block, os_errno);
        if (n < 0) {
            rc = SEAMLESS_ERR_OS;
            break;
        }
        if (n == 0) {
            break;
        }
        seamless_hasher_update(h, block, (size_t)n);
        if (dst >= 0) {
            rc = write_all(dst, block, (size_t)n, os_errno);
            if (rc != SEAMLESS_OK) {
                break;
            }
        }
        offset += (uint64_t)n;
        *total = offset;
    }
    free(slot);
    return rc;
}

int seamless_hash_and_copy(int algorithm, const seamless_source *src, int dst,
                           uint8_t *digest, uint64_t *total, int *os_errno) {
    seamless_hasher *h = NULL;
    int rc = seamless_hasher_new(algorithm, &h);
    if (rc != SEAMLESS_OK) {
        return rc;
    }
    *total = 0;
    uint64_t expected = src->data != NULL || src->stream ? src->len : 0;
    if (src->data == NULL && !src->stream) {
        struct stat st;
        if (fstat(src->fd, &st) == 0 && S_ISREG(st.st_mode)) {
            expected = (uint64_t)st.st_size;
        }
    }
    /* Direct I/O takes aligned memory only: memory of the caller's that is
     * not aligned goes through the (aligned) slots, copied block by block on
     * the helper thread, instead of being written in place. */
    seamless_source source = *src;
#ifdef O_DIRECT
    if (source.data != NULL && source.stable && dst >= 0 &&
        ((uintptr_t)source.data % SLOT_ALIGN) != 0) {
        int flags = fcntl(dst, F_GETFL);
        if (flags >= 0 && (flags & O_DIRECT)) {
            source.stable = false;
        }
    }
#endif
    rc = -1;
    if (!source.one_thread && expected >= THREADED_MIN && seamless_cpu_count() > 1) {
        rc = copy_threaded(&source, dst, h, total, os_errno);
    }
    if (rc == -1) { /* small input, one core, or no thread */
        *total = 0;
        rc = copy_sequential(&source, dst, h, total, os_errno);
    }
    if (rc == SEAMLESS_OK) {
        rc = seamless_hasher_digest(h, digest);
    }
    seamless_hasher_free(h);
    return rc;
}
