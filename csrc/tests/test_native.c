/*
 * test_native.c - standalone tests of the native core.
 *
 * Usage: test_native <path to tests/data/hash_vectors.txt>
 *
 * Checks the known-answer vectors through every entry point, every SHA-256
 * kernel against the portable oracle (single and two-lane), streaming with
 * many chunkings, batches of mixed lengths on several thread counts, files,
 * fingerprints, and the error codes. Exits non-zero on the first failure.
 */
#define _POSIX_C_SOURCE 200809L

#include "../seamless_native_impl.h"
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0; /* counted by CHECK (support.h) */

/* test_front.c: the database front (classifier, loop, bridge). */
int test_front(void);
/* test_front_vfs.c: the front's VFS (the log's writes gathered per commit). */
int test_front_vfs(void);


/* Deterministic pseudo-random bytes (xorshift64*), so runs are repeatable. */
static void fill_random(uint8_t *buf, size_t len, uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        buf[i] = (uint8_t)((x * 0x2545F4914F6CDD1Dull) >> 56);
    }
}

static void to_hex(const uint8_t *d, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = 0;
}

static int parse_algorithm(const char *name) {
    if (strcmp(name, "sha256") == 0) {
        return SEAMLESS_SHA256;
    }
    if (strcmp(name, "sha3-256") == 0) {
        return SEAMLESS_SHA3_256;
    }
    return -1;
}

/* Decode a message spec of hash_vectors.txt into a malloc'ed buffer. */
static uint8_t *parse_message(const char *spec, size_t *len) {
    if (strcmp(spec, "empty") == 0) {
        *len = 0;
        return malloc(1);
    }
    if (strncmp(spec, "ascii:", 6) == 0) {
        *len = strlen(spec + 6);
        uint8_t *m = malloc(*len + 1);
        memcpy(m, spec + 6, *len);
        return m;
    }
    if (strncmp(spec, "hex:", 4) == 0) {
        size_t n = strlen(spec + 4) / 2;
        uint8_t *m = malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            unsigned v;
            sscanf(spec + 4 + 2 * i, "%2x", &v);
            m[i] = (uint8_t)v;
        }
        *len = n;
        return m;
    }
    if (strncmp(spec, "repeat:", 7) == 0) {
        char *end;
        size_t count = strtoul(spec + 7, &end, 10);
        const char *text = end + 1;
        size_t tl = strlen(text);
        uint8_t *m = malloc(count * tl + 1);
        for (size_t i = 0; i < count; i++) {
            memcpy(m + i * tl, text, tl);
        }
        *len = count * tl;
        return m;
    }
    return NULL;
}

/* Digest through the streaming API, fed in chunks of the given size. */
static void stream_digest(int alg, const uint8_t *m, size_t len, size_t chunk,
                          uint8_t *digest) {
    seamless_hasher *h = NULL;
    CHECK(seamless_hasher_new(alg, &h) == SEAMLESS_OK, "hasher_new");
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        CHECK(seamless_hasher_update(h, m + off, n) == SEAMLESS_OK, "update");
    }
    CHECK(seamless_hasher_digest(h, digest) == SEAMLESS_OK, "digest");
    seamless_hasher_free(h);
}

static int kernel_ok(int kernel) {
    return seamless_sha256_kernels_available() & (1 << kernel);
}

