/*
 * threads.c - a minimal fork-join helper over POSIX threads.
 *
 * Workers pull work from an atomic counter in the shared struct, so a
 * failure to start some threads only costs speed: the calling thread always
 * runs the work function too and drains whatever is left.
 */
#define _POSIX_C_SOURCE 200809L

#include "seamless_native_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 64
/* Below this much work per thread, starting threads costs more than it saves. */
#define MIN_BYTES_PER_THREAD (1u << 20)

typedef struct {
    seamless_worker_fn fn;
    void *shared;
} worker_args;

static void *worker_main(void *arg) {
    const worker_args *w = arg;
    w->fn(w->shared);
    return NULL;
}

int seamless_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) {
        return 1;
    }
    return n > MAX_THREADS ? MAX_THREADS : (int)n;
}

int seamless_choose_threads(int requested, uint64_t work_bytes,
                            size_t work_items) {
    int n = requested;
    if (n <= 0) {
        n = seamless_cpu_count();
        uint64_t by_bytes = work_bytes / MIN_BYTES_PER_THREAD;
        if (by_bytes < (uint64_t)n) {
            n = by_bytes < 1 ? 1 : (int)by_bytes;
        }
    }
    if ((size_t)n > work_items) {
        n = work_items ? (int)work_items : 1;
    }
    return n > MAX_THREADS ? MAX_THREADS : n;
}

void seamless_parallel_run(seamless_worker_fn fn, void *shared, int nthreads) {
    pthread_t threads[MAX_THREADS];
    worker_args args = {fn, shared};
    int started = 0;
    if (nthreads > MAX_THREADS) {
        nthreads = MAX_THREADS;
    }
    for (int i = 1; i < nthreads; i++) {
        if (pthread_create(&threads[started], NULL, worker_main, &args) != 0) {
            break; /* the threads already running, and this one, do the rest */
        }
        started++;
    }
    fn(shared);
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
}

struct seamless_threads {
    pthread_t threads[MAX_THREADS];
    int started;
    worker_args args;
};

seamless_threads *seamless_threads_start(seamless_worker_fn fn, void *shared,
                                         int nthreads) {
    seamless_threads *t = malloc(sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    t->args.fn = fn;
    t->args.shared = shared;
    t->started = 0;
    if (nthreads > MAX_THREADS) {
        nthreads = MAX_THREADS;
    }
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&t->threads[t->started], NULL, worker_main,
                           &t->args) != 0) {
            break;
        }
        t->started++;
    }
    return t;
}

void seamless_threads_join(seamless_threads *threads, seamless_worker_fn fn,
                           void *shared) {
    if (threads == NULL || threads->started == 0) {
        fn(shared); /* no worker ran: do the work here */
    }
    if (threads == NULL) {
        return;
    }
    for (int i = 0; i < threads->started; i++) {
        pthread_join(threads->threads[i], NULL);
    }
    free(threads);
}
