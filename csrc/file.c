/*
 * file.c - digests of files read by the library, one or many at a time.
 *
 * Files are read with read(2) with a sequential-access hint to the kernel.
 * For a single large file, a reader thread fills one block while the caller
 * hashes the other, so the copy out of the page cache overlaps the hashing.
 * Python never sees the data, and the GIL is free meanwhile.
 */
#define _POSIX_C_SOURCE 200809L

#include "seamless_native_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

int seamless_open_for_read(const char *path, uint64_t *size, int *os_errno) {
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        *os_errno = errno;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *os_errno = errno;
        close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        *os_errno = EISDIR;
        close(fd);
        return -1;
    }
    *size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
#ifdef POSIX_FADV_SEQUENTIAL
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    return fd;
}

int64_t seamless_read_full(int fd, uint8_t *buf, size_t len, int64_t offset,
                           int *os_errno) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = offset < 0 ? read(fd, buf + done, len - done)
                               : pread(fd, buf + done, len - done,
                                       (off_t)((uint64_t)offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            *os_errno = errno;
            return -1;
        }
        if (n == 0) {
            break;
        }
        done += (size_t)n;
    }
    return (int64_t)done;
}

/* Files at least this large are read by a separate thread. */
#define PIPELINE_MIN (8u << 20)
#define PIPELINE_BLOCK (1u << 20)

typedef struct {
    int fd;
    uint8_t *buf[2];
    int64_t len[2]; /* bytes in the block; 0 = end of file, -1 = error */
    bool full[2];
    bool stop;      /* set by the hasher to end the reader early */
    int os_errno;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} pipeline;

static void *pipeline_reader(void *arg) {
    pipeline *p = arg;
    for (int slot = 0;; slot ^= 1) {
        pthread_mutex_lock(&p->mu);
        while (p->full[slot] && !p->stop) {
            pthread_cond_wait(&p->cv, &p->mu);
        }
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop) {
            return NULL;
        }
        int err = 0;
        int64_t n = seamless_read_full(p->fd, p->buf[slot], PIPELINE_BLOCK, -1,
                                       &err);
        pthread_mutex_lock(&p->mu);
        p->len[slot] = n;
        p->full[slot] = true;
        if (n < 0) {
            p->os_errno = err;
        }
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (n <= 0) {
            return NULL;
        }
    }
}

/* Hash fd with a reader thread; returns -1 (nothing done) if it cannot start. */
static int hash_fd_pipelined(seamless_hasher *h, int fd, uint64_t *size,
                             int *os_errno) {
    pipeline p = {0};
    p.fd = fd;
    p.buf[0] = malloc(2 * (size_t)PIPELINE_BLOCK);
    if (p.buf[0] == NULL) {
        return -1;
    }
    p.buf[1] = p.buf[0] + PIPELINE_BLOCK;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    pthread_t reader;
    if (pthread_create(&reader, NULL, pipeline_reader, &p) != 0) {
        pthread_cond_destroy(&p.cv);
        pthread_mutex_destroy(&p.mu);
        free(p.buf[0]);
        return -1;
    }
    int rc = SEAMLESS_OK;
    uint64_t total = 0;
    for (int slot = 0;; slot ^= 1) {
        pthread_mutex_lock(&p.mu);
        while (!p.full[slot]) {
            pthread_cond_wait(&p.cv, &p.mu);
        }
        int64_t n = p.len[slot];
        pthread_mutex_unlock(&p.mu);
        if (n < 0) {
            *os_errno = p.os_errno;
            rc = SEAMLESS_ERR_OS;
            break;
        }
        if (n == 0) {
            break;
        }
        seamless_hasher_update(h, p.buf[slot], (size_t)n);
        total += (uint64_t)n;
        pthread_mutex_lock(&p.mu);
        p.full[slot] = false;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
    }
    pthread_mutex_lock(&p.mu);
    p.stop = true;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    pthread_join(reader, NULL);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    free(p.buf[0]);
    *size = total;
    return rc;
}