static void test_vectors(const char *path) {
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (f == NULL) {
        return;
    }
    char line[4096];
    int nvec = 0;
    while (fgets(line, sizeof line, f)) {
        char alg_name[32], spec[2048], want[80];
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        if (sscanf(line, "%31s %2047s %79s", alg_name, spec, want) != 3) {
            continue;
        }
        int alg = parse_algorithm(alg_name);
        size_t len;
        uint8_t *m = parse_message(spec, &len);
        CHECK(alg >= 0 && m != NULL, "bad vector line: %s", line);
        if (alg < 0 || m == NULL) {
            free(m);
            continue;
        }
        nvec++;
        for (int kernel = 0; kernel <= SEAMLESS_KERNEL_SHANI; kernel++) {
            if (!kernel_ok(kernel)) {
                continue;
            }
            seamless_set_sha256_kernel(kernel);
            uint8_t d[32];
            char hex[65];
            CHECK(seamless_hash(alg, m, len, d) == SEAMLESS_OK, "hash");
            to_hex(d, 32, hex);
            CHECK(strcmp(hex, want) == 0, "%s %.40s kernel %d: got %s",
                  alg_name, spec, kernel, hex);
            const size_t chunks[] = {1, 3, 63, 64, 65, 136, 1000, 65536};
            for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
                if (chunks[c] == 1 && len > 100000) {
                    continue;
                }
                stream_digest(alg, m, len, chunks[c], d);
                to_hex(d, 32, hex);
                CHECK(strcmp(hex, want) == 0, "%s streaming chunk %zu", alg_name,
                      chunks[c]);
            }
        }
        free(m);
    }
    fclose(f);
    CHECK(nvec >= 10, "only %d vectors read from %s", nvec, path);
}

/* Every kernel equals the portable oracle, single- and two-lane. */
static void test_kernels_against_portable(void) {
#if SEAMLESS_HAS_SHANI
    if (!kernel_ok(SEAMLESS_KERNEL_SHANI)) {
        printf("skip: CPU lacks SHA-NI\n");
        return;
    }
    enum { MAXBLOCKS = 40 };
    uint8_t a[MAXBLOCKS * 64], b[MAXBLOCKS * 64];
    for (size_t nblocks = 0; nblocks <= MAXBLOCKS; nblocks++) {
        fill_random(a, sizeof a, nblocks);
        fill_random(b, sizeof b, nblocks + 1000);
        uint32_t p1[8], p2[8], s1[8], s2[8], x1[8], x2[8];
        for (int i = 0; i < 8; i++) {
            p1[i] = s1[i] = x1[i] = seamless_sha256_iv[i] ^ (uint32_t)nblocks;
            p2[i] = s2[i] = x2[i] = seamless_sha256_iv[i] + (uint32_t)i;
        }
        seamless_sha256_compress_portable(p1, a, nblocks);
        seamless_sha256_compress_portable(p2, b, nblocks);
        seamless_sha256_compress_shani(s1, a, nblocks);
        seamless_sha256_compress_shani(s2, b, nblocks);
        seamless_sha256_compress_x2_shani(x1, x2, a, b, nblocks);
        CHECK(memcmp(p1, s1, 32) == 0 && memcmp(p2, s2, 32) == 0,
              "shani != portable at %zu blocks", nblocks);
        CHECK(memcmp(p1, x1, 32) == 0 && memcmp(p2, x2, 32) == 0,
              "shani x2 != portable at %zu blocks", nblocks);
    }
#else
    printf("skip: SHA-NI kernel not compiled\n");
#endif
}

/* Batches of mixed lengths on several thread counts equal one-shot digests. */
static void test_batch(void) {
    enum { N = 300 };
    const uint8_t *ptrs[N];
    size_t lens[N];
    uint8_t *bufs[N];
    static uint8_t want[N * 32], got[N * 32];
    for (int i = 0; i < N; i++) {
        lens[i] = (size_t)((i * 37) % 700) + (i % 50 == 0 ? 70000 : 0);
        if (i % 17 == 0) {
            lens[i] = 0;
        }
        bufs[i] = malloc(lens[i] + 1);
        fill_random(bufs[i], lens[i], (uint64_t)i);
        ptrs[i] = lens[i] ? bufs[i] : NULL;
    }
    for (int alg = SEAMLESS_SHA256; alg <= SEAMLESS_SHA3_256; alg++) {
        for (int kernel = 0; kernel <= SEAMLESS_KERNEL_SHANI; kernel++) {
            if (!kernel_ok(kernel)) {
                continue;
            }
            seamless_set_sha256_kernel(kernel);
            for (int i = 0; i < N; i++) {
                seamless_hash(alg, ptrs[i], lens[i], want + 32 * i);
            }
            const int threads[] = {1, 2, 3, 0};
            for (size_t t = 0; t < 4; t++) {
                memset(got, 0, sizeof got);
                CHECK(seamless_hash_batch(alg, ptrs, lens, N, got, threads[t]) ==
                          SEAMLESS_OK,
                      "batch");
                CHECK(memcmp(want, got, sizeof got) == 0,
                      "batch alg %d kernel %d threads %d differs", alg, kernel,
                      threads[t]);
            }
        }
    }
    for (int i = 0; i < N; i++) {
        free(bufs[i]);
    }
    CHECK(seamless_hash_batch(SEAMLESS_SHA256, NULL, NULL, 0, NULL, 0) ==
              SEAMLESS_OK,
          "empty batch");
}

