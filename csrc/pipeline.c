/*
 * pipeline.c - one pass over a source: hash it, and optionally write it.
 *
 * Used by file hashing (no destination) and by store writes (a temporary
 * file as destination). Each block is taken from the source (copied when
 * the source may change under us, read when it is a file, used in place
 * when it is immutable memory) and then both hashed and written, so what is
 * written is what is hashed. For large inputs a helper thread produces (and
 * writes) blocks while the calling thread hashes them: the read or write
 * then costs little more than the hash.
 */
#define _GNU_SOURCE

#include "seamless_native_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK (1u << 20)
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

/* ---- the copy: sequential, or with a producer/writer thread ------------ */

typedef struct {
    const seamless_source *src;
    int dst;
    uint8_t *slots;
    const uint8_t *block[SLOTS];
    int64_t len[SLOTS];
    bool produced[SLOTS];
    bool hashed[SLOTS];
    int rc;
    int os_errno;
    bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} pipe_state;

static void *producer_writer(void *arg) {
    pipe_state *p = arg;
    uint64_t offset = 0;
    for (unsigned k = 0;; k++) {
        unsigned s = k % SLOTS;
        pthread_mutex_lock(&p->mu);
        while (k >= SLOTS && !p->hashed[s] && !p->stop) {
            pthread_cond_wait(&p->cv, &p->mu);
        }
        bool stop = p->stop;
        p->hashed[s] = false;
        pthread_mutex_unlock(&p->mu);
        if (stop) {
            return NULL;
        }
        int err = 0;
        const uint8_t *block = NULL;
        int64_t n = produce(p->src, offset, p->slots + (size_t)s * BLOCK,
                            &block, &err);
        pthread_mutex_lock(&p->mu);
        p->block[s] = block;
        p->len[s] = n;
        p->produced[s] = true;
        if (n < 0) {
            p->rc = SEAMLESS_ERR_OS;
            p->os_errno = err;
        }
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (n <= 0) {
            return NULL;
        }
        offset += (uint64_t)n;
        int rc = p->dst >= 0 ? write_all(p->dst, block, (size_t)n, &err)
                             : SEAMLESS_OK;
        if (rc != SEAMLESS_OK) {
            pthread_mutex_lock(&p->mu);
            p->rc = rc;
            p->os_errno = err;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
    }
}

static int copy_threaded(const seamless_source *src, int dst, seamless_hasher *h,
                         uint64_t *total, int *os_errno) {
    pipe_state p;
    memset(&p, 0, sizeof(p));
    p.src = src;
    p.dst = dst;
    p.slots = (src->data != NULL && src->stable) ? NULL : alloc_slots(SLOTS);
    if (p.slots == NULL && !(src->data != NULL && src->stable)) {
        return -1;
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    pthread_t helper;
    if (pthread_create(&helper, NULL, producer_writer, &p) != 0) {
        pthread_cond_destroy(&p.cv);
        pthread_mutex_destroy(&p.mu);
        free(p.slots);
        return -1;
    }
    for (unsigned k = 0;; k++) {
        unsigned s = k % SLOTS;
        pthread_mutex_lock(&p.mu);
        while (!p.produced[s] && p.rc == SEAMLESS_OK) {
            pthread_cond_wait(&p.cv, &p.mu);
        }
        int64_t n = p.produced[s] ? p.len[s] : -1;
        const uint8_t *block = p.block[s];
        p.produced[s] = false;
        pthread_mutex_unlock(&p.mu);
        if (n <= 0) {
            break;
        }
        seamless_hasher_update(h, block, (size_t)n);
        *total += (uint64_t)n;
        pthread_mutex_lock(&p.mu);
        p.hashed[s] = true;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
    }
    pthread_mutex_lock(&p.mu);
    p.stop = true;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    pthread_join(helper, NULL);
    int rc = p.rc;
    *os_errno = p.os_errno;
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
