/*
 * bytes_batch.c - batch hashing straight from a tuple of Python bytes.
 *
 * Compiled only into the Python extension (it needs Python.h). The cffi
 * binding passes the address of a tuple that it keeps alive for the whole
 * call; bytes objects and tuples are immutable, so their items, sizes and
 * data can be read without the GIL, which cffi has released. This avoids
 * creating one pointer object per buffer in Python, which costs more than
 * hashing a kilobyte.
 *
 * When hex strings are wanted, the strings are allocated (which needs the
 * GIL) while background threads hash, and filled in once the digests are
 * there: the allocation then costs no extra wall time on a multi-core
 * machine.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <string.h>

#include "../seamless_native_impl.h"

/* The two hex characters of every byte value, built on first use. */
static char hex_pairs[256][2];

static void init_hex_pairs(void) {
    static const char digits[] = "0123456789abcdef";
    for (int b = 0; b < 256; b++) {
        hex_pairs[b][0] = digits[b >> 4];
        hex_pairs[b][1] = digits[b & 15];
    }
}

static void write_hex(Py_UCS1 *chars, const uint8_t *digest) {
    for (int j = 0; j < SEAMLESS_DIGEST_SIZE; j++) {
        memcpy(chars + 2 * j, hex_pairs[digest[j]], 2);
    }
}

/*
 * With the GIL held: put a new 64-character str in every slot of list (a
 * list of count items owned by the caller). Returns 0, or -1 (no Python
 * error left set) when memory runs out; filled slots stay valid.
 */
static int allocate_strings(PyObject *list, size_t count) {
    int rc = 0;
    PyGILState_STATE gil = PyGILState_Ensure();
    if (hex_pairs[0][0] == 0) {
        init_hex_pairs();
    }
    for (size_t i = 0; i < count; i++) {
        PyObject *s = PyUnicode_New(2 * SEAMLESS_DIGEST_SIZE, 127);
        if (s == NULL) {
            PyErr_Clear();
            rc = -1;
            break;
        }
        PyObject *old = PyList_GET_ITEM(list, (Py_ssize_t)i);
        PyList_SET_ITEM(list, (Py_ssize_t)i, s);
        Py_XDECREF(old);
    }
    PyGILState_Release(gil);
    return rc;
}

/*
 * Fill the strings made by allocate_strings. They are new objects that no
 * other code has seen yet, so writing their characters needs no GIL.
 */
static void fill_strings(PyObject *list, const uint8_t *digests, size_t count) {
    for (size_t i = 0; i < count; i++) {
        PyObject *s = PyList_GET_ITEM(list, (Py_ssize_t)i);
        write_hex(PyUnicode_1BYTE_DATA(s), digests + i * SEAMLESS_DIGEST_SIZE);
    }
}

typedef struct {
    PyObject *list;
    const uint8_t *digests;
    size_t count;
    size_t per_part;
    atomic_size_t next_part;
} fill_job;

static void fill_worker(void *shared) {
    fill_job *job = shared;
    for (;;) {
        size_t lo = atomic_fetch_add(&job->next_part, 1) * job->per_part;
        if (lo >= job->count) {
            return;
        }
        size_t n = job->count - lo < job->per_part ? job->count - lo : job->per_part;
        for (size_t i = lo; i < lo + n; i++) {
            PyObject *s = PyList_GET_ITEM(job->list, (Py_ssize_t)i);
            write_hex(PyUnicode_1BYTE_DATA(s), job->digests + i * SEAMLESS_DIGEST_SIZE);
        }
    }
}

/* fill_strings, spread over nthreads threads for large lists. */
static void fill_strings_parallel(PyObject *list, const uint8_t *digests,
                                  size_t count, int nthreads) {
    fill_job job = {list, digests, count, 0, 0};
    job.per_part = count / ((size_t)nthreads * 4) + 1;
    atomic_init(&job.next_part, 0);
    seamless_parallel_run(fill_worker, &job, count >= 4096 ? nthreads : 1);
}

static bool is_list_of(void *list, size_t count) {
    PyObject *out = (PyObject *)list;
    return out != NULL && PyList_CheckExact(out) &&
           (size_t)PyList_GET_SIZE(out) == count;
}

/*
 * Digests of the bytes objects in tuple into digests[32 * len(tuple)] and,
 * if hex_list is not NULL, their hex strings into that list (of the same
 * length, items replaced). An item that is not exactly bytes makes the call
 * return SEAMLESS_ERR_ARGUMENT with its position in *bad_index, before any
 * hashing.
 */
int seamless_hash_bytes_tuple(int algorithm, void *tuple, uint8_t *digests,
                              int nthreads, size_t *bad_index,
                              void *hex_list) {
    PyObject *items = (PyObject *)tuple;
    if (items == NULL || bad_index == NULL || !PyTuple_CheckExact(items)) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    size_t count = (size_t)PyTuple_GET_SIZE(items);
    if (count == 0) {
        return SEAMLESS_OK;
    }
    if (digests == NULL || (hex_list != NULL && !is_list_of(hex_list, count))) {
        return SEAMLESS_ERR_ARGUMENT;
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
    seamless_batch_job job;
    int nworkers = 1;
    if (rc == SEAMLESS_OK) {
        rc = seamless_batch_init(&job, algorithm, data, lens, count, digests,
                                 nthreads, &nworkers);
    }
    if (rc == SEAMLESS_OK && hex_list == NULL) {
        seamless_parallel_run(seamless_batch_worker, &job, nworkers);
    } else if (rc == SEAMLESS_OK) {
        seamless_threads *workers =
            seamless_threads_start(seamless_batch_worker, &job, nworkers);
        int alloc = allocate_strings((PyObject *)hex_list, count);
        seamless_threads_join(workers, seamless_batch_worker, &job);
        if (alloc == 0) {
            fill_strings_parallel((PyObject *)hex_list, digests, count, nworkers);
        } else {
            rc = SEAMLESS_ERR_NOMEM;
        }
    }
    free(data);
    free(lens);
    return rc;
}

/*
 * Fill list (a Python list of count items, owned by the caller) with the
 * lowercase hex strings of count 32-byte digests.
 */
int seamless_hex_list(const uint8_t *digests, size_t count, void *list) {
    if (digests == NULL || !is_list_of(list, count)) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    if (allocate_strings((PyObject *)list, count) != 0) {
        return SEAMLESS_ERR_NOMEM;
    }
    fill_strings((PyObject *)list, digests, count);
    return SEAMLESS_OK;
}
