/*
 * bytes_batch.c - batch hashing straight from a tuple of Python bytes.
 *
 * Compiled only into the Python extension (it needs Python.h). The cffi
 * binding passes the address of a tuple that it keeps alive for the whole
 * call; bytes objects and tuples are immutable, so their items, sizes and
 * data can be read without the GIL, which cffi has released. This avoids
 * creating one pointer object per buffer in Python, which costs more than
 * hashing a kilobyte.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <string.h>

#include "../seamless_native.h"

int seamless_hash_bytes_tuple(int algorithm, void *tuple, uint8_t *digests,
                              int nthreads, size_t *bad_index) {
    PyObject *items = (PyObject *)tuple;
    if (items == NULL || digests == NULL || bad_index == NULL ||
        !PyTuple_CheckExact(items)) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    size_t count = (size_t)PyTuple_GET_SIZE(items);
    if (count == 0) {
        return SEAMLESS_OK;
    }
    const uint8_t **data = malloc(count * sizeof(*data));
    size_t *lens = malloc(count * sizeof(*lens));
    if (data == NULL || lens == NULL) {
        free(data);
        free(lens);
        return SEAMLESS_ERR_NOMEM;
    }
    int rc = SEAMLESS_OK;
    for (size_t i = 0; i < count; i++) {
        PyObject *item = PyTuple_GET_ITEM(items, (Py_ssize_t)i);
        if (!PyBytes_CheckExact(item)) {
            *bad_index = i;
            rc = SEAMLESS_ERR_ARGUMENT;
            break;
        }
        data[i] = (const uint8_t *)PyBytes_AS_STRING(item);
        lens[i] = (size_t)PyBytes_GET_SIZE(item);
    }
    if (rc == SEAMLESS_OK) {
        rc = seamless_hash_batch(algorithm, data, lens, count, digests, nthreads);
    }
    free(data);
    free(lens);
    return rc;
}

/*
 * Fill list (a Python list of count items, owned by the caller) with the
 * lowercase hex strings of count 32-byte digests. cffi has released the GIL
 * around this call; the strings are created with the GIL re-acquired, as a
 * callback would. Returns SEAMLESS_ERR_NOMEM (with no Python error set) if a
 * string cannot be allocated; the items filled so far stay valid.
 */
/* The two hex characters of every byte value, built once. */
static char hex_pairs[256][2];

static void init_hex_pairs(void) {
    static const char digits[] = "0123456789abcdef";
    for (int b = 0; b < 256; b++) {
        hex_pairs[b][0] = digits[b >> 4];
        hex_pairs[b][1] = digits[b & 15];
    }
}

int seamless_hex_list(const uint8_t *digests, size_t count, void *list) {
    PyObject *out = (PyObject *)list;
    int rc = SEAMLESS_OK;
    PyGILState_STATE gil = PyGILState_Ensure();
    if (hex_pairs[0][0] == 0) { /* first call; the GIL serializes it */
        init_hex_pairs();
    }
    if (digests == NULL || out == NULL || !PyList_CheckExact(out) ||
        (size_t)PyList_GET_SIZE(out) != count) {
        rc = SEAMLESS_ERR_ARGUMENT;
    }
    for (size_t i = 0; rc == SEAMLESS_OK && i < count; i++) {
        PyObject *s = PyUnicode_New(2 * SEAMLESS_DIGEST_SIZE, 127);
        if (s == NULL) {
            PyErr_Clear();
            rc = SEAMLESS_ERR_NOMEM;
            break;
        }
        Py_UCS1 *chars = PyUnicode_1BYTE_DATA(s);
        const uint8_t *d = digests + i * SEAMLESS_DIGEST_SIZE;
        for (int j = 0; j < SEAMLESS_DIGEST_SIZE; j++) {
            memcpy(chars + 2 * j, hex_pairs[d[j]], 2);
        }
        PyObject *old = PyList_GET_ITEM(out, (Py_ssize_t)i);
        PyList_SET_ITEM(out, (Py_ssize_t)i, s);
        Py_XDECREF(old);
    }
    PyGILState_Release(gil);
    return rc;
}
