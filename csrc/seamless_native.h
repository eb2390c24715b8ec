/*
 * seamless_native.h - public C API of the seamless native core.
 *
 * Content hashing for a content-addressed store: SHA-256 (the compatibility
 * contract; a SHA-NI kernel picked at run time and a portable kernel that is
 * the test oracle), SHA3-256 (legacy hashserver buffers), and an XXH3-128
 * content fingerprint for the file-checksum cache.
 *
 * Contracts shared by every function:
 *  - Functions return an int status: SEAMLESS_OK (0) or a SEAMLESS_ERR_* code;
 *    seamless_strerror() names it. Output arguments are written only on
 *    success, unless a function documents otherwise.
 *  - Every function is reentrant and keeps no global mutable state except the
 *    kernel choice (an atomic int). A seamless_hasher must not be used by two
 *    threads at the same time; distinct hashers are independent.
 *  - Nothing here calls back into Python, so callers may release the GIL
 *    around every call (the cffi binding does).
 */
#ifndef SEAMLESS_NATIVE_H
#define SEAMLESS_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version of this header; the Python binding refuses a mismatch. */
#define SEAMLESS_NATIVE_ABI 3

/* Status codes. Keep in sync with seamless/_native/_errors.py. */
#define SEAMLESS_OK 0
#define SEAMLESS_ERR_NOMEM 1     /**< an allocation failed */
#define SEAMLESS_ERR_ARGUMENT 2  /**< NULL pointer or out-of-range argument */
#define SEAMLESS_ERR_ALGORITHM 3 /**< unknown algorithm or unavailable kernel */
#define SEAMLESS_ERR_OS 4        /**< a system call failed; errno is reported */
#define SEAMLESS_ERR_CHANGED 5   /**< a file changed size while being read */
#define SEAMLESS_ERR_MISMATCH 6  /**< data does not have the expected checksum */

/* Hash algorithms. */
#define SEAMLESS_SHA256 0
#define SEAMLESS_SHA3_256 1

/** Every digest produced here is 32 bytes; fingerprints are 16 bytes. */
#define SEAMLESS_DIGEST_SIZE 32
#define SEAMLESS_FINGERPRINT_SIZE 16
/** Fingerprints hash the content in chunks of this size (see below). */
#define SEAMLESS_FINGERPRINT_CHUNK 16777216

/* SHA-256 kernels, also usable as bit positions in the "available" mask. */
#define SEAMLESS_KERNEL_PORTABLE 0
#define SEAMLESS_KERNEL_SHANI 1

/** Human-readable name of a status code (static storage, never NULL). */
const char *seamless_strerror(int code);

/** SEAMLESS_NATIVE_ABI of the compiled library. */
int seamless_abi_version(void);

/** Number of online processors (at least 1). */
int seamless_cpu_count(void);

/** Bit mask of the SHA-256 kernels this CPU can run (bit = kernel id). */
int seamless_sha256_kernels_available(void);

/** SHA-256 kernel currently in use (the fastest available, unless forced). */
int seamless_sha256_kernel(void);

/**
 * Force a SHA-256 kernel for the whole process (tests and benchmarks).
 * Returns SEAMLESS_ERR_ALGORITHM if this CPU cannot run it.
 */
int seamless_set_sha256_kernel(int kernel);

/** One-shot digest of len bytes at data into digest[32]. */
int seamless_hash(int algorithm, const uint8_t *data, size_t len,
                  uint8_t *digest);

/** Opaque streaming state. */
typedef struct seamless_hasher seamless_hasher;

/** Allocate a streaming hasher; free it with seamless_hasher_free(). */
int seamless_hasher_new(int algorithm, seamless_hasher **out);

/** Feed bytes. len may be 0 (data may then be NULL). */
int seamless_hasher_update(seamless_hasher *hasher, const uint8_t *data,
                           size_t len);

/** Digest of everything fed so far; the hasher stays usable. */
int seamless_hasher_digest(const seamless_hasher *hasher, uint8_t *digest);