static void write_file(const char *path, const uint8_t *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "create %s", path);
    if (f) {
        CHECK(fwrite(data, 1, len, f) == len, "write %s", path);
        fclose(f);
    }
}

static void test_files(void) {
    char dir[] = "/tmp/seamless-native-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    const size_t sizes[] = {0, 1, 64, 1000, 3u << 20};
    enum { NF = 5 };
    char paths[NF][128];
    const char *pptrs[NF + 2];
    uint8_t want[(NF + 2) * 32];
    for (int i = 0; i < NF; i++) {
        uint8_t *data = malloc(sizes[i] + 1);
        fill_random(data, sizes[i], 77 + (uint64_t)i);
        snprintf(paths[i], sizeof paths[i], "%s/f%d", dir, i);
        write_file(paths[i], data, sizes[i]);
        seamless_hash(SEAMLESS_SHA256, data, sizes[i], want + 32 * i);
        uint8_t d[32];
        uint64_t size = 99;
        int err = -1;
        CHECK(seamless_hash_file(SEAMLESS_SHA256, paths[i], d, &size, &err) ==
                  SEAMLESS_OK,
              "hash_file %s", paths[i]);
        CHECK(memcmp(d, want + 32 * i, 32) == 0 && size == sizes[i] && err == 0,
              "hash_file content %s", paths[i]);

        uint8_t fp_mem[16], fp_file[16], fp1[16];
        CHECK(seamless_fingerprint(data, sizes[i], fp_mem, 0) == SEAMLESS_OK,
              "fingerprint");
        CHECK(seamless_fingerprint(data, sizes[i], fp1, 1) == SEAMLESS_OK,
              "fingerprint 1 thread");
        CHECK(seamless_fingerprint_file(paths[i], fp_file, &size, &err, 2) ==
                  SEAMLESS_OK,
              "fingerprint_file");
        CHECK(memcmp(fp_mem, fp_file, 16) == 0 && memcmp(fp_mem, fp1, 16) == 0,
              "fingerprints disagree for size %zu", sizes[i]);
        free(data);
        pptrs[i] = paths[i];
    }
    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing", dir);
    pptrs[NF] = missing;
    pptrs[NF + 1] = dir;

    uint64_t fsizes[NF + 2];
    int statuses[NF + 2], errnos[NF + 2];
    uint8_t got[(NF + 2) * 32];
    CHECK(seamless_hash_files(SEAMLESS_SHA256, pptrs, NF + 2, got, fsizes,
                              statuses, errnos, 2) == SEAMLESS_OK,
          "hash_files");
    for (int i = 0; i < NF; i++) {
        CHECK(statuses[i] == SEAMLESS_OK && memcmp(got + 32 * i, want + 32 * i, 32) == 0,
              "hash_files entry %d", i);
    }
    CHECK(statuses[NF] == SEAMLESS_ERR_OS && errnos[NF] == ENOENT,
          "missing file: status %d errno %d", statuses[NF], errnos[NF]);
    CHECK(statuses[NF + 1] == SEAMLESS_ERR_OS && errnos[NF + 1] == EISDIR,
          "directory: status %d errno %d", statuses[NF + 1], errnos[NF + 1]);

    int err = 0;
    uint8_t d[32];
    CHECK(seamless_hash_file(SEAMLESS_SHA256, dir, d, NULL, &err) ==
                  SEAMLESS_ERR_OS &&
              err == EISDIR,
          "hash_file on a directory");
    CHECK(seamless_fingerprint_file(missing, d, NULL, &err, 0) ==
                  SEAMLESS_ERR_OS &&
              err == ENOENT,
          "fingerprint_file on a missing file");
    for (int i = 0; i < NF; i++) {
        unlink(paths[i]);
    }
    rmdir(dir);
}

