/*
 * store.c - content-addressed writes: hash while writing, verify, publish.
 *
 * A put streams its bytes once through the pipeline (pipeline.c), hashed
 * and written to a temporary file in <root>/.tmp. The digest is compared
 * with the expected one (a mismatch deletes the temporary file), the file
 * (created read-only) is optionally fsynced, and renamed to its final name,
 * whose directory is then optionally fsynced. Readers therefore never see a
 * partial or wrong file at a final path, and a failure never touches a
 * final path.
 */
#define _GNU_SOURCE

#include "seamless_native_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#define NAME_MAX_LEN 256

/* ---- paths ------------------------------------------------------------ */

static void hex_name(const uint8_t *digest, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SEAMLESS_DIGEST_SIZE; i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    out[2 * SEAMLESS_DIGEST_SIZE] = 0;
}

/* "ab/abcd..." (prefix layout) or "abcd..." (flat), relative to the root. */
static void relative_path(int layout, const uint8_t *digest, char *out) {
    char hex[2 * SEAMLESS_DIGEST_SIZE + 1];
    hex_name(digest, hex);
    if (layout == SEAMLESS_LAYOUT_PREFIX) {
        snprintf(out, NAME_MAX_LEN, "%c%c/%s", hex[0], hex[1], hex);
    } else {
        snprintf(out, NAME_MAX_LEN, "%s", hex);
    }
}

static int fsync_dir_at(int rootfd, const char *rel) {
    int fd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* Create the shard directory of a prefix layout if it is missing. */
static int ensure_shard(int rootfd, const seamless_store_config *cfg,
                        const char *rel, int *os_errno) {
    if (cfg->layout != SEAMLESS_LAYOUT_PREFIX) {
        return SEAMLESS_OK;
    }
    char shard[3] = {rel[0], rel[1], 0};
    if (mkdirat(rootfd, shard, 0775) == 0) {
        /* setgid + sticky for shared stores; refused chmods are harmless. */
        int dfd = openat(rootfd, shard, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fchmod(dfd, (mode_t)cfg->dir_mode);
            close(dfd);
        }
        if ((cfg->sync & SEAMLESS_SYNC_DIR) && fsync(rootfd) != 0) {
            *os_errno = errno;
            return SEAMLESS_ERR_OS;
        }
    } else if (errno != EEXIST) {
        *os_errno = errno;
        return SEAMLESS_ERR_OS;
    }
    return SEAMLESS_OK;
}

/* ---- publishing ------------------------------------------------------- */

/* 1 if rel names a regular file of the given size, 0 if absent or wrong. */
static int present(int rootfd, const char *rel, uint64_t size) {
    struct stat st;
    if (fstatat(rootfd, rel, &st, 0) != 0) {
        return 0;
    }
    return S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
}

/* Temporary names: <prefix><counter>-<nanoseconds>. The prefix (host and
 * pid, from the caller) tells a later clean-up whose file it is; the
 * counter and clock make names unique within the process. */
static int make_temp(int rootfd, const char *tmp_prefix, unsigned mode,
                     char *name, int *os_errno) {
    static atomic_ulong counter = 0;
    for (int attempt = 0; attempt < 100; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long n = atomic_fetch_add(&counter, 1);
        snprintf(name, NAME_MAX_LEN, ".tmp/%s%lu-%ld%09ld", tmp_prefix, n,
                 (long)ts.tv_sec, (long)ts.tv_nsec);
        /* Created with its final (read-only) mode: the open descriptor may
         * still write, and no chmod is needed before publishing. */
        int fd = openat(rootfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                        (mode_t)mode);
        if (fd >= 0) {
            return fd;
        }
        if (errno != EEXIST) {
            *os_errno = errno;
            return -1;
        }
    }
    *os_errno = EEXIST;
    return -1;
}

/* rename(2) that fails with EEXIST instead of replacing, where the kernel
 * and file system support it; 1 if unsupported (the caller then checks). */
static int rename_noreplace(int rootfd, const char *from, const char *to) {
#if defined(__linux__) && defined(RENAME_NOREPLACE)
    if (renameat2(rootfd, from, rootfd, to, RENAME_NOREPLACE) == 0) {
        return 0;
    }
    return (errno == EINVAL || errno == ENOSYS) ? 1 : -1;
#else
    (void)rootfd;
    (void)from;
    (void)to;
    return 1;
#endif
}

/* Publish the temp file at rel. A regular file of the same size already
 * there is kept (a concurrent writer, or an earlier put, stored the same
 * bytes); anything else at rel is replaced atomically. */
static int move_into_place(int rootfd, const char *tmp, const char *rel,
                           uint64_t size, int *outcome) {
    int rc = rename_noreplace(rootfd, tmp, rel);
    if (rc == 0) {
        *outcome = SEAMLESS_PUT_CREATED;
        return 0;
    }
    if (rc < 0 && errno != EEXIST) {
        return -1;
    }
    struct stat st;
    bool exists = fstatat(rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size) {
        *outcome = SEAMLESS_PUT_EXISTED;
        unlinkat(rootfd, tmp, 0);
        return 0;
    }
    *outcome = exists ? SEAMLESS_PUT_REPLACED : SEAMLESS_PUT_CREATED;
    return renameat(rootfd, tmp, rootfd, rel);
}

/* Move the finished temp file into place and make that durable if asked.
 * The shard folder is created only when the rename finds it missing. */
static int publish(int rootfd, const seamless_store_config *cfg,
                   const char *tmp, const char *rel, uint64_t size,
                   int *outcome, int *os_errno) {
    int rc = move_into_place(rootfd, tmp, rel, size, outcome);
    if (rc != 0 && errno == ENOENT && cfg->layout == SEAMLESS_LAYOUT_PREFIX) {
        int made = ensure_shard(rootfd, cfg, rel, os_errno);
        if (made != SEAMLESS_OK) {
            return made;
        }
        rc = move_into_place(rootfd, tmp, rel, size, outcome);
    }
    if (rc != 0) {
        *os_errno = errno;
        return SEAMLESS_ERR_OS;
    }
    if (*outcome != SEAMLESS_PUT_EXISTED && (cfg->sync & SEAMLESS_SYNC_DIR)) {
        char dir[3] = {rel[0], rel[1], 0};
        const char *d = cfg->layout == SEAMLESS_LAYOUT_PREFIX ? dir : ".";
        if (fsync_dir_at(rootfd, d) != 0) {
            *os_errno = errno;
            return SEAMLESS_ERR_OS;
        }
    }
    return SEAMLESS_OK;
}

/* The root folder's descriptor: the caller's (cfg->root_fd) when it keeps
 * one open, else a new one that release_root() closes. */
static int open_root(const seamless_store_config *cfg, int *os_errno) {
    if (cfg->root_fd >= 0) {
        return cfg->root_fd;
    }
    int fd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        *os_errno = errno;
    }
    return fd;
}