/** Independent copy of a hasher's state. */
int seamless_hasher_copy(const seamless_hasher *hasher, seamless_hasher **out);

/** Release a hasher (NULL is accepted). */
void seamless_hasher_free(seamless_hasher *hasher);

/**
 * Digests of count buffers into digests[32 * count].
 * nthreads <= 0 chooses from the amount of work and the processor count;
 * 1 hashes on the calling thread. SHA-256 interleaves two messages per
 * core when the SHA-NI kernel is active.
 */
int seamless_hash_batch(int algorithm, const uint8_t *const *data,
                        const size_t *lens, size_t count, uint8_t *digests,
                        int nthreads);

/**
 * Digest of a whole file, read by the library in large blocks.
 * *size receives the number of bytes hashed. On SEAMLESS_ERR_OS, *os_errno
 * holds errno (EISDIR for a directory). size and os_errno may be NULL.
 */
int seamless_hash_file(int algorithm, const char *path, uint8_t *digest,
                       uint64_t *size, int *os_errno);

/**
 * Digests of count files, spread over threads (nthreads as in batch).
 * Per-file results: statuses[i] (SEAMLESS_OK or an error code), os_errnos[i],
 * sizes[i] and digests[32*i]. Returns an error only for bad arguments; a
 * failing file does not stop the others.
 */
int seamless_hash_files(int algorithm, const char *const *paths, size_t count,
                        uint8_t *digests, uint64_t *sizes, int *statuses,
                        int *os_errnos, int nthreads);

/**
 * Content fingerprint: XXH3-128 over the concatenated XXH3-128 digests of
 * consecutive SEAMLESS_FINGERPRINT_CHUNK-byte chunks (the last may be
 * shorter; empty input has no chunks). The chunking makes it parallel and
 * independent of the thread count. fingerprint receives 16 bytes, the
 * canonical (big-endian) XXH128 form.
 */
int seamless_fingerprint(const uint8_t *data, size_t len, uint8_t *fingerprint,
                         int nthreads);

/** Fingerprint of a file, read by the library; see seamless_hash_file. */
int seamless_fingerprint_file(const char *path, uint8_t *fingerprint,
                              uint64_t *size, int *os_errno, int nthreads);

/* ---- Content-addressed store writes ---------------------------------- */

/* Layouts of a buffer folder: <root>/<cs> or <root>/<cs[0:2]>/<cs>. */
#define SEAMLESS_LAYOUT_FLAT 0
#define SEAMLESS_LAYOUT_PREFIX 1

/* Durability flags of a put. */
#define SEAMLESS_SYNC_DATA 1 /**< fsync the file before it is published */
#define SEAMLESS_SYNC_DIR 2  /**< fsync the directory after publishing */

/* Outcomes of a put. */
#define SEAMLESS_PUT_CREATED 1  /**< the buffer was written */
#define SEAMLESS_PUT_EXISTED 2  /**< a file of the right size was there */
#define SEAMLESS_PUT_REPLACED 3 /**< a file of the wrong size was replaced */

/** Where and how a store writes. The root must contain a ".tmp" folder. */
typedef struct {
    const char *root;       /**< store folder */
    const char *tmp_prefix; /**< start of temporary names (owner tag) */
    int root_fd;            /**< an open descriptor of root, or -1 */
    int layout;             /**< SEAMLESS_LAYOUT_* */
    int algorithm;          /**< SEAMLESS_SHA256 or SEAMLESS_SHA3_256 */
    int sync;               /**< SEAMLESS_SYNC_* flags */
    unsigned file_mode;     /**< mode of published files (e.g. 0444) */
    unsigned dir_mode;      /**< mode of new shard folders (e.g. 03775) */
    int direct;             /**< != 0: write with direct I/O where allowed
                                 (full aligned blocks; the rest normally) */
} seamless_store_config;