static int count_entries(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1) {
            n = -1;
        }
        pclose(p);
    }
    return n;
}

/* The buffer stored under digest hashes to it and has len bytes. */
static void check_stored(const char *root, int layout, const uint8_t *digest, size_t len,
                         const char *what) {
    char hex[65], stored[300];
    to_hex(digest, 32, hex);
    if (layout == SEAMLESS_LAYOUT_PREFIX) {
        snprintf(stored, sizeof stored, "%s/%.2s/%s", root, hex, hex);
    } else {
        snprintf(stored, sizeof stored, "%s/%s", root, hex);
    }
    uint8_t again[32];
    uint64_t stored_size = 0;
    int err = 0;
    CHECK(seamless_hash_file(SEAMLESS_SHA256, stored, again, &stored_size, &err) == SEAMLESS_OK &&
              memcmp(again, digest, 32) == 0 && stored_size == len,
          "%s", what);
}

/* A new store folder from the template root, with its .tmp (whose path
 * goes to tmpdir, to check that nothing is left in it). */
static void temp_store(char *root, char *tmpdir, size_t size) {
    CHECK(mkdtemp(root) != NULL, "mkdtemp");
    snprintf(tmpdir, size, "%s/.tmp", root);
    CHECK(mkdir(tmpdir, 0700) == 0, "mkdir .tmp");
}

