/*
 * sha256_x86.c - SHA-256 with the x86 SHA extensions (SHA-NI).
 *
 * The functions carry a target attribute, so this file compiles without
 * -msha and the kernel is chosen at run time (dispatch.c). One SHA256RNDS2
 * does two rounds but has a latency of several cycles, so a single message
 * leaves the unit idle between dependent rounds; the x2 kernel runs two
 * independent messages side by side and nearly doubles the throughput of
 * batch hashing.
 */
#include "seamless_native_impl.h"

#if SEAMLESS_HAS_SHANI

#include <cpuid.h>
#include <immintrin.h>

#define SEAMLESS_TARGET_SHANI __attribute__((target("sha,ssse3,sse4.1")))

bool seamless_cpu_has_shani(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
        return false;
    }
    bool ssse3 = (ecx >> 9) & 1u;
    bool sse41 = (ecx >> 19) & 1u;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        return false;
    }
    bool sha = (ebx >> 29) & 1u;
    return ssse3 && sse41 && sha;
}

/* The state as the SHA instructions want it: {A,B,E,F} and {C,D,G,H}. */
typedef struct {
    __m128i abef;
    __m128i cdgh;
} shani_state;

SEAMLESS_TARGET_SHANI SEAMLESS_INLINE shani_state load_state(
    const uint32_t state[8]) {
    __m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    shani_state s;
    s.abef = _mm_alignr_epi8(cdab, efgh, 8);
    s.cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
    return s;
}

SEAMLESS_TARGET_SHANI SEAMLESS_INLINE void store_state(uint32_t state[8],
                                                       shani_state s) {
    __m128i feba = _mm_shuffle_epi32(s.abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(s.cdgh, 0xB1);
    __m128i dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
    _mm_storeu_si128((__m128i *)&state[0], dcba);
    _mm_storeu_si128((__m128i *)&state[4], hgfe);
}

/* Four rounds with message words w (already in schedule order) and k. */
SEAMLESS_TARGET_SHANI SEAMLESS_INLINE void four_rounds(shani_state *s,
                                                       __m128i w, int group) {
    __m128i k = _mm_loadu_si128((const __m128i *)&seamless_sha256_k[4 * group]);
    __m128i wk = _mm_add_epi32(w, k);
    s->cdgh = _mm_sha256rnds2_epu32(s->cdgh, s->abef, wk);
    wk = _mm_shuffle_epi32(wk, 0x0E);
    s->abef = _mm_sha256rnds2_epu32(s->abef, s->cdgh, wk);
}

/* W[i] from W[i-4..i-1] (each a group of four words). */
SEAMLESS_TARGET_SHANI SEAMLESS_INLINE __m128i schedule(__m128i w4, __m128i w3,
                                                       __m128i w2,
                                                       __m128i w1) {
    __m128i x = _mm_sha256msg1_epu32(w4, w3);
    x = _mm_add_epi32(x, _mm_alignr_epi8(w1, w2, 4));
    return _mm_sha256msg2_epu32(x, w1);
}

SEAMLESS_TARGET_SHANI SEAMLESS_INLINE __m128i load_words(const uint8_t *p) {
    const __m128i bswap =
        _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), bswap);
}

/*
 * The 16 groups of four rounds are spelled out so that the four message
 * registers stay in registers; a loop indexing w[g & 3] would spill them.
 * ROUNDS_LOAD(g) takes message words from the block; ROUNDS_NEXT(g) derives
 * them from the previous four groups, rotating through w0..w3.
 */
#define ROUNDS_LOAD(s, w, blk, g)                                              \
    do {                                                                       \
        w = load_words((blk) + 16 * (g));                                      \
        four_rounds(s, w, g);                                                  \
    } while (0)
#define ROUNDS_NEXT(s, w4, w3, w2, w1, g)                                      \
    do {                                                                       \
        w4 = schedule(w4, w3, w2, w1);                                         \
        four_rounds(s, w4, g);                                                 \
    } while (0)
#define ALL_ROUNDS(s, w0, w1, w2, w3, blk)                                     \
    do {                                                                       \
        ROUNDS_LOAD(s, w0, blk, 0);                                            \
        ROUNDS_LOAD(s, w1, blk, 1);                                            \
        ROUNDS_LOAD(s, w2, blk, 2);                                            \
        ROUNDS_LOAD(s, w3, blk, 3);                                            \
        ROUNDS_NEXT(s, w0, w1, w2, w3, 4);                                     \
        ROUNDS_NEXT(s, w1, w2, w3, w0, 5);                                     \
        ROUNDS_NEXT(s, w2, w3, w0, w1, 6);                                     \
        ROUNDS_NEXT(s, w3, w0, w1, w2, 7);                                     \
        ROUNDS_NEXT(s, w0, w1, w2, w3, 8);                                     \
        ROUNDS_NEXT(s, w1, w2, w3, w0, 9);                                     \
        ROUNDS_NEXT(s, w2, w3, w0, w1, 10);                                    \
        ROUNDS_NEXT(s, w3, w0, w1, w2, 11);                                    \
        ROUNDS_NEXT(s, w0, w1, w2, w3, 12);                                    \
        ROUNDS_NEXT(s, w1, w2, w3, w0, 13);                                    \
        ROUNDS_NEXT(s, w2, w3, w0, w1, 14);                                    \
        ROUNDS_NEXT(s, w3, w0, w1, w2, 15);                                    \
    } while (0)