static void release_root(const seamless_store_config *cfg, int fd) {
    if (fd >= 0 && fd != cfg->root_fd) {
        close(fd);
    }
}

static int put_source(const seamless_store_config *cfg, const seamless_source *src,
                      const uint8_t *expected, uint8_t *digest, uint64_t *size,
                      int *outcome, int *os_errno) {
    if (cfg == NULL || cfg->root == NULL || cfg->tmp_prefix == NULL ||
        digest == NULL || size == NULL || outcome == NULL ||
        os_errno == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    *os_errno = 0;
    int rootfd = open_root(cfg, os_errno);
    if (rootfd < 0) {
        return SEAMLESS_ERR_OS;
    }
    char rel[NAME_MAX_LEN];
    int rc = SEAMLESS_OK;
    if (expected != NULL) {
        /* Already stored: only check that the caller's bytes are right. */
        relative_path(cfg->layout, expected, rel);
        uint64_t known = src->data != NULL || src->stream ? src->len : 0;
        struct stat st;
        if (src->data == NULL && !src->stream && fstat(src->fd, &st) == 0) {
            known = (uint64_t)st.st_size;
        }
        if (present(rootfd, rel, known)) {
            rc = seamless_hash_and_copy(cfg->algorithm, src, -1, digest, size, os_errno);
            if (rc == SEAMLESS_OK) {
                rc = memcmp(digest, expected, SEAMLESS_DIGEST_SIZE)
                         ? SEAMLESS_ERR_MISMATCH
                         : SEAMLESS_OK;
                *outcome = SEAMLESS_PUT_EXISTED;
            }
            release_root(cfg, rootfd);
            return rc;
        }
    }
    char tmp[NAME_MAX_LEN];
    int fd = make_temp(rootfd, cfg->tmp_prefix, cfg->file_mode, tmp, os_errno);
    if (fd < 0) {
        release_root(cfg, rootfd);
        return SEAMLESS_ERR_OS;
    }
#ifdef O_DIRECT
    if (cfg->direct) { /* refused here (tmpfs): the copy is written normally */
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0) {
            (void)fcntl(fd, F_SETFL, flags | O_DIRECT);
        }
    }
#endif
    rc = seamless_hash_and_copy(cfg->algorithm, src, fd, digest, size, os_errno);
    if (rc == SEAMLESS_OK && expected != NULL &&
        memcmp(digest, expected, SEAMLESS_DIGEST_SIZE) != 0) {
        rc = SEAMLESS_ERR_MISMATCH;
    }
    if (rc == SEAMLESS_OK && (cfg->sync & SEAMLESS_SYNC_DATA) && fsync(fd) != 0) {
        *os_errno = errno;
        rc = SEAMLESS_ERR_OS;
    }
    if (close(fd) != 0 && rc == SEAMLESS_OK) {
        *os_errno = errno;
        rc = SEAMLESS_ERR_OS;
    }
    if (rc == SEAMLESS_OK) {
        relative_path(cfg->layout, digest, rel);
        rc = publish(rootfd, cfg, tmp, rel, *size, outcome, os_errno);
    }
    if (rc != SEAMLESS_OK) {
        unlinkat(rootfd, tmp, 0); /* never a final path */
    }
    release_root(cfg, rootfd);
    return rc;
}