static void test_store(void) {
    char root[] = "/tmp/seamless-store-test-XXXXXX", tmpdir[128];
    temp_store(root, tmpdir, sizeof tmpdir);
    for (int layout = SEAMLESS_LAYOUT_FLAT; layout <= SEAMLESS_LAYOUT_PREFIX; layout++) {
        /* the prefix layout's round writes with direct I/O (where allowed) */
        seamless_store_config cfg = {root, "test-", -1, layout, SEAMLESS_SHA256,
                                     SEAMLESS_SYNC_DATA | SEAMLESS_SYNC_DIR,
                                     0444, 03775, layout == SEAMLESS_LAYOUT_PREFIX};
        const size_t sizes[] = {0, 5, 100000, 9u << 20};
        for (size_t i = 0; i < 4; i++) {
            size_t len = sizes[i];
            uint8_t *data = malloc(len + 1);
            fill_random(data, len, 1000 + (uint64_t)i + (uint64_t)layout);
            uint8_t want[32], got[32];
            seamless_hash(SEAMLESS_SHA256, data, len, want);
            uint64_t size = 0;
            int outcome = 0, err = 0;
            for (int stable = 0; stable <= 1; stable++) {
                CHECK(seamless_store_put(&cfg, data, len, stable, NULL, got, &size,
                                         &outcome, &err) == SEAMLESS_OK,
                      "put %zu (errno %d)", len, err);
                CHECK(memcmp(got, want, 32) == 0 && size == len, "put digest");
                CHECK(outcome == (stable ? SEAMLESS_PUT_EXISTED : SEAMLESS_PUT_CREATED),
                      "outcome %d", outcome);
            }
            CHECK(seamless_store_put(&cfg, data, len, 1, want, got, &size, &outcome,
                                     &err) == SEAMLESS_OK &&
                      outcome == SEAMLESS_PUT_EXISTED,
                  "put with expected, existing");
            int64_t stat_size = -2;
            CHECK(seamless_store_stat(&cfg, want, 1, &stat_size) == SEAMLESS_OK &&
                      stat_size == (int64_t)len,
                  "stat %lld", (long long)stat_size);
            /* From a file, the same digest. */
            char src[160];
            snprintf(src, sizeof src, "%s.src", root);
            write_file(src, data, len);
            CHECK(seamless_store_put_file(&cfg, src, NULL, got, &size, &outcome,
                                          &err) == SEAMLESS_OK &&
                      memcmp(got, want, 32) == 0 && outcome == SEAMLESS_PUT_EXISTED,
                  "put_file");
            unlink(src);
            /* A new file (its bytes reversed), so that it is written: with
             * direct I/O in the prefix round, its unaligned tail normally. */
            for (size_t a = 0, b = len; a + 1 < b; a++, b--) {
                uint8_t t = data[a];
                data[a] = data[b - 1];
                data[b - 1] = t;
            }
            seamless_hash(SEAMLESS_SHA256, data, len, want);
            write_file(src, data, len);
            CHECK(seamless_store_put_file(&cfg, src, NULL, got, &size, &outcome,
                                          &err) == SEAMLESS_OK &&
                      memcmp(got, want, 32) == 0 &&
                      (outcome == SEAMLESS_PUT_CREATED || len < 2),
                  "put_file of a new file (errno %d)", err);
            check_stored(root, layout, want, len, "the stored copy of a new file");
            unlink(src);
            /* New bytes from memory the caller keeps (stable) at an
             * unaligned address: with direct I/O they go through the
             * aligned slots instead of being written in place. */
            if (len > 1) {
                seamless_hash(SEAMLESS_SHA256, data + 1, len - 1, want);
                CHECK(seamless_store_put(&cfg, data + 1, len - 1, 1, NULL, got, &size,
                                         &outcome, &err) == SEAMLESS_OK &&
                          memcmp(got, want, 32) == 0 && outcome == SEAMLESS_PUT_CREATED,
                      "put of unaligned stable memory (errno %d)", err);
                check_stored(root, layout, want, len - 1, "the stored copy of unaligned memory");
            }
            free(data);
        }
        /* A wrong expected checksum: error, nothing published, no temp left. */
        uint8_t bogus[32], got[32];
        memset(bogus, 0xab, 32);
        uint64_t size;
        int outcome = 0, err = 0;
        CHECK(seamless_store_put(&cfg, (const uint8_t *)"abc", 3, 1, bogus, got,
                                 &size, &outcome, &err) == SEAMLESS_ERR_MISMATCH,
              "mismatch");
        int64_t missing = 0;
        seamless_store_stat(&cfg, bogus, 1, &missing);
        CHECK(missing == -1, "mismatched buffer not published");
        CHECK(count_entries(tmpdir) == 0, "no temp file left");
    }
    /* Streaming writes: pieces, a wrong expected checksum, an abandoned one. */
    {
        seamless_store_config cfg = {root, "stream-", -1, SEAMLESS_LAYOUT_PREFIX,
                                     SEAMLESS_SHA256, SEAMLESS_SYNC_DATA, 0444, 03775, 0};
        uint8_t piece[1000], want[32], got[32];
        fill_random(piece, sizeof piece, 4242);
        seamless_hasher *h = NULL;
        seamless_hasher_new(SEAMLESS_SHA256, &h);
        for (int i = 0; i < 5; i++) {
            seamless_hasher_update(h, piece, sizeof piece);
        }
        seamless_hasher_digest(h, want);
        seamless_hasher_free(h);
        for (int variant = 0; variant < 3; variant++) {
            uint8_t bogus[32];
            memset(bogus, 7, 32);
            seamless_store_writer *w = NULL;
            int err = 0, outcome = 0;
            uint64_t size = 0;
            CHECK(seamless_store_writer_new(&cfg, variant == 1 ? bogus : want, &w,
                                            &err) == SEAMLESS_OK,
                  "writer_new");
            for (int i = 0; i < 5; i++) {
                CHECK(seamless_store_writer_feed(w, piece, sizeof piece, &err) ==
                          SEAMLESS_OK,
                      "feed");
            }
            if (variant < 2) {
                int rc = seamless_store_writer_finish(w, got, &size, &outcome, &err);
                CHECK(variant == 0 ? rc == SEAMLESS_OK && memcmp(got, want, 32) == 0 &&
                                         size == 5000
                                   : rc == SEAMLESS_ERR_MISMATCH,
                      "finish variant %d rc %d", variant, rc);
            }
            seamless_store_writer_free(w); /* variant 2: abandoned */
            CHECK(count_entries(tmpdir) == 0, "writer left a temp file (variant %d)",
                  variant);
        }
        int64_t present = -1;
        seamless_store_stat(&cfg, want, 1, &present);
        CHECK(present == 5000, "streamed buffer published");

        /* Direct I/O: blocks staged and flushed whole, an unaligned tail,
         * pieces crossing block edges; the file system may refuse it
         * (tmpfs), and then the writer stays buffered. Same bytes either way. */
        size_t total = (9u << 20) + 12345;
        uint8_t *big = malloc(total);
        CHECK(big != NULL, "malloc");
        fill_random(big, total, 777);
        seamless_hash(SEAMLESS_SHA256, big, total, want);
        seamless_store_writer *w = NULL;
        int err = 0, outcome = 0;
        uint64_t size = 0;
        CHECK(seamless_store_writer_new(&cfg, want, &w, &err) == SEAMLESS_OK, "writer_new");
        int direct = seamless_store_writer_direct(w, &err);
        CHECK(direct == SEAMLESS_OK || direct == SEAMLESS_ERR_OS, "writer_direct %d", direct);
        size_t pieces[] = {1, 4095, 3u << 20, 1u << 20, 77777};
        size_t done = 0;
        for (size_t k = 0; done < total; k++) {
            size_t n = pieces[k % 5] < total - done ? pieces[k % 5] : total - done;
            CHECK(seamless_store_writer_feed(w, big + done, n, &err) == SEAMLESS_OK,
                  "direct feed (errno %d)", err);
            done += n;
        }
        CHECK(seamless_store_writer_finish(w, got, &size, &outcome, &err) == SEAMLESS_OK &&
                  memcmp(got, want, 32) == 0 && size == total,
              "direct finish");
        seamless_store_writer_free(w);
        seamless_store_stat(&cfg, want, 1, &present);
        CHECK(present == (int64_t)total, "direct buffer published");
        free(big);
    }

    /* A file of the wrong size at the final path is replaced. */
    seamless_store_config flat = {root, "test-", -1, SEAMLESS_LAYOUT_FLAT,
                                  SEAMLESS_SHA256, 0, 0444, 03775, 0};
    uint8_t want[32], got[32];
    seamless_hash(SEAMLESS_SHA256, (const uint8_t *)"hello", 5, want);
    char hex[65], bad[200];
    for (int j = 0; j < 32; j++) {
        snprintf(hex + 2 * j, 3, "%02x", want[j]);
    }
    snprintf(bad, sizeof bad, "%s/%s", root, hex);
    chmod(bad, 0644);
    write_file(bad, (const uint8_t *)"hel", 3);
    uint64_t size;
    int outcome = 0, err = 0;
    CHECK(seamless_store_put(&flat, (const uint8_t *)"hello", 5, 1, NULL, got, &size,
                             &outcome, &err) == SEAMLESS_OK &&
              outcome == SEAMLESS_PUT_REPLACED,
          "replace truncated file (outcome %d)", outcome);
    CHECK(seamless_store_sync(root, &err) == SEAMLESS_OK, "sync");
    CHECK(seamless_store_put_file(&flat, "/nonexistent/x", NULL, got, &size, &outcome,
                                  &err) == SEAMLESS_ERR_OS && err == ENOENT,
          "put_file missing source");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0, "cleanup");
}