SEAMLESS_TARGET_SHANI SEAMLESS_INLINE void compress_block(shani_state *s,
                                                          const uint8_t *blk) {
    shani_state saved = *s;
    __m128i w0, w1, w2, w3;
    ALL_ROUNDS(s, w0, w1, w2, w3, blk);
    s->abef = _mm_add_epi32(s->abef, saved.abef);
    s->cdgh = _mm_add_epi32(s->cdgh, saved.cdgh);
}

SEAMLESS_TARGET_SHANI
void seamless_sha256_compress_shani(uint32_t state[8], const uint8_t *blocks,
                                    size_t nblocks) {
    shani_state s = load_state(state);
    for (size_t i = 0; i < nblocks; i++, blocks += SHA256_BLOCK) {
        compress_block(&s, blocks);
    }
    store_state(state, s);
}

/*
 * Two messages in lock step: the two dependency chains are independent, so
 * the CPU overlaps them. The groups are interleaved one by one so that both
 * chains are always in the scheduler window.
 */
#define ROUNDS_LOAD2(a, wa, blk_a, b, wb, blk_b, g)                            \
    do {                                                                       \
        ROUNDS_LOAD(a, wa, blk_a, g);                                          \
        ROUNDS_LOAD(b, wb, blk_b, g);                                          \
    } while (0)
#define ROUNDS_NEXT2(a, a4, a3, a2, a1, b, b4, b3, b2, b1, g)                  \
    do {                                                                       \
        ROUNDS_NEXT(a, a4, a3, a2, a1, g);                                     \
        ROUNDS_NEXT(b, b4, b3, b2, b1, g);                                     \
    } while (0)

SEAMLESS_TARGET_SHANI SEAMLESS_INLINE void compress_block_x2(
    shani_state *a, shani_state *b, const uint8_t *blk_a,
    const uint8_t *blk_b) {
    shani_state saved_a = *a, saved_b = *b;
    __m128i a0, a1, a2, a3, b0, b1, b2, b3;
    ROUNDS_LOAD2(a, a0, blk_a, b, b0, blk_b, 0);
    ROUNDS_LOAD2(a, a1, blk_a, b, b1, blk_b, 1);
    ROUNDS_LOAD2(a, a2, blk_a, b, b2, blk_b, 2);
    ROUNDS_LOAD2(a, a3, blk_a, b, b3, blk_b, 3);
    ROUNDS_NEXT2(a, a0, a1, a2, a3, b, b0, b1, b2, b3, 4);
    ROUNDS_NEXT2(a, a1, a2, a3, a0, b, b1, b2, b3, b0, 5);
    ROUNDS_NEXT2(a, a2, a3, a0, a1, b, b2, b3, b0, b1, 6);
    ROUNDS_NEXT2(a, a3, a0, a1, a2, b, b3, b0, b1, b2, 7);
    ROUNDS_NEXT2(a, a0, a1, a2, a3, b, b0, b1, b2, b3, 8);
    ROUNDS_NEXT2(a, a1, a2, a3, a0, b, b1, b2, b3, b0, 9);
    ROUNDS_NEXT2(a, a2, a3, a0, a1, b, b2, b3, b0, b1, 10);
    ROUNDS_NEXT2(a, a3, a0, a1, a2, b, b3, b0, b1, b2, 11);
    ROUNDS_NEXT2(a, a0, a1, a2, a3, b, b0, b1, b2, b3, 12);
    ROUNDS_NEXT2(a, a1, a2, a3, a0, b, b1, b2, b3, b0, 13);
    ROUNDS_NEXT2(a, a2, a3, a0, a1, b, b2, b3, b0, b1, 14);
    ROUNDS_NEXT2(a, a3, a0, a1, a2, b, b3, b0, b1, b2, 15);
    a->abef = _mm_add_epi32(a->abef, saved_a.abef);
    a->cdgh = _mm_add_epi32(a->cdgh, saved_a.cdgh);
    b->abef = _mm_add_epi32(b->abef, saved_b.abef);
    b->cdgh = _mm_add_epi32(b->cdgh, saved_b.cdgh);
}

SEAMLESS_TARGET_SHANI
void seamless_sha256_compress_x2_shani(uint32_t state_a[8],
                                       uint32_t state_b[8],
                                       const uint8_t *blocks_a,
                                       const uint8_t *blocks_b,
                                       size_t nblocks) {
    shani_state a = load_state(state_a);
    shani_state b = load_state(state_b);
    for (size_t i = 0; i < nblocks; i++) {
        compress_block_x2(&a, &b, blocks_a + i * SHA256_BLOCK,
                          blocks_b + i * SHA256_BLOCK);
    }
    store_state(state_a, a);
    store_state(state_b, b);
}

#else

/* ISO C forbids an empty translation unit. */
typedef int seamless_sha256_x86_unused;

#endif /* SEAMLESS_HAS_SHANI */