/**
 * Store len bytes of data under their checksum: hash while writing a
 * temporary file in <root>/.tmp, verify against expected (if not NULL),
 * fsync as configured, and rename into place. stable != 0 promises that the
 * memory does not change during the call (it is then not copied; otherwise
 * each block is copied before it is hashed and written, so the file always
 * matches its name). When expected is given and a file of the right size
 * already exists, the data is only hashed, not written. On
 * SEAMLESS_ERR_MISMATCH, digest holds the actual checksum. Nothing at a final
 * path is ever removed or left partial.
 */
int seamless_store_put(const seamless_store_config *cfg, const uint8_t *data,
                       size_t len, int stable, const uint8_t *expected,
                       uint8_t *digest, uint64_t *size, int *outcome,
                       int *os_errno);

/** seamless_store_put for the content of a file, streamed in bounded memory. */
int seamless_store_put_file(const seamless_store_config *cfg, const char *path,
                            const uint8_t *expected, uint8_t *digest,
                            uint64_t *size, int *outcome, int *os_errno);

/**
 * seamless_store_put for a body arriving on a socket or pipe (a server's
 * upload): prefix_len bytes already received, then the rest read from fd
 * (which may be non-blocking), exactly len bytes in all. Read on the
 * pipeline's helper thread into aligned blocks while the caller hashes.
 * An early end is SEAMLESS_ERR_OS with ECONNRESET; nothing for stall_ms, or
 * fewer than min_rate bytes/s over stall_ms, is ETIMEDOUT (0: no limits).
 */
int seamless_store_put_stream(const seamless_store_config *cfg,
                              const uint8_t *prefix, size_t prefix_len,
                              int fd, uint64_t len, int stall_ms,
                              uint32_t min_rate, const uint8_t *expected,
                              uint8_t *digest, uint64_t *size, int *outcome,
                              int *os_errno);

/** store_stat: no plain file, but a compressed form (.zst or .gz). */
#define SEAMLESS_STAT_COMPRESSED (-2)

/**
 * Sizes of the regular files of count checksums (32 bytes each) in the
 * store's own layout; SEAMLESS_STAT_COMPRESSED where there is only a
 * compressed form next to where the file would be, -1 where there is none.
 */
int seamless_store_stat(const seamless_store_config *cfg,
                        const uint8_t *digests, size_t count, int64_t *sizes);

/**
 * A write whose bytes arrive in pieces (an upload). new() creates the
 * temporary file; each feed() hashes and writes a piece; finish() verifies,
 * fsyncs and publishes as seamless_store_put does. free() releases the
 * writer and removes its temporary file if it was not published, so an
 * abandoned upload leaves nothing behind. Not for concurrent use.
 */
typedef struct seamless_store_writer seamless_store_writer;
int seamless_store_writer_new(const seamless_store_config *cfg,
                              const uint8_t *expected,
                              seamless_store_writer **out, int *os_errno);
/**
 * Write the bulk of this upload with direct I/O (O_DIRECT: from an aligned
 * staging buffer straight to the device, without filling the page cache),
 * for large uploads. Call it before the first feed. When the file system
 * refuses (tmpfs), it returns SEAMLESS_ERR_OS and the writer stays
 * buffered; the bytes written, the checks and the durability are the same
 * either way.
 */
int seamless_store_writer_direct(seamless_store_writer *w, int *os_errno);
int seamless_store_writer_feed(seamless_store_writer *w, const uint8_t *data,
                               size_t len, int *os_errno);
int seamless_store_writer_finish(seamless_store_writer *w, uint8_t *digest,
                                 uint64_t *size, int *outcome, int *os_errno);
void seamless_store_writer_free(seamless_store_writer *w);

/** Flush the file system holding root (one syncfs, or sync elsewhere). */
int seamless_store_sync(const char *root, int *os_errno);