static void test_errors(void) {
    uint8_t d[32];
    seamless_hasher *h = NULL;
    CHECK(seamless_hash(7, (const uint8_t *)"x", 1, d) == SEAMLESS_ERR_ALGORITHM,
          "unknown algorithm");
    CHECK(seamless_hash(SEAMLESS_SHA256, NULL, 5, d) == SEAMLESS_ERR_ARGUMENT,
          "NULL data with length");
    CHECK(seamless_hash(SEAMLESS_SHA256, NULL, 0, d) == SEAMLESS_OK,
          "NULL data without length");
    CHECK(seamless_hasher_new(9, &h) == SEAMLESS_ERR_ALGORITHM && h == NULL,
          "hasher with unknown algorithm");
    CHECK(seamless_hasher_update(NULL, d, 1) == SEAMLESS_ERR_ARGUMENT,
          "update NULL hasher");
    CHECK(seamless_set_sha256_kernel(42) == SEAMLESS_ERR_ARGUMENT, "bad kernel");
    CHECK(strcmp(seamless_strerror(SEAMLESS_ERR_OS), "operating system error") ==
              0,
          "strerror");
    CHECK(strcmp(seamless_strerror(12345), "unknown error") == 0,
          "strerror unknown");
    CHECK(seamless_abi_version() == SEAMLESS_NATIVE_ABI, "abi");
    CHECK(seamless_cpu_count() >= 1, "cpu count");
    seamless_hasher_free(NULL);
}

