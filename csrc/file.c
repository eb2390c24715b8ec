/*
 * file.c - digests of files read by the library, one or many at a time.
 *
 * Files are read with read(2) with a sequential-access hint to the kernel,
 * through the pipeline of pipeline.c (a reader thread for large files, so
 * the copy out of the page cache overlaps the hashing). Python never sees
 * the data, and the GIL is free meanwhile.
 */
#define _POSIX_C_SOURCE 200809L

#include "seamless_native_impl.h"

#include <errno.h>
#include <fcntl.h>
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

/* Hash an open file in one pass: with a reader thread for a large file,
 * unless the caller already hashes files in parallel (one_thread). */
static int hash_fd(int algorithm, int fd, uint8_t *digest, uint64_t *size,
                   int *os_errno, bool one_thread) {
    seamless_source src = {.fd = fd, .stable = true, .one_thread = one_thread};
    return seamless_hash_and_copy(algorithm, &src, -1, digest, size, os_errno);
}

static int hash_path(int algorithm, const char *path, uint8_t *digest,
                     uint64_t *size, int *os_errno, bool one_thread) {
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
        rc = hash_fd(algorithm, fd, digest, &nbytes, &err, one_thread);
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
    return hash_path(algorithm, path, digest, size, os_errno, false);
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
        /* Files already run in parallel: no extra reader thread per file. */
        job->statuses[i] = hash_path(
            job->algorithm, job->paths[i],
            job->digests + i * SEAMLESS_DIGEST_SIZE, &job->sizes[i],
            &job->os_errnos[i], job->count > 1);
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
