/*
 * sha3.c - SHA3-256 (FIPS 202), portable.
 *
 * Only needed to read buffer folders written by hashservers that used the
 * legacy sha3-256 default; it is not on any hot path, so one scalar
 * Keccak-f[1600] suffices.
 */
#include "seamless_native_impl.h"

#include <string.h>

static const uint64_t round_constants[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808Aull,
    0x8000000080008000ull, 0x000000000000808Bull, 0x0000000080000001ull,
    0x8000000080008081ull, 0x8000000000008009ull, 0x000000000000008Aull,
    0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000Aull,
    0x000000008000808Bull, 0x800000000000008Bull, 0x8000000000008089ull,
    0x8000000000008003ull, 0x8000000000008002ull, 0x8000000000000080ull,
    0x000000000000800Aull, 0x800000008000000Aull, 0x8000000080008081ull,
    0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};

/* Rho rotation amounts, in the order the pi permutation visits the lanes. */
static const unsigned rho_offsets[24] = {
    1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14,
    27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
};
static const unsigned pi_lanes[24] = {
    10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4,
    15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
};

SEAMLESS_INLINE uint64_t rotl64(uint64_t x, unsigned n) {
    return (x << n) | (x >> (64u - n));
}

static void keccak_f1600(uint64_t st[25]) {
    uint64_t bc[5];
    for (int round = 0; round < 24; round++) {
        for (int i = 0; i < 5; i++) { /* theta */
            bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
        }
        for (int i = 0; i < 5; i++) {
            uint64_t t = bc[(i + 4) % 5] ^ rotl64(bc[(i + 1) % 5], 1);
            for (int j = 0; j < 25; j += 5) {
                st[j + i] ^= t;
            }
        }
        uint64_t carry = st[1]; /* rho and pi */
        for (int i = 0; i < 24; i++) {
            unsigned j = pi_lanes[i];
            uint64_t next = st[j];
            st[j] = rotl64(carry, rho_offsets[i]);
            carry = next;
        }
        for (int j = 0; j < 25; j += 5) { /* chi */
            for (int i = 0; i < 5; i++) {
                bc[i] = st[j + i];
            }
            for (int i = 0; i < 5; i++) {
                st[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
            }
        }
        st[0] ^= round_constants[round]; /* iota */
    }
}

static void absorb_block(uint64_t st[25], const uint8_t *block) {
    for (int i = 0; i < SHA3_256_RATE / 8; i++) {
        uint64_t lane = 0;
        for (int b = 7; b >= 0; b--) {
            lane = (lane << 8) | block[8 * i + b];
        }
        st[i] ^= lane;
    }
    keccak_f1600(st);
}

void seamless_sha3_256_init(sha3_256_state *st) {
    memset(st, 0, sizeof(*st));
}

void seamless_sha3_256_update(sha3_256_state *st, const uint8_t *data,
                              size_t len) {
    if (st->npending) {
        size_t take = SHA3_256_RATE - st->npending;
        if (take > len) {
            take = len;
        }
        memcpy(st->pending + st->npending, data, take);
        st->npending += take;
        data += take;
        len -= take;
        if (st->npending < SHA3_256_RATE) {
            return;
        }
        absorb_block(st->lanes, st->pending);
        st->npending = 0;
    }
    for (; len >= SHA3_256_RATE; len -= SHA3_256_RATE, data += SHA3_256_RATE) {
        absorb_block(st->lanes, data);
    }
    if (len) {
        memcpy(st->pending, data, len);
        st->npending = len;
    }
}

void seamless_sha3_256_digest(const sha3_256_state *st, uint8_t *digest) {
    sha3_256_state copy = *st;
    uint8_t block[SHA3_256_RATE];
    memcpy(block, copy.pending, copy.npending);
    memset(block + copy.npending, 0, SHA3_256_RATE - copy.npending);
    block[copy.npending] ^= 0x06; /* SHA-3 domain bits and first pad bit */
    block[SHA3_256_RATE - 1] ^= 0x80;
    absorb_block(copy.lanes, block);
    for (int i = 0; i < SEAMLESS_DIGEST_SIZE; i++) {
        digest[i] = (uint8_t)(copy.lanes[i / 8] >> (8 * (i % 8)));
    }
}
