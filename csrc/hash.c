/*
 * hash.c - one-shot and streaming digests.
 */
#include "seamless_native_impl.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t state[8];
    uint8_t pending[SHA256_BLOCK];
    size_t npending;
    uint64_t total;
} sha256_stream;

struct seamless_hasher {
    int algorithm;
    union {
        sha256_stream sha256;
        sha3_256_state sha3;
    } u;
};

static void sha256_oneshot(const uint8_t *data, size_t len, uint8_t *digest) {
    uint32_t state[8];
    uint8_t tail[2 * SHA256_BLOCK];
    memcpy(state, seamless_sha256_iv, sizeof(state));
    size_t nfull = len / SHA256_BLOCK;
    if (nfull) {
        seamless_sha256_compress()(state, data, nfull);
    }
    size_t rest = len - nfull * SHA256_BLOCK;
    size_t ntail =
        seamless_sha256_tail(tail, data + nfull * SHA256_BLOCK, rest, len);
    seamless_sha256_compress()(state, tail, ntail);
    seamless_sha256_state_to_digest(state, digest);
}

int seamless_hash(int algorithm, const uint8_t *data, size_t len,
                  uint8_t *digest) {
    if ((data == NULL && len) || digest == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    if (algorithm == SEAMLESS_SHA256) {
        sha256_oneshot(data, len, digest);
        return SEAMLESS_OK;
    }
    if (algorithm == SEAMLESS_SHA3_256) {
        sha3_256_state st;
        seamless_sha3_256_init(&st);
        seamless_sha3_256_update(&st, data, len);
        seamless_sha3_256_digest(&st, digest);
        return SEAMLESS_OK;
    }
    return SEAMLESS_ERR_ALGORITHM;
}

int seamless_hasher_new(int algorithm, seamless_hasher **out) {
    if (out == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    if (algorithm != SEAMLESS_SHA256 && algorithm != SEAMLESS_SHA3_256) {
        return SEAMLESS_ERR_ALGORITHM;
    }
    seamless_hasher *h = malloc(sizeof(*h));
    if (h == NULL) {
        return SEAMLESS_ERR_NOMEM;
    }
    h->algorithm = algorithm;
    if (algorithm == SEAMLESS_SHA256) {
        memcpy(h->u.sha256.state, seamless_sha256_iv, sizeof(h->u.sha256.state));
        h->u.sha256.npending = 0;
        h->u.sha256.total = 0;
    } else {
        seamless_sha3_256_init(&h->u.sha3);
    }
    *out = h;
    return SEAMLESS_OK;
}

static void sha256_stream_update(sha256_stream *s, const uint8_t *data,
                                 size_t len) {
    sha256_compress_fn compress = seamless_sha256_compress();
    s->total += len;
    if (s->npending) {
        size_t take = SHA256_BLOCK - s->npending;
        if (take > len) {
            take = len;
        }
        memcpy(s->pending + s->npending, data, take);
        s->npending += take;
        data += take;
        len -= take;
        if (s->npending < SHA256_BLOCK) {
            return;
        }
        compress(s->state, s->pending, 1);
        s->npending = 0;
    }
    size_t nfull = len / SHA256_BLOCK;
    if (nfull) {
        compress(s->state, data, nfull);
        data += nfull * SHA256_BLOCK;
        len -= nfull * SHA256_BLOCK;
    }
    if (len) {
        memcpy(s->pending, data, len);
        s->npending = len;
    }
}

int seamless_hasher_update(seamless_hasher *hasher, const uint8_t *data,
                           size_t len) {
    if (hasher == NULL || (data == NULL && len)) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    if (len == 0) {
        return SEAMLESS_OK;
    }
    if (hasher->algorithm == SEAMLESS_SHA256) {
        sha256_stream_update(&hasher->u.sha256, data, len);
    } else {
        seamless_sha3_256_update(&hasher->u.sha3, data, len);
    }
    return SEAMLESS_OK;
}

int seamless_hasher_digest(const seamless_hasher *hasher, uint8_t *digest) {
    if (hasher == NULL || digest == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    if (hasher->algorithm == SEAMLESS_SHA256) {
        const sha256_stream *s = &hasher->u.sha256;
        uint32_t state[8];
        uint8_t tail[2 * SHA256_BLOCK];
        memcpy(state, s->state, sizeof(state));
        size_t ntail = seamless_sha256_tail(tail, s->pending, s->npending,
                                            s->total);
        seamless_sha256_compress()(state, tail, ntail);
        seamless_sha256_state_to_digest(state, digest);
    } else {
        seamless_sha3_256_digest(&hasher->u.sha3, digest);
    }
    return SEAMLESS_OK;
}

int seamless_hasher_copy(const seamless_hasher *hasher, seamless_hasher **out) {
    if (hasher == NULL || out == NULL) {
        return SEAMLESS_ERR_ARGUMENT;
    }
    seamless_hasher *h = malloc(sizeof(*h));
    if (h == NULL) {
        return SEAMLESS_ERR_NOMEM;
    }
    memcpy(h, hasher, sizeof(*h));
    *out = h;
    return SEAMLESS_OK;
}

void seamless_hasher_free(seamless_hasher *hasher) {
    free(hasher);
}
