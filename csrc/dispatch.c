/*
 * dispatch.c - choose the SHA-256 kernel once per process.
 *
 * The choice is an atomic int, so concurrent first calls agree without a
 * lock (they may both probe the CPU; the result is the same).
 */
#include "seamless_native_impl.h"

#include <stdatomic.h>

static atomic_int active_kernel = -1;

int seamless_sha256_kernels_available(void) {
    int mask = 1 << SEAMLESS_KERNEL_PORTABLE;
#if SEAMLESS_HAS_SHANI
    if (seamless_cpu_has_shani()) {
        mask |= 1 << SEAMLESS_KERNEL_SHANI;
    }
#endif
    return mask;
}

int seamless_sha256_kernel(void) {
    int kernel = atomic_load_explicit(&active_kernel, memory_order_acquire);
    if (kernel < 0) {
        int available = seamless_sha256_kernels_available();
        kernel = (available & (1 << SEAMLESS_KERNEL_SHANI))
                     ? SEAMLESS_KERNEL_SHANI
                     : SEAMLESS_KERNEL_PORTABLE;
        atomic_store_explicit(&active_kernel, kernel, memory_order_release);
    }
    return kernel;
}

int seamless_set_sha256_kernel(int kernel) {
    if (kernel < 0 || kernel > SEAMLESS_KERNEL_SHANI) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    if (!(seamless_sha256_kernels_available() & (1 << kernel))) {
        return SEAMLESS_ERR_ALGORITHM;
    }
    atomic_store_explicit(&active_kernel, kernel, memory_order_release);
    return SEAMLESS_OK;
}

sha256_compress_fn seamless_sha256_compress(void) {
#if SEAMLESS_HAS_SHANI
    if (seamless_sha256_kernel() == SEAMLESS_KERNEL_SHANI) {
        return seamless_sha256_compress_shani;
    }
#endif
    return seamless_sha256_compress_portable;
}

sha256_compress_x2_fn seamless_sha256_compress_x2(void) {
#if SEAMLESS_HAS_SHANI
    if (seamless_sha256_kernel() == SEAMLESS_KERNEL_SHANI) {
        return seamless_sha256_compress_x2_shani;
    }
#endif
    return seamless_sha256_compress_x2_portable;
}