/* ---- store writes straight from a socket -------------------------------- */

static void test_store_stream(void) {
    char root[] = "/tmp/seamless-native-stream-XXXXXX", tmpdir[128];
    temp_store(root, tmpdir, sizeof tmpdir);
    seamless_store_config cfg = {root, "sock-", -1, SEAMLESS_LAYOUT_PREFIX,
                                 SEAMLESS_SHA256, SEAMLESS_SYNC_DATA, 0444, 03775, 0};
    size_t total = (9u << 20) + 4321, prefix = 70000;
    uint8_t *data = malloc(total + 4);
    CHECK(data != NULL, "malloc");
    fill_random(data, total, 99);
    memcpy(data + total, "NEXT", 4);
    uint8_t want[32], got[32];
    seamless_hash(SEAMLESS_SHA256, data, total, want);
    for (int variant = 0; variant < 3; variant++) {
        /* 0: whole (threaded, direct I/O where allowed), 1: the same bytes
         * again (verified, not written), 2: the sender stops early. */
        int sv[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
        fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
        sender_job job = {sv[1], data + prefix, variant == 2 ? total / 2 : total - prefix + 4,
                          variant == 2};
        pthread_t t;
        pthread_create(&t, NULL, sender, &job);
        cfg.direct = variant == 0;
        uint64_t size = 0;
        int outcome = 0, err = 0;
        int rc = seamless_store_put_stream(&cfg, data, prefix, sv[0], total, 5000, 0,
                                           variant == 1 ? want : NULL, got, &size,
                                           &outcome, &err);
        if (variant < 2) {
            CHECK(rc == SEAMLESS_OK && memcmp(got, want, 32) == 0 && size == total &&
                      outcome == (variant == 0 ? SEAMLESS_PUT_CREATED : SEAMLESS_PUT_EXISTED),
                  "put_stream variant %d: rc %d errno %d outcome %d", variant, rc, err,
                  outcome);
            char next[4] = {0};
            pthread_join(t, NULL);
            CHECK(read(sv[0], next, 4) == 4 && memcmp(next, "NEXT", 4) == 0,
                  "put_stream read past its length (variant %d)", variant);
        } else {
            CHECK(rc == SEAMLESS_ERR_OS && err == ECONNRESET,
                  "an early end: rc %d errno %d", rc, err);
            pthread_join(t, NULL);
        }
        close(sv[0]);
        close(sv[1]);
        CHECK(count_entries(tmpdir) == 0, "put_stream left a temp file (variant %d)", variant);
    }
    check_stored(root, SEAMLESS_LAYOUT_PREFIX, want, total, "the stored copy of a stream");
    CHECK(seamless_store_put_stream(&cfg, NULL, 5, 0, 10, 0, 0, NULL, got, NULL, NULL,
                                    &(int){0}) == SEAMLESS_ERR_ARGUMENT,
          "put_stream refuses a missing prefix");
    free(data);
}

/* Copy src into fd (emptied first) under a file size limit: writes past
 * limit fail with EFBIG. The copy's status; -100 when the limit could not
 * be set, -101 when it could not be lifted again. */
static int copy_with_size_limit(const seamless_source *src, int fd, rlim_t limit, int *err) {
    struct rlimit old;
    if (getrlimit(RLIMIT_FSIZE, &old) != 0 || ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        return -100;
    }
    struct rlimit small = {limit, old.rlim_max};
    void (*previous)(int) = signal(SIGXFSZ, SIG_IGN);
    int rc = -100;
    if (setrlimit(RLIMIT_FSIZE, &small) == 0) {
        uint8_t digest[32];
        uint64_t total = 0;
        rc = seamless_hash_and_copy(SEAMLESS_SHA256, src, fd, digest, &total, err);
        if (setrlimit(RLIMIT_FSIZE, &old) != 0) {
            rc = -101;
        }
    }
    signal(SIGXFSZ, previous);
    return rc;
}

/* The copy pipeline (pipeline.c): reader, hasher and writer threads. A
 * write that fails at the start or midway (a file size limit) ends the copy
 * with the write's error, whatever the other threads were doing, and a
 * copy without errors writes exactly what it hashed. */
static void test_pipeline(void) {
    if (seamless_cpu_count() < 2) {
        printf("note: one CPU, so the pipeline is tested sequentially only\n");
    }
    char path[] = "/tmp/seamless-native-pipe-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    size_t len = (13u << 20) + 77;
    uint8_t *data = malloc(len);
    CHECK(data != NULL, "malloc");
    fill_random(data, len, 4242);
    uint8_t want[32], got[32];
    seamless_hash(SEAMLESS_SHA256, data, len, want);
    for (int stable = 0; stable <= 1; stable++) {
        seamless_source src = {0};
        src.data = data;
        src.len = len;
        src.fd = -1;
        src.stable = stable;
        uint64_t total = 0;
        int err = 0;
        CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0, "reset");
        CHECK(seamless_hash_and_copy(SEAMLESS_SHA256, &src, fd, got, &total, &err) == SEAMLESS_OK &&
                  total == len && memcmp(got, want, 32) == 0,
              "pipeline copy (stable %d): errno %d", stable, err);
        uint8_t *back = malloc(len);
        CHECK(back != NULL && pread(fd, back, len, 0) == (ssize_t)len && memcmp(back, data, len) == 0,
              "the pipeline wrote what it hashed (stable %d)", stable);
        free(back);

        int readonly = open(path, O_RDONLY);
        CHECK(readonly >= 0, "open read-only");
        err = 0;
        CHECK(seamless_hash_and_copy(SEAMLESS_SHA256, &src, readonly, got, &total, &err) ==
                  SEAMLESS_ERR_OS && err == EBADF,
              "a destination that refuses every write: errno %d", err);
        close(readonly);

        err = 0;
        int rc = copy_with_size_limit(&src, fd, 3u << 20, &err);
        CHECK(rc == SEAMLESS_ERR_OS && err == EFBIG, "a write failing midway: rc %d errno %d", rc, err);
    }
    /* A stream whose sender stalls after 6 MiB, into a destination that
     * fails at 3 MiB: the copy ends with the write's error at once, not
     * after the reader's stall limit. */
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    sender_job job = {sv[1], data, 6u << 20, false};
    void (*previous_pipe)(int) = signal(SIGPIPE, SIG_IGN); /* the copy shuts its reading down */
    pthread_t t;
    pthread_create(&t, NULL, sender, &job);
    seamless_source stream = {0};
    stream.fd = sv[0];
    stream.len = len;
    stream.stream = true;
    stream.stall_ms = 30000;
    int err = 0;
    int64_t started = seamless_monotonic_us();
    int rc = copy_with_size_limit(&stream, fd, 3u << 20, &err);
    int64_t took_ms = (seamless_monotonic_us() - started) / 1000;
    CHECK(rc == SEAMLESS_ERR_OS && err == EFBIG && took_ms < 10000,
          "a failed write with a stalled stream: rc %d errno %d after %lld ms", rc, err,
          (long long)took_ms);
    pthread_join(t, NULL);
    signal(SIGPIPE, previous_pipe);
    close(sv[0]);
    close(sv[1]);
    close(fd);
    unlink(path);
    free(data);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s tests/data/hash_vectors.txt\n", argv[0]);
        return 2;
    }
    int best = seamless_sha256_kernel();
    printf("kernels available: 0x%x, default %d\n",
           seamless_sha256_kernels_available(), best);
    test_vectors(argv[1]);
    test_kernels_against_portable();
    test_batch();
    test_files();
    test_store();
    test_store_stream();
    test_pipeline();
    test_errors();
    failures += test_front();
    failures += test_front_vfs();
    seamless_set_sha256_kernel(best);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("all native tests passed\n");
    return 0;
}
