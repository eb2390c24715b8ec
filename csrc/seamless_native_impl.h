/*
 * seamless_native_impl.h - private declarations shared by the csrc/ files.
 */
#ifndef SEAMLESS_NATIVE_IMPL_H
#define SEAMLESS_NATIVE_IMPL_H

#include "seamless_native.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(_M_X64)
#define SEAMLESS_IS_X86_64 1
#else
#define SEAMLESS_IS_X86_64 0
#endif

/* The SHA-NI kernel is compiled on x86-64 with GCC/Clang unless opted out. */
#if SEAMLESS_IS_X86_64 && (defined(__GNUC__) || defined(__clang__)) &&       \
    !defined(SEAMLESS_NO_SHANI)
#define SEAMLESS_HAS_SHANI 1
#else
#define SEAMLESS_HAS_SHANI 0
#endif

#define SEAMLESS_INLINE static inline

/* ---- SHA-256 ---------------------------------------------------------- */

#define SHA256_BLOCK 64

/** Compress nblocks consecutive 64-byte blocks into state[8]. */
typedef void (*sha256_compress_fn)(uint32_t state[8], const uint8_t *blocks,
                                   size_t nblocks);

/**
 * Compress nblocks blocks of two independent messages. Kernels whose
 * instructions have long latency run two chains at once to fill the pipes.
 */
typedef void (*sha256_compress_x2_fn)(uint32_t state_a[8],
                                      uint32_t state_b[8],
                                      const uint8_t *blocks_a,
                                      const uint8_t *blocks_b,
                                      size_t nblocks);

extern const uint32_t seamless_sha256_iv[8];
extern const uint32_t seamless_sha256_k[64];

void seamless_sha256_compress_portable(uint32_t state[8], const uint8_t *blocks,
                                       size_t nblocks);
void seamless_sha256_compress_x2_portable(uint32_t state_a[8],
                                          uint32_t state_b[8],
                                          const uint8_t *blocks_a,
                                          const uint8_t *blocks_b,
                                          size_t nblocks);
#if SEAMLESS_HAS_SHANI
void seamless_sha256_compress_shani(uint32_t state[8], const uint8_t *blocks,
                                    size_t nblocks);
void seamless_sha256_compress_x2_shani(uint32_t state_a[8],
                                       uint32_t state_b[8],
                                       const uint8_t *blocks_a,
                                       const uint8_t *blocks_b,
                                       size_t nblocks);
bool seamless_cpu_has_shani(void);
#endif

/** Compression functions of the active kernel (see dispatch.c). */
sha256_compress_fn seamless_sha256_compress(void);
sha256_compress_x2_fn seamless_sha256_compress_x2(void);

/**
 * Build the padded tail of a message: the trailing len % 64 bytes, 0x80,
 * zeros and the 64-bit big-endian bit length. Returns 1 or 2 blocks.
 */
size_t seamless_sha256_tail(uint8_t out[2 * SHA256_BLOCK], const uint8_t *rest,
                            size_t rest_len, uint64_t total_len);

/** Serialize state[8] big-endian into digest[32]. */
void seamless_sha256_state_to_digest(const uint32_t state[8], uint8_t *digest);

/* ---- SHA3-256 --------------------------------------------------------- */

#define SHA3_256_RATE 136

typedef struct {
    uint64_t lanes[25];
    uint8_t pending[SHA3_256_RATE];
    size_t npending;
} sha3_256_state;

void seamless_sha3_256_init(sha3_256_state *st);
void seamless_sha3_256_update(sha3_256_state *st, const uint8_t *data,
                              size_t len);
/** Digest without disturbing st (works on a copy). */
void seamless_sha3_256_digest(const sha3_256_state *st, uint8_t *digest);

/* ---- Batches ---------------------------------------------------------- */

#include <stdatomic.h>

/** A batch of messages handed out to workers in runs (see batch.c). */
typedef struct {
    int algorithm;
    const uint8_t *const *data;
    const size_t *lens;
    size_t count;
    uint8_t *digests;
    size_t run;
    atomic_size_t next;
} seamless_batch_job;

/**
 * Check the arguments of a batch and prepare job; *nworkers receives the
 * thread count to use. Run seamless_batch_worker(job) on that many threads.
 */
int seamless_batch_init(seamless_batch_job *job, int algorithm,
                        const uint8_t *const *data, const size_t *lens,
                        size_t count, uint8_t *digests, int nthreads,
                        int *nworkers);