/* ---- The database front ------------------------------------------------
 * The database server's requests for one transformation record (a lookup or
 * a write, nearly all of its traffic) answered in C, on a thread of its own
 * with its own epoll loop and SQLite connection; every other request goes
 * to the Python server, which keeps the whole protocol. The front owns the
 * listening socket and every connection. Python hears of a connection only
 * when it must answer something on it, through events (an eventfd signals
 * them), and answers through commands (see front.c).
 */
#define SEAMLESS_FRONT_REQUEST 1 /**< data: one whole request for Python */
#define SEAMLESS_FRONT_RAW 2     /**< data: bytes of a connection Python now reads */
#define SEAMLESS_FRONT_EOF 3     /**< the client will send nothing more */
#define SEAMLESS_FRONT_CLOSED 4  /**< the connection is gone */

#define SEAMLESS_FRONT_SEND 1    /**< data: bytes of Python's answer */
#define SEAMLESS_FRONT_DONE 2    /**< Python answered one REQUEST */
#define SEAMLESS_FRONT_CLOSE 3   /**< close once everything is sent */
#define SEAMLESS_FRONT_ABORT 4   /**< close now, with a reset */
#define SEAMLESS_FRONT_PAUSE 5   /**< stop reading (a RAW connection) */
#define SEAMLESS_FRONT_RESUME 6  /**< read again */

typedef struct {
    int listen_fd;              /**< a bound, listening socket */
    const char *sqlite_library; /**< the SQLite library already loaded */
    const char *database;       /**< the seamless.db file (schema in place) */
    const char *settings;       /**< SQL run on the front's connection as it opens (its PRAGMAs;
                                     read by seamless_front_new only); NULL: none */
    int readonly;               /**< open the database read-only */
    int writes;                 /**< answer transformation PUTs itself */
    int head_timeout_ms;        /**< an incomplete head: 408 after this */
    int body_timeout_ms;        /**< a body that stops arriving: dropped */
    int idle_timeout_ms;        /**< an idle keep-alive connection: closed */
    int write_timeout_ms;       /**< a client that stops reading: dropped */
    int spin_us;                /**< poll this long before sleeping (0: never) */
    int cache_records;          /**< records remembered for lookups (0: none) */
    int wal_batching;           /**< write a commit's log frames with one call (csrc/front_vfs.c) */
} seamless_front_config;

typedef struct {
    uint64_t conn;  /**< the connection's id */
    int kind;       /**< SEAMLESS_FRONT_REQUEST ... CLOSED */
    uint8_t *data;  /**< owned by the event until seamless_front_release */
    size_t len;
} seamless_front_event;

typedef struct seamless_front seamless_front;

/** A front for cfg; message receives the reason when it cannot be made. */
int seamless_front_new(const seamless_front_config *cfg, seamless_front **out,
                       char *message, size_t message_size);
/** Serve until seamless_front_stop's grace is over (blocks; own thread). */
int seamless_front_run(seamless_front *front);
/** Stop accepting; idle connections close now, busy ones within grace_ms. */
void seamless_front_stop(seamless_front *front, int grace_ms);
/** After run returned and the last events were taken. */
void seamless_front_free(seamless_front *front);
/** Readable when events wait (an eventfd). */
int seamless_front_event_fd(const seamless_front *front);
/** Take up to max waiting events, oldest first; how many. */
size_t seamless_front_events(seamless_front *front, seamless_front_event *out,
                             size_t max);
void seamless_front_release(seamless_front_event *events, size_t count);
/** Queue a command for a connection (any thread). */
int seamless_front_command(seamless_front *front, uint64_t conn, int command,
                           const uint8_t *data, size_t len);
/** Requests answered in C, passed to Python, and rows written in C. */
void seamless_front_stats(const seamless_front *front, uint64_t *answered,
                          uint64_t *forwarded, uint64_t *changes);
/** Lookups answered from the front's memory, and how often it was forgotten. */
void seamless_front_cache_stats(const seamless_front *front, uint64_t *hits,
                                uint64_t *forgotten);

#ifdef __cplusplus
}
#endif

#endif /* SEAMLESS_NATIVE_H */