int seamless_store_put(const seamless_store_config *cfg, const uint8_t *data,
                       size_t len, int stable, const uint8_t *expected,
                       uint8_t *digest, uint64_t *size, int *outcome,
                       int *os_errno) {
    static const uint8_t empty[1] = {0};
    if (data == NULL && len) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    seamless_source src = {.data = data ? data : empty, .len = len, .fd = -1, .stable = stable != 0};
    return put_source(cfg, &src, expected, digest, size, outcome, os_errno);
}

int seamless_store_put_file(const seamless_store_config *cfg, const char *path,
                            const uint8_t *expected, uint8_t *digest,
                            uint64_t *size, int *outcome, int *os_errno) {
    if (path == NULL || os_errno == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    uint64_t ignored;
    *os_errno = 0;
    int fd = seamless_open_for_read(path, &ignored, os_errno);
    if (fd < 0) {
        return SEAMLESS_ERR_OS;
    }
    seamless_source src = {.fd = fd, .stable = true};
    int rc = put_source(cfg, &src, expected, digest, size, outcome, os_errno);
    close(fd);
    return rc;
}

int seamless_store_put_stream(const seamless_store_config *cfg,
                              const uint8_t *prefix, size_t prefix_len,
                              int fd, uint64_t len, int stall_ms,
                              uint32_t min_rate, const uint8_t *expected,
                              uint8_t *digest, uint64_t *size, int *outcome,
                              int *os_errno) {
    if ((prefix == NULL && prefix_len) || prefix_len > len || fd < 0 ||
        os_errno == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    seamless_stream_window window = {0, 0};
    seamless_source src = {.len = (size_t)len, .fd = fd, .stream = true,
                           .prefix = prefix, .prefix_len = prefix_len,
                           .stall_ms = stall_ms, .min_rate = min_rate,
                           .window = &window};
    return put_source(cfg, &src, expected, digest, size, outcome, os_errno);
}

typedef struct {
    const seamless_store_config *cfg;
    int rootfd;
    const uint8_t *digests;
    size_t count;
    int64_t *sizes;
    atomic_size_t next;
} stat_job;

#define STAT_RUN 256

/* SEAMLESS_STAT_COMPRESSED if only <rel>.zst or <rel>.gz exists (a
 * compressed form, as the reference hashserver stores them), else -1. */
static int64_t compressed_form(int rootfd, const char *rel) {
    static const char *const suffixes[] = {".zst", ".gz"};
    if (rootfd < 0) {
        return -1;
    }
    for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
        char name[NAME_MAX_LEN + 8];
        struct stat st;
        snprintf(name, sizeof name, "%s%s", rel, suffixes[k]);
        if (fstatat(rootfd, name, &st, 0) == 0 && S_ISREG(st.st_mode)) {
            return SEAMLESS_STAT_COMPRESSED;
        }
    }
    return -1;
}

static void stat_worker(void *shared) {
    stat_job *job = shared;
    for (;;) {
        size_t lo = atomic_fetch_add(&job->next, STAT_RUN);
        if (lo >= job->count) {
            return;
        }
        size_t hi = lo + STAT_RUN < job->count ? lo + STAT_RUN : job->count;
        for (size_t i = lo; i < hi; i++) {
            char rel[NAME_MAX_LEN];
            struct stat st;
            relative_path(job->cfg->layout,
                          job->digests + i * SEAMLESS_DIGEST_SIZE, rel);
            bool found = job->rootfd >= 0 &&
                         fstatat(job->rootfd, rel, &st, 0) == 0 &&
                         S_ISREG(st.st_mode);
            job->sizes[i] = found ? (int64_t)st.st_size
                                  : compressed_form(job->rootfd, rel);
        }
    }
}

int seamless_store_stat(const seamless_store_config *cfg,
                        const uint8_t *digests, size_t count, int64_t *sizes) {
    if (cfg == NULL || cfg->root == NULL ||
        (count && (digests == NULL || sizes == NULL))) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    int err = 0;
    stat_job job = {cfg, open_root(cfg, &err), digests, count, sizes, 0};
    atomic_init(&job.next, 0);
    /* A stat is a system call of a microsecond or two: threads pay off
     * from a few thousand on. */
    int nthreads = count >= 4 * STAT_RUN ? seamless_cpu_count() : 1;
    seamless_parallel_run(stat_worker, &job, nthreads);
    release_root(cfg, job.rootfd);
    return SEAMLESS_OK;
}

int seamless_store_sync(const char *root, int *os_errno) {
    if (root == NULL || os_errno == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        *os_errno = errno;
        return SEAMLESS_ERR_OS;
    }
#ifdef __linux__
    int rc = syncfs(fd);
#else
    sync();
    int rc = 0;
#endif
    if (rc != 0) {
        *os_errno = errno;
    }
    close(fd);
    return rc == 0 ? SEAMLESS_OK : SEAMLESS_ERR_OS;
}

/* ---- streaming writes --------------------------------------------------- */

/* Direct I/O writes go out in blocks of this size from an aligned buffer. */
#define STAGE_SIZE (4u << 20)
#define STAGE_ALIGN 4096

struct seamless_store_writer {
    seamless_store_config cfg; /* root_fd is opened by the writer itself */
    int rootfd;
    int fd;
    char tmp[NAME_MAX_LEN];
    seamless_hasher *hasher;
    uint64_t size;
    bool has_expected;
    uint8_t expected[SEAMLESS_DIGEST_SIZE];
    /* Direct I/O (seamless_store_writer_direct): bytes are staged in an
     * aligned buffer and written a full block at a time, bypassing the
     * page cache; the tail is written normally at the end. */
    bool direct;
    uint8_t *stage;
    size_t staged;
};

static int write_fully(int fd, const uint8_t *p, size_t n, int *os_errno) {
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            *os_errno = errno;
            return SEAMLESS_ERR_OS;
        }
        p += k;
        n -= (size_t)k;
    }
    return SEAMLESS_OK;
}