void seamless_batch_worker(void *job);

/* ---- Clock ------------------------------------------------------------ */

/** CLOCK_MONOTONIC in microseconds (clock.c). */
int64_t seamless_monotonic_us(void);

/* ---- Threads ---------------------------------------------------------- */

/** A work function run by parallel_run on every worker. */
typedef void (*seamless_worker_fn)(void *shared);

/**
 * Run fn(shared) on nthreads threads (the caller's thread is one of them)
 * and wait for all. fn must take its work from an atomic counter in shared:
 * if threads cannot be started, the calling thread does all the work, so the
 * only cost of that failure is speed.
 */
void seamless_parallel_run(seamless_worker_fn fn, void *shared, int nthreads);

/** Background workers, for callers that do other work meanwhile. */
typedef struct seamless_threads seamless_threads;

/**
 * Start fn(shared) on nthreads background threads. Returns NULL only when
 * nothing could be allocated; then seamless_threads_join(NULL, fn, shared)
 * runs fn on the calling thread, so the work is always done.
 */
seamless_threads *seamless_threads_start(seamless_worker_fn fn, void *shared,
                                         int nthreads);

/** Wait for the workers (running fn inline first if none had started). */
void seamless_threads_join(seamless_threads *threads, seamless_worker_fn fn,
                           void *shared);

/** Choose a thread count: requested > 0 wins, else by bytes of work. */
int seamless_choose_threads(int requested, uint64_t work_bytes,
                            size_t work_items);

/* ---- Files ------------------------------------------------------------ */

/** Read block size for file hashing. */
#define SEAMLESS_FILE_BLOCK (1u << 20)

/**
 * Open path for sequential reading; refuses directories with EISDIR.
 * Returns the descriptor, or -1 with *os_errno set.
 */
int seamless_open_for_read(const char *path, uint64_t *size, int *os_errno);

/**
 * Read len bytes (fewer only at end of file) at offset, or at the current
 * position when offset < 0. Returns the count, or -1 with *os_errno set.
 */
int64_t seamless_read_full(int fd, uint8_t *buf, size_t len, int64_t offset,
                           int *os_errno);

/* ---- One pass: hash and optionally write (pipeline.c) ----------------- */

/** The rate window of a stream source (see stream.c): zeroed at the start. */
typedef struct {
    int64_t start_ms;
    uint64_t bytes;
} seamless_stream_window;

/** Where the bytes of a pass come from. */
typedef struct {
    const uint8_t *data; /**< memory source, or NULL for a file descriptor */
    size_t len;
    int fd;
    bool stable; /**< memory that cannot change during the pass: no copies */
    bool one_thread; /**< never start a helper thread (callers already in parallel) */
    /* A stream (a socket or pipe): fd gives exactly len - prefix_len bytes
     * after the prefix (bytes already received), waiting when fd is
     * non-blocking; an early end or a stall is an error (see stream.c). */
    bool stream;
    const uint8_t *prefix;
    size_t prefix_len;
    int stall_ms;       /**< nothing arrives for this long: ETIMEDOUT */
    uint32_t min_rate;  /**< fewer bytes/s than this over stall_ms: ETIMEDOUT */
    seamless_stream_window *window; /**< the caller's, for min_rate */
} seamless_source;

/**
 * Fill buf with len bytes of a stream source (see seamless_source): the
 * prefix first, then reads from the descriptor. Returns len, or -1 with
 * *os_errno set (ECONNRESET when the stream ends early, ETIMEDOUT when it
 * stalls or trickles).
 */
int64_t seamless_read_stream(const seamless_source *src, uint64_t offset,
                             uint8_t *buf, size_t len, int *os_errno);

/**
 * Hash the source into digest, writing every hashed block to dst unless
 * dst < 0; *total receives the number of bytes. Large inputs are read by
 * one helper thread and written by another while the calling thread
 * hashes. A failed read or write ends the copy with SEAMLESS_ERR_OS (and,
 * for a stream source, shuts the stream's receiving side down: the rest of
 * it can no longer be read in order).
 */
int seamless_hash_and_copy(int algorithm, const seamless_source *src, int dst,
                           uint8_t *digest, uint64_t *total, int *os_errno);

#endif /* SEAMLESS_NATIVE_IMPL_H */