/* Sequential read(2) loop: works for pipes and devices too, not just files. */
static int hash_fd(int algorithm, int fd, uint8_t *digest, uint64_t *size,
                   int *os_errno, bool pipelined) {
    if (pipelined) {
        seamless_hasher *h = NULL;
        int rc = seamless_hasher_new(algorithm, &h);
        if (rc != SEAMLESS_OK) {
            return rc;
        }
        rc = hash_fd_pipelined(h, fd, size, os_errno);
        if (rc == SEAMLESS_OK) {
            rc = seamless_hasher_digest(h, digest);
        }
        seamless_hasher_free(h);
        if (rc != -1) {
            return rc;
        }
        /* no thread: fall through to the plain loop */
    }
    uint8_t *buf = malloc(SEAMLESS_FILE_BLOCK);
    if (buf == NULL) {
        return SEAMLESS_ERR_NOMEM;
    }
    seamless_hasher *h = NULL;
    int rc = seamless_hasher_new(algorithm, &h);
    uint64_t total = 0;
    while (rc == SEAMLESS_OK) {
        int64_t n = seamless_read_full(fd, buf, SEAMLESS_FILE_BLOCK, -1, os_errno);
        if (n < 0) {
            rc = SEAMLESS_ERR_OS;
            break;
        }
        if (n == 0) {
            rc = seamless_hasher_digest(h, digest);
            break;
        }
        total += (uint64_t)n;
        rc = seamless_hasher_update(h, buf, (size_t)n);
    }
    seamless_hasher_free(h);
    free(buf);
    *size = total;
    return rc;
}

static int hash_path(int algorithm, const char *path, uint8_t *digest,
                     uint64_t *size, int *os_errno, bool may_pipeline) {
    int err = 0;
    uint64_t nbytes = 0, expected;
    if (path == NULL || digest == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    if (algorithm != SEAMLESS_SHA256 && algorithm != SEAMLESS_SHA3_256) {
        return SEAMLESS_ERR_ALGORITHM;
    }
    int fd = seamless_open_for_read(path, &expected, &err);
    int rc = SEAMLESS_ERR_OS;
    if (fd >= 0) {
        bool pipelined = may_pipeline && expected >= PIPELINE_MIN &&
                         seamless_cpu_count() > 1;
        rc = hash_fd(algorithm, fd, digest, &nbytes, &err, pipelined);
        close(fd);
    }
    if (size) {
        *size = nbytes;
    }
    if (os_errno) {
        *os_errno = err;
    }
    return rc;
}

int seamless_hash_file(int algorithm, const char *path, uint8_t *digest,
                       uint64_t *size, int *os_errno) {
    return hash_path(algorithm, path, digest, size, os_errno, true);
}

typedef struct {
    int algorithm;
    const char *const *paths;
    size_t count;
    uint8_t *digests;
    uint64_t *sizes;
    int *statuses;
    int *os_errnos;
    atomic_size_t next;
} files_job;

static void files_worker(void *shared) {
    files_job *job = shared;
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->count) {
            return;
        }
        job->os_errnos[i] = 0;
        /* Files already run in parallel: no reader thread per file. */
        job->statuses[i] = hash_path(
            job->algorithm, job->paths[i],
            job->digests + i * SEAMLESS_DIGEST_SIZE, &job->sizes[i],
            &job->os_errnos[i], job->count == 1);
    }
}

int seamless_hash_files(int algorithm, const char *const *paths, size_t count,
                        uint8_t *digests, uint64_t *sizes, int *statuses,
                        int *os_errnos, int nthreads) {
    if (count && (paths == NULL || digests == NULL || sizes == NULL ||
                  statuses == NULL || os_errnos == NULL)) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    if (algorithm != SEAMLESS_SHA256 && algorithm != SEAMLESS_SHA3_256) {
        return SEAMLESS_ERR_ALGORITHM;
    }
    for (size_t i = 0; i < count; i++) {
        if (paths[i] == NULL) {
            return SEAMLESS_ERR_ARGUMENT;
        }
    }
    if (count == 0) {
        return SEAMLESS_OK;
    }
    files_job job = {algorithm, paths, count, digests, sizes, statuses,
                     os_errnos, 0};
    /* The sizes are unknown before opening; assume files are worth a thread. */
    int n = seamless_choose_threads(nthreads, (uint64_t)count << 20, count);
    atomic_init(&job.next, 0);
    seamless_parallel_run(files_worker, &job, n);
    return SEAMLESS_OK;
}