/* Leave direct I/O (for the unaligned tail, or where it is refused). */
static void end_direct(seamless_store_writer *w) {
    int flags = fcntl(w->fd, F_GETFL);
    if (flags >= 0) {
        (void)fcntl(w->fd, F_SETFL, flags & ~O_DIRECT);
    }
    w->direct = false;
}

/* Write the staged bytes: a full block directly, or anything normally. */
static int flush_stage(seamless_store_writer *w, int *os_errno) {
    if (w->staged == 0) {
        return SEAMLESS_OK;
    }
    if (w->direct && w->staged < STAGE_SIZE) {
        end_direct(w);
    }
    int rc = write_fully(w->fd, w->stage, w->staged, os_errno);
    if (rc != SEAMLESS_OK && w->direct && *os_errno == EINVAL) {
        /* The file system takes no direct I/O after all: write normally.
         * A failed direct write has written nothing. */
        end_direct(w);
        rc = write_fully(w->fd, w->stage, w->staged, os_errno);
    }
    w->staged = 0;
    return rc;
}

void seamless_store_writer_free(seamless_store_writer *w) {
    if (w == NULL) {
        return;
    }
    if (w->fd >= 0) {
        close(w->fd);
    }
    if (w->tmp[0]) {
        unlinkat(w->rootfd, w->tmp, 0); /* an unfinished write leaves nothing */
    }
    if (w->rootfd >= 0) {
        close(w->rootfd);
    }
    seamless_hasher_free(w->hasher);
    free(w->stage);
    free(w);
}

