/*
 * fingerprint.c - XXH3-128 content fingerprints for the file-checksum cache.
 *
 * A fingerprint answers "is this still exactly the content whose SHA-256 we
 * know?" at a small fraction of the cost of SHA-256. The content is cut into
 * fixed chunks whose XXH3-128 digests are computed in parallel and then
 * hashed together, so the result does not depend on the thread count.
 */
#define _POSIX_C_SOURCE 200809L

#include "seamless_native_impl.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include "vendor/xxhash/xxhash.h"
#if SEAMLESS_IS_X86_64 && (defined(__GNUC__) || defined(__clang__))
/* Route XXH3 to the AVX2/AVX-512 kernels chosen at run time. */
#include "vendor/xxhash/xxh_x86dispatch.h"
#endif

/* File chunks are read in blocks that stay in the CPU cache. */
#define READ_BLOCK (256u * 1024u)

typedef struct {
    const uint8_t *data; /* in-memory source, or NULL */
    int fd;              /* file source when data is NULL */
    uint64_t len;
    size_t nchunks;
    uint8_t *chunk_digests; /* 16 bytes per chunk */
    atomic_size_t next;
    atomic_int status;
    atomic_int os_errno;
} fp_job;

static void store_canonical(uint8_t *out, XXH128_hash_t h) {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    for (int i = 0; i < SEAMLESS_FINGERPRINT_SIZE; i++) {
        out[i] = c.digest[i];
    }
}

static int chunk_from_file(fp_job *job, uint64_t off, uint64_t len,
                           uint8_t *buf, XXH128_hash_t *out) {
    XXH3_state_t state;
    XXH3_INITSTATE(&state);
    XXH3_128bits_reset(&state);
    uint64_t done = 0;
    while (done < len) {
        size_t want = len - done < READ_BLOCK ? (size_t)(len - done) : READ_BLOCK;
        int err = 0;
        int64_t got =
            seamless_read_full(job->fd, buf, want, (int64_t)(off + done), &err);
        if (got < 0) {
            atomic_store(&job->os_errno, err);
            return SEAMLESS_ERR_OS;
        }
        if ((size_t)got < want) {
            return SEAMLESS_ERR_CHANGED; /* it shrank while being read */
        }
        XXH3_128bits_update(&state, buf, (size_t)got);
        done += (uint64_t)got;
    }
    *out = XXH3_128bits_digest(&state);
    return SEAMLESS_OK;
}

static void fp_worker(void *shared) {
    fp_job *job = shared;
    uint8_t *buf = NULL;
    if (job->data == NULL) {
        buf = malloc(READ_BLOCK);
        if (buf == NULL) {
            atomic_store(&job->status, SEAMLESS_ERR_NOMEM);
            return;
        }
    }
    for (;;) {
        size_t c = atomic_fetch_add(&job->next, 1);
        if (c >= job->nchunks || atomic_load(&job->status) != SEAMLESS_OK) {
            break;
        }
        uint64_t off = (uint64_t)c * SEAMLESS_FINGERPRINT_CHUNK;
        uint64_t len = job->len - off < SEAMLESS_FINGERPRINT_CHUNK
                           ? job->len - off
                           : SEAMLESS_FINGERPRINT_CHUNK;
        XXH128_hash_t h;
        if (job->data) {
            h = XXH3_128bits(job->data + off, (size_t)len);
        } else {
            int rc = chunk_from_file(job, off, len, buf, &h);
            if (rc != SEAMLESS_OK) {
                atomic_store(&job->status, rc);
                break;
            }
        }
        store_canonical(job->chunk_digests + c * SEAMLESS_FINGERPRINT_SIZE, h);
    }
    free(buf);
}

static int fingerprint_job(fp_job *job, uint8_t *fingerprint, int nthreads) {
    job->nchunks = (size_t)((job->len + SEAMLESS_FINGERPRINT_CHUNK - 1) /
                            SEAMLESS_FINGERPRINT_CHUNK);
    job->chunk_digests = malloc(job->nchunks * SEAMLESS_FINGERPRINT_SIZE + 1);
    if (job->chunk_digests == NULL) {
        return SEAMLESS_ERR_NOMEM;
    }
    atomic_init(&job->next, 0);
    atomic_init(&job->status, SEAMLESS_OK);
    atomic_init(&job->os_errno, 0);
    int n = seamless_choose_threads(nthreads, job->len, job->nchunks);
    seamless_parallel_run(fp_worker, job, n);
    int rc = atomic_load(&job->status);
    if (rc == SEAMLESS_OK) {
        store_canonical(fingerprint,
                        XXH3_128bits(job->chunk_digests,
                                     job->nchunks * SEAMLESS_FINGERPRINT_SIZE));
    }
    free(job->chunk_digests);
    return rc;
}

int seamless_fingerprint(const uint8_t *data, size_t len, uint8_t *fingerprint,
                         int nthreads) {
    static const uint8_t empty[1] = {0};
    if ((data == NULL && len) || fingerprint == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    fp_job job;
    job.data = data ? data : empty;
    job.fd = -1;
    job.len = len;
    return fingerprint_job(&job, fingerprint, nthreads);
}

int seamless_fingerprint_file(const char *path, uint8_t *fingerprint,
                              uint64_t *size, int *os_errno, int nthreads) {
    int err = 0;
    uint64_t len = 0;
    if (path == NULL || fingerprint == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    int fd = seamless_open_for_read(path, &len, &err);
    int rc = SEAMLESS_ERR_OS;
    if (fd >= 0) {
        fp_job job;
        job.data = NULL;
        job.fd = fd;
        job.len = len;
        rc = fingerprint_job(&job, fingerprint, nthreads);
        err = atomic_load(&job.os_errno);
        close(fd);
    }
    if (size) {
        *size = len;
    }
    if (os_errno) {
        *os_errno = err;
    }
    return rc;
}
