/*
 * errors.c - names of status codes and library-wide facts.
 */
#include "seamless_native_impl.h"

const char *seamless_strerror(int code) {
    switch (code) {
    case SEAMLESS_OK:
        return "success";
    case SEAMLESS_ERR_NOMEM:
        return "out of memory";
    case SEAMLESS_ERR_ARGUMENT:
        return "invalid argument";
    case SEAMLESS_ERR_ALGORITHM:
        return "unsupported hash algorithm or kernel";
    case SEAMLESS_ERR_OS:
        return "operating system error";
    case SEAMLESS_ERR_CHANGED:
        return "file changed while being read";
    case SEAMLESS_ERR_MISMATCH:
        return "checksum mismatch";
    default:
        return "unknown error";
    }
}

int seamless_abi_version(void) {
    return SEAMLESS_NATIVE_ABI;
}
