/*
 * sha3.c - SHA3-256 (FIPS 202), portable.
 *
 * Only needed to read buffer folders written by hashservers that used the
 * legacy sha3-256 default. One scalar Keccak-f[1600], unrolled over lanes.
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

#define ROL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

/*
 * Keccak-f[1600] with the 25 lanes in local variables and the step
 * mappings written out per lane (lane i is a[x + 5y]), so that the compiler
 * keeps the state in registers. The rotation amounts are those of FIPS 202;
 * pi moves lane (x, y) to (y, 2x + 3y).
 */
static void keccak_f1600(uint64_t st[25]) {
    uint64_t a00 = st[0];
    uint64_t a01 = st[1];
    uint64_t a02 = st[2];
    uint64_t a03 = st[3];
    uint64_t a04 = st[4];
    uint64_t a05 = st[5];
    uint64_t a06 = st[6];
    uint64_t a07 = st[7];
    uint64_t a08 = st[8];
    uint64_t a09 = st[9];
    uint64_t a10 = st[10];
    uint64_t a11 = st[11];
    uint64_t a12 = st[12];
    uint64_t a13 = st[13];
    uint64_t a14 = st[14];
    uint64_t a15 = st[15];
    uint64_t a16 = st[16];
    uint64_t a17 = st[17];
    uint64_t a18 = st[18];
    uint64_t a19 = st[19];
    uint64_t a20 = st[20];
    uint64_t a21 = st[21];
    uint64_t a22 = st[22];
    uint64_t a23 = st[23];
    uint64_t a24 = st[24];
    for (int round = 0; round < 24; round++) {
        /* theta */
        uint64_t c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20;
        uint64_t c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21;
        uint64_t c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22;
        uint64_t c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23;
        uint64_t c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24;
        uint64_t d0 = c4 ^ ROL64(c1, 1);
        uint64_t d1 = c0 ^ ROL64(c2, 1);
        uint64_t d2 = c1 ^ ROL64(c3, 1);
        uint64_t d3 = c2 ^ ROL64(c4, 1);
        uint64_t d4 = c3 ^ ROL64(c0, 1);
        /* rho and pi: b[y][2x+3y] = rot(a[x][y] ^ d[x]) */
        uint64_t b00 = (a00 ^ d0);
        uint64_t b16 = ROL64(a05 ^ d0, 36);
        uint64_t b07 = ROL64(a10 ^ d0, 3);
        uint64_t b23 = ROL64(a15 ^ d0, 41);
        uint64_t b14 = ROL64(a20 ^ d0, 18);
        uint64_t b10 = ROL64(a01 ^ d1, 1);
        uint64_t b01 = ROL64(a06 ^ d1, 44);
        uint64_t b17 = ROL64(a11 ^ d1, 10);
        uint64_t b08 = ROL64(a16 ^ d1, 45);
        uint64_t b24 = ROL64(a21 ^ d1, 2);
        uint64_t b20 = ROL64(a02 ^ d2, 62);
        uint64_t b11 = ROL64(a07 ^ d2, 6);
        uint64_t b02 = ROL64(a12 ^ d2, 43);
        uint64_t b18 = ROL64(a17 ^ d2, 15);
        uint64_t b09 = ROL64(a22 ^ d2, 61);
        uint64_t b05 = ROL64(a03 ^ d3, 28);
        uint64_t b21 = ROL64(a08 ^ d3, 55);
        uint64_t b12 = ROL64(a13 ^ d3, 25);
        uint64_t b03 = ROL64(a18 ^ d3, 21);
        uint64_t b19 = ROL64(a23 ^ d3, 56);
        uint64_t b15 = ROL64(a04 ^ d4, 27);
        uint64_t b06 = ROL64(a09 ^ d4, 20);
        uint64_t b22 = ROL64(a14 ^ d4, 39);
        uint64_t b13 = ROL64(a19 ^ d4, 8);
        uint64_t b04 = ROL64(a24 ^ d4, 14);
        /* chi */
        a00 = b00 ^ (~b01 & b02);
        a01 = b01 ^ (~b02 & b03);
        a02 = b02 ^ (~b03 & b04);
        a03 = b03 ^ (~b04 & b00);
        a04 = b04 ^ (~b00 & b01);
        a05 = b05 ^ (~b06 & b07);
        a06 = b06 ^ (~b07 & b08);
        a07 = b07 ^ (~b08 & b09);
        a08 = b08 ^ (~b09 & b05);
        a09 = b09 ^ (~b05 & b06);
        a10 = b10 ^ (~b11 & b12);
        a11 = b11 ^ (~b12 & b13);
        a12 = b12 ^ (~b13 & b14);
        a13 = b13 ^ (~b14 & b10);
        a14 = b14 ^ (~b10 & b11);
        a15 = b15 ^ (~b16 & b17);
        a16 = b16 ^ (~b17 & b18);
        a17 = b17 ^ (~b18 & b19);
        a18 = b18 ^ (~b19 & b15);
        a19 = b19 ^ (~b15 & b16);
        a20 = b20 ^ (~b21 & b22);
        a21 = b21 ^ (~b22 & b23);
        a22 = b22 ^ (~b23 & b24);
        a23 = b23 ^ (~b24 & b20);
        a24 = b24 ^ (~b20 & b21);
        /* iota */
        a00 ^= round_constants[round];

    }
    st[0] = a00;
    st[1] = a01;
    st[2] = a02;
    st[3] = a03;
    st[4] = a04;
    st[5] = a05;
    st[6] = a06;
    st[7] = a07;
    st[8] = a08;
    st[9] = a09;
    st[10] = a10;
    st[11] = a11;
    st[12] = a12;
    st[13] = a13;
    st[14] = a14;
    st[15] = a15;
    st[16] = a16;
    st[17] = a17;
    st[18] = a18;
    st[19] = a19;
    st[20] = a20;
    st[21] = a21;
    st[22] = a22;
    st[23] = a23;
    st[24] = a24;
}

SEAMLESS_INLINE uint64_t load_le64(const uint8_t *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    for (int b = 7; b >= 0; b--) {
        v = (v << 8) | p[b];
    }
    return v;
#endif
}

static void absorb_block(uint64_t st[25], const uint8_t *block) {
    for (int i = 0; i < SHA3_256_RATE / 8; i++) {
        st[i] ^= load_le64(block + 8 * i);
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