int seamless_store_writer_new(const seamless_store_config *cfg,
                              const uint8_t *expected,
                              seamless_store_writer **out, int *os_errno) {
    if (cfg == NULL || cfg->root == NULL || cfg->tmp_prefix == NULL ||
        out == NULL || os_errno == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    *os_errno = 0;
    seamless_store_writer *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return SEAMLESS_ERR_NOMEM;
    }
    w->cfg = *cfg;
    w->fd = -1;
    /* A descriptor of its own: the writer may outlive the caller's. */
    w->rootfd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = w->rootfd < 0 ? SEAMLESS_ERR_OS : SEAMLESS_OK;
    if (rc != SEAMLESS_OK) {
        *os_errno = errno;
    }
    if (rc == SEAMLESS_OK) {
        rc = seamless_hasher_new(cfg->algorithm, &w->hasher);
    }
    if (rc == SEAMLESS_OK) {
        w->fd = make_temp(w->rootfd, cfg->tmp_prefix, cfg->file_mode, w->tmp,
                          os_errno);
        if (w->fd < 0) {
            w->tmp[0] = 0;
            rc = SEAMLESS_ERR_OS;
        }
    }
    if (rc != SEAMLESS_OK) {
        seamless_store_writer_free(w);
        return rc;
    }
    if (expected != NULL) {
        w->has_expected = true;
        memcpy(w->expected, expected, SEAMLESS_DIGEST_SIZE);
    }
    *out = w;
    return SEAMLESS_OK;
}

int seamless_store_writer_direct(seamless_store_writer *w, int *os_errno) {
    if (w == NULL || w->fd < 0 || os_errno == NULL || w->size != 0) {
        return SEAMLESS_ERR_ARGUMENT;
    }
#ifdef O_DIRECT
    if (w->stage == NULL) {
        void *stage = NULL;
        if (posix_memalign(&stage, STAGE_ALIGN, STAGE_SIZE) != 0) {
            return SEAMLESS_ERR_NOMEM;
        }
        w->stage = stage;
    }
    int flags = fcntl(w->fd, F_GETFL);
    if (flags < 0 || fcntl(w->fd, F_SETFL, flags | O_DIRECT) != 0) {
        *os_errno = errno; /* e.g. tmpfs: the writer stays buffered */
        return SEAMLESS_ERR_OS;
    }
    w->direct = true;
    return SEAMLESS_OK;
#else
    *os_errno = ENOTSUP;
    return SEAMLESS_ERR_OS;
#endif
}

int seamless_store_writer_feed(seamless_store_writer *w, const uint8_t *data,
                               size_t len, int *os_errno) {
    if (w == NULL || w->fd < 0 || (data == NULL && len) || os_errno == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    /* The bytes are hashed from the caller's buffer, which the binding
     * keeps unchanged for the duration of this call. */
    int rc = seamless_hasher_update(w->hasher, data, len);
    if (rc != SEAMLESS_OK) {
        return rc;
    }
    w->size += len;
    if (w->stage == NULL || (!w->direct && w->staged == 0)) {
        return write_fully(w->fd, data, len, os_errno);
    }
    while (len) {
        size_t take = STAGE_SIZE - w->staged;
        take = take < len ? take : len;
        memcpy(w->stage + w->staged, data, take);
        w->staged += take;
        data += take;
        len -= take;
        if (w->staged == STAGE_SIZE) {
            rc = flush_stage(w, os_errno);
            if (rc != SEAMLESS_OK) {
                return rc;
            }
            if (!w->direct) { /* refused: the rest goes out normally */
                return write_fully(w->fd, data, len, os_errno);
            }
        }
    }
    return SEAMLESS_OK;
}

int seamless_store_writer_finish(seamless_store_writer *w, uint8_t *digest,
                                 uint64_t *size, int *outcome, int *os_errno) {
    if (w == NULL || w->fd < 0 || digest == NULL || size == NULL ||
        outcome == NULL || os_errno == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    *os_errno = 0;
    *size = w->size;
    int rc = flush_stage(w, os_errno);
    if (rc != SEAMLESS_OK) {
        return rc;
    }
    rc = seamless_hasher_digest(w->hasher, digest);
    if (rc == SEAMLESS_OK && w->has_expected &&
        memcmp(digest, w->expected, SEAMLESS_DIGEST_SIZE) != 0) {
        rc = SEAMLESS_ERR_MISMATCH;
    }
    if (rc == SEAMLESS_OK && (w->cfg.sync & SEAMLESS_SYNC_DATA) &&
        fsync(w->fd) != 0) {
        *os_errno = errno;
        rc = SEAMLESS_ERR_OS;
    }
    if (close(w->fd) != 0 && rc == SEAMLESS_OK) {
        *os_errno = errno;
        rc = SEAMLESS_ERR_OS;
    }
    w->fd = -1;
    if (rc == SEAMLESS_OK) {
        char rel[NAME_MAX_LEN];
        relative_path(w->cfg.layout, digest, rel);
        rc = publish(w->rootfd, &w->cfg, w->tmp, rel, w->size, outcome,
                     os_errno);
        if (rc == SEAMLESS_OK) {
            w->tmp[0] = 0; /* published (or removed as a duplicate) */
        }
    }
    return rc;
}
