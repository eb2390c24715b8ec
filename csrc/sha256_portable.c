/*
 * sha256_portable.c - scalar SHA-256 (FIPS 180-4), always compiled.
 *
 * This is the oracle the accelerated kernels are tested against, and the
 * kernel used on CPUs without SHA extensions. It also holds the padding and
 * serialization helpers that every kernel shares.
 */
#include "seamless_native_impl.h"

#include <string.h>

const uint32_t seamless_sha256_iv[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

const uint32_t seamless_sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu,
    0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u,
    0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u,
    0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu,
    0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u,
    0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
    0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u,
    0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u, 0x1e376c08u,
    0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu,
    0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

SEAMLESS_INLINE uint32_t rotr(uint32_t x, unsigned n) {
    return (x >> n) | (x << (32u - n));
}

SEAMLESS_INLINE uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

SEAMLESS_INLINE void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void seamless_sha256_compress_portable(uint32_t state[8], const uint8_t *blocks,
                                       size_t nblocks) {
    uint32_t w[64];
    for (size_t blk = 0; blk < nblocks; blk++, blocks += SHA256_BLOCK) {
        for (int i = 0; i < 16; i++) {
            w[i] = load_be32(blocks + 4 * i);
        }
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^
                          (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^
                          (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int i = 0; i < 64; i++) {
            uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
            uint32_t ch = (e & f) ^ (~e & g);
            uint32_t t1 = h + S1 + ch + seamless_sha256_k[i] + w[i];
            uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
            uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
            uint32_t t2 = S0 + maj;
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}

/* Scalar code gains nothing from interleaving: run the two chains in turn. */
void seamless_sha256_compress_x2_portable(uint32_t state_a[8],
                                          uint32_t state_b[8],
                                          const uint8_t *blocks_a,
                                          const uint8_t *blocks_b,
                                          size_t nblocks) {
    seamless_sha256_compress_portable(state_a, blocks_a, nblocks);
    seamless_sha256_compress_portable(state_b, blocks_b, nblocks);
}

size_t seamless_sha256_tail(uint8_t out[2 * SHA256_BLOCK], const uint8_t *rest,
                            size_t rest_len, uint64_t total_len) {
    /* rest_len < 64; the 0x80 byte and the 8-byte length need 9 more. */
    size_t nblocks = (rest_len + 9 > SHA256_BLOCK) ? 2 : 1;
    size_t end = nblocks * SHA256_BLOCK;
    if (rest_len) {
        memcpy(out, rest, rest_len);
    }
    out[rest_len] = 0x80;
    memset(out + rest_len + 1, 0, end - rest_len - 1 - 8);
    uint64_t bits = total_len << 3;
    for (int i = 0; i < 8; i++) {
        out[end - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    return nblocks;
}

void seamless_sha256_state_to_digest(const uint32_t state[8], uint8_t *digest) {
    for (int i = 0; i < 8; i++) {
        store_be32(digest + 4 * i, state[i]);
    }
}
