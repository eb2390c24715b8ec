/*
 * clock.c - the monotonic clock of the core's timeouts (stream stalls, the
 * database front's turns and sweeps), in microseconds.
 */
#define _GNU_SOURCE

#include "seamless_native_impl.h"

#include <time.h>

int64_t seamless_monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
