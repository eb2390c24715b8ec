/*
 * seamless_native.cdef.h - the declarations of seamless_native.h in the
 * subset of C that cffi parses (no #include, no #if; constants as "...").
 * In API mode the compiler checks these against the real header, so a drift
 * between the two files fails the build.
 */
#define SEAMLESS_NATIVE_ABI ...
#define SEAMLESS_OK ...
#define SEAMLESS_ERR_NOMEM ...
#define SEAMLESS_ERR_ARGUMENT ...
#define SEAMLESS_ERR_ALGORITHM ...
#define SEAMLESS_ERR_OS ...
#define SEAMLESS_ERR_CHANGED ...
#define SEAMLESS_ERR_MISMATCH ...
#define SEAMLESS_SHA256 ...
#define SEAMLESS_SHA3_256 ...
#define SEAMLESS_DIGEST_SIZE ...
#define SEAMLESS_FINGERPRINT_SIZE ...
#define SEAMLESS_FINGERPRINT_CHUNK ...
#define SEAMLESS_KERNEL_PORTABLE ...
#define SEAMLESS_KERNEL_SHANI ...

const char *seamless_strerror(int code);
int seamless_abi_version(void);
int seamless_cpu_count(void);
int seamless_sha256_kernels_available(void);
int seamless_sha256_kernel(void);
int seamless_set_sha256_kernel(int kernel);

int seamless_hash(int algorithm, const uint8_t *data, size_t len,
                  uint8_t *digest);

typedef struct seamless_hasher seamless_hasher;
int seamless_hasher_new(int algorithm, seamless_hasher **out);
int seamless_hasher_update(seamless_hasher *hasher, const uint8_t *data,
                           size_t len);
int seamless_hasher_digest(const seamless_hasher *hasher, uint8_t *digest);
int seamless_hasher_copy(const seamless_hasher *hasher, seamless_hasher **out);
void seamless_hasher_free(seamless_hasher *hasher);

int seamless_hash_batch(int algorithm, const uint8_t *const *data,
                        const size_t *lens, size_t count, uint8_t *digests,
                        int nthreads);
int seamless_hash_file(int algorithm, const char *path, uint8_t *digest,
                       uint64_t *size, int *os_errno);
int seamless_hash_files(int algorithm, const char *const *paths, size_t count,
                        uint8_t *digests, uint64_t *sizes, int *statuses,
                        int *os_errnos, int nthreads);
int seamless_fingerprint(const uint8_t *data, size_t len, uint8_t *fingerprint,
                         int nthreads);
int seamless_fingerprint_file(const char *path, uint8_t *fingerprint,
                              uint64_t *size, int *os_errno, int nthreads);

#define SEAMLESS_LAYOUT_FLAT ...
#define SEAMLESS_LAYOUT_PREFIX ...
#define SEAMLESS_SYNC_DATA ...
#define SEAMLESS_SYNC_DIR ...
#define SEAMLESS_PUT_CREATED ...
#define SEAMLESS_PUT_EXISTED ...
#define SEAMLESS_PUT_REPLACED ...
#define SEAMLESS_STAT_COMPRESSED ...

typedef struct {
    const char *root;
    const char *tmp_prefix;
    int root_fd;
    int layout;
    int algorithm;
    int sync;
    unsigned file_mode;
    unsigned dir_mode;
    int direct;
} seamless_store_config;

int seamless_store_put(const seamless_store_config *cfg, const uint8_t *data,
                       size_t len, int stable, const uint8_t *expected,
                       uint8_t *digest, uint64_t *size, int *outcome,
                       int *os_errno);
int seamless_store_put_file(const seamless_store_config *cfg, const char *path,
                            const uint8_t *expected, uint8_t *digest,
                            uint64_t *size, int *outcome, int *os_errno);
int seamless_store_put_stream(const seamless_store_config *cfg,
                              const uint8_t *prefix, size_t prefix_len,
                              int fd, uint64_t len, int stall_ms,
                              uint32_t min_rate, const uint8_t *expected,
                              uint8_t *digest, uint64_t *size, int *outcome,
                              int *os_errno);
int seamless_store_stat(const seamless_store_config *cfg,
                        const uint8_t *digests, size_t count, int64_t *sizes);
int seamless_store_sync(const char *root, int *os_errno);

typedef struct seamless_store_writer seamless_store_writer;
int seamless_store_writer_new(const seamless_store_config *cfg,
                              const uint8_t *expected,
                              seamless_store_writer **out, int *os_errno);
int seamless_store_writer_direct(seamless_store_writer *w, int *os_errno);
int seamless_store_writer_feed(seamless_store_writer *w, const uint8_t *data,
                               size_t len, int *os_errno);
int seamless_store_writer_finish(seamless_store_writer *w, uint8_t *digest,
                                 uint64_t *size, int *outcome, int *os_errno);
void seamless_store_writer_free(seamless_store_writer *w);

#define SEAMLESS_FRONT_REQUEST ...
#define SEAMLESS_FRONT_RAW ...
#define SEAMLESS_FRONT_EOF ...
#define SEAMLESS_FRONT_CLOSED ...
#define SEAMLESS_FRONT_SEND ...
#define SEAMLESS_FRONT_DONE ...
#define SEAMLESS_FRONT_CLOSE ...
#define SEAMLESS_FRONT_ABORT ...
#define SEAMLESS_FRONT_PAUSE ...
#define SEAMLESS_FRONT_RESUME ...
typedef struct {
    int listen_fd;
    const char *sqlite_library;
    const char *database;
    const char *settings;
    int readonly;
    int writes;
    int head_timeout_ms;
    int body_timeout_ms;
    int idle_timeout_ms;
    int write_timeout_ms;
    int spin_us;
    int cache_records;
    int wal_batching;
} seamless_front_config;
typedef struct {
    uint64_t conn;
    int kind;
    uint8_t *data;
    size_t len;
} seamless_front_event;
typedef struct seamless_front seamless_front;
int seamless_front_new(const seamless_front_config *cfg, seamless_front **out,
                       char *message, size_t message_size);
int seamless_front_run(seamless_front *front);
void seamless_front_stop(seamless_front *front, int grace_ms);
void seamless_front_free(seamless_front *front);
int seamless_front_event_fd(const seamless_front *front);
size_t seamless_front_events(seamless_front *front, seamless_front_event *out,
                             size_t max);
void seamless_front_release(seamless_front_event *events, size_t count);
int seamless_front_command(seamless_front *front, uint64_t conn, int command,
                           const uint8_t *data, size_t len);
void seamless_front_stats(const seamless_front *front, uint64_t *answered,
                          uint64_t *forwarded, uint64_t *changes);
void seamless_front_cache_stats(const seamless_front *front, uint64_t *hits,
                                uint64_t *forgotten);
