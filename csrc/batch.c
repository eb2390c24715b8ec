/*
 * batch.c - digests of many buffers in one call.
 *
 * Threads claim runs of messages from an atomic counter. Within a run,
 * SHA-256 keeps two "lanes" busy: each lane walks one message (its full
 * blocks straight from the caller's memory, then its padded tail from a
 * small local buffer), and the x2 kernel advances both lanes by as many
 * blocks as they have in common. When a lane finishes, it takes the next
 * message of the run, so messages of any lengths pair up.
 */
#include "seamless_native_impl.h"

#include <stdatomic.h>
#include <string.h>

typedef seamless_batch_job batch_job;

typedef struct {
    uint32_t state[8];
    const uint8_t *ptr;
    size_t nblocks;
    bool in_tail;
    size_t msg;
    uint8_t tail[2 * SHA256_BLOCK];
} lane;

static void lane_enter_tail(lane *l, const batch_job *job) {
    size_t len = job->lens[l->msg];
    size_t nfull = len / SHA256_BLOCK;
    size_t rest = len - nfull * SHA256_BLOCK;
    const uint8_t *rest_ptr = rest ? job->data[l->msg] + nfull * SHA256_BLOCK
                                   : NULL;
    l->nblocks = seamless_sha256_tail(l->tail, rest_ptr, rest, len);
    l->ptr = l->tail;
    l->in_tail = true;
}

static void lane_start(lane *l, size_t msg, const batch_job *job) {
    memcpy(l->state, seamless_sha256_iv, sizeof(l->state));
    l->msg = msg;
    l->in_tail = false;
    l->nblocks = job->lens[msg] / SHA256_BLOCK;
    l->ptr = job->data[msg];
    if (l->nblocks == 0) {
        lane_enter_tail(l, job);
    }
}

/* Account for n processed blocks; false once the message is complete. */
static bool lane_advance(lane *l, size_t n, const batch_job *job) {
    l->nblocks -= n;
    if (l->nblocks) {
        l->ptr += n * SHA256_BLOCK;
        return true;
    }
    if (!l->in_tail) {
        lane_enter_tail(l, job);
        return true;
    }
    seamless_sha256_state_to_digest(l->state,
                                    job->digests + l->msg * SEAMLESS_DIGEST_SIZE);
    return false;
}

static void sha256_run(const batch_job *job, size_t lo, size_t hi) {
    sha256_compress_fn compress = seamless_sha256_compress();
    sha256_compress_x2_fn compress_x2 = seamless_sha256_compress_x2();
    lane lanes[2];
    bool active[2] = {false, false};
    size_t next = lo;
    for (int i = 0; i < 2 && next < hi; i++) {
        lane_start(&lanes[i], next++, job);
        active[i] = true;
    }
    while (active[0] && active[1]) {
        size_t n = lanes[0].nblocks < lanes[1].nblocks ? lanes[0].nblocks
                                                        : lanes[1].nblocks;
        compress_x2(lanes[0].state, lanes[1].state, lanes[0].ptr, lanes[1].ptr,
                    n);
        for (int i = 0; i < 2; i++) {
            if (!lane_advance(&lanes[i], n, job)) {
                if (next < hi) {
                    lane_start(&lanes[i], next++, job);
                } else {
                    active[i] = false;
                }
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        while (active[i]) {
            compress(lanes[i].state, lanes[i].ptr, lanes[i].nblocks);
            active[i] = lane_advance(&lanes[i], lanes[i].nblocks, job);
        }
    }
}

void seamless_batch_worker(void *shared) {
    batch_job *job = shared;
    for (;;) {
        size_t lo = atomic_fetch_add(&job->next, job->run);
        if (lo >= job->count) {
            return;
        }
        size_t hi = lo + job->run < job->count ? lo + job->run : job->count;
        if (job->algorithm == SEAMLESS_SHA256) {
            sha256_run(job, lo, hi);
        } else {
            for (size_t i = lo; i < hi; i++) {
                seamless_hash(job->algorithm, job->data[i], job->lens[i],
                              job->digests + i * SEAMLESS_DIGEST_SIZE);
            }
        }
    }
}

int seamless_batch_init(seamless_batch_job *job, int algorithm,
                        const uint8_t *const *data, const size_t *lens,
                        size_t count, uint8_t *digests, int nthreads,
                        int *nworkers) {
    if (count && (data == NULL || lens == NULL || digests == NULL)) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    if (algorithm != SEAMLESS_SHA256 && algorithm != SEAMLESS_SHA3_256) {
        return SEAMLESS_ERR_ALGORITHM;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++) {
        if (data[i] == NULL && lens[i]) {
            return SEAMLESS_ERR_ARGUMENT;
        }
        total += lens[i];
    }
    job->algorithm = algorithm;
    job->data = data;
    job->lens = lens;
    job->count = count;
    job->digests = digests;
    *nworkers = seamless_choose_threads(nthreads, total, count);
    /* Runs small enough to balance uneven sizes, large enough to pair up. */
    job->run = count / ((size_t)*nworkers * 16);
    if (job->run < 16) {
        job->run = 16;
    }
    atomic_init(&job->next, 0);
    return SEAMLESS_OK;
}

int seamless_hash_batch(int algorithm, const uint8_t *const *data,
                        const size_t *lens, size_t count, uint8_t *digests,
                        int nthreads) {
    seamless_batch_job job;
    int nworkers;
    int rc = seamless_batch_init(&job, algorithm, data, lens, count, digests,
                                 nthreads, &nworkers);
    if (rc == SEAMLESS_OK && count) {
        seamless_parallel_run(seamless_batch_worker, &job, nworkers);
    }
    return rc;
}
