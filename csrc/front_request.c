/*
 * front_request.c - which requests the database front answers itself.
 *
 * The front (front.c) sees the bytes of a connection and must decide, for
 * the request at their start, between three things: answer it in C (a
 * lookup or a write of one transformation record, the requests that make up
 * nearly all of a database server's traffic), pass the request's exact
 * bytes to the Python server, or hand the whole connection over to Python
 * from here on. The rule is conservative: the front answers only what the
 * Python server would answer the same way, byte for byte, so every request
 * that is even a little unusual goes to Python.
 *
 *   NEED_MORE   the request is not all here yet
 *   RAW         not a request whose end the front is sure of (a head that
 *               is too long, chunked, Expect, an odd request line or header,
 *               a body larger than FRONT_MAX_BODY): the connection goes to
 *               Python, which answers (or refuses) it as it always did
 *   FORWARD     a well-formed request with a known length, not a hot one
 *   HOT_GET     GET / HTTP/1.1 with {"type": "transformation", "checksum": X}
 *   HOT_PUT     PUT / HTTP/1.1 with {"type": "transformation", "checksum": X,
 *               "value": Y}
 *
 * X and Y must be 64 lowercase hex digits, the JSON strings plain (no
 * escapes), each key once and no other keys; the head's lines must pass
 * the same checks as the Python parser's (token names, no control
 * characters in values, at most FRONT_MAX_HEADERS lines).
 */
#include "front_impl.h"

#include <string.h>

static int is_token_char(uint8_t c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return strchr("!#$%&'*+-.^_`|~", c) != NULL && c != 0;
}

static uint8_t lower(uint8_t c) {
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Whether name (of len bytes) equals lower-case want, ignoring case. */
static int name_is(const uint8_t *name, size_t len, const char *want) {
    size_t n = strlen(want);
    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(name[i]) != (uint8_t)want[i])
            return 0;
    return 1;
}

/* Whether the value contains the lower-case word, ignoring case. */
static int value_contains(const uint8_t *value, size_t len, const char *word) {
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++) {
        size_t j = 0;
        while (j < n && lower(value[i + j]) == (uint8_t)word[j])
            j++;
        if (j == n)
            return 1;
    }
    return 0;
}

static const uint8_t *find_head_end(const uint8_t *buf, size_t len) {
    for (size_t i = 0; i + 3 < len; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
            return buf + i;
    return NULL;
}

int seamless_front_is_hex64(const uint8_t *s, size_t len) {
    if (len != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* ---- the JSON body ------------------------------------------------------ */

static size_t skip_ws(const uint8_t *s, size_t i, size_t len) {
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* A plain JSON string at s[i] ('"', printable ASCII without '"' or '\\',
 * '"'): its contents and the index after it, or 0 if it is anything else. */
static size_t plain_string(const uint8_t *s, size_t i, size_t len, const uint8_t **start, size_t *n) {
    if (i >= len || s[i] != '"')
        return 0;
    size_t j = i + 1;
    while (j < len && s[j] != '"') {
        if (s[j] < 0x20 || s[j] > 0x7e || s[j] == '\\')
            return 0;
        j++;
    }
    if (j >= len)
        return 0;
    *start = s + i + 1;
    *n = j - i - 1;
    return j + 1;
}

/* The hot body: a flat object of plain strings with the keys type (=
 * "transformation"), checksum and, for a PUT, value; 1 if it is one. */
static int hot_body(const uint8_t *s, size_t len, int put, seamless_front_request *req) {
    const uint8_t *type = NULL, *checksum = NULL, *value = NULL;
    size_t type_len = 0, checksum_len = 0, value_len = 0;
    size_t i = skip_ws(s, 0, len);
    if (i >= len || s[i] != '{')
        return 0;
    i = skip_ws(s, i + 1, len);
    for (;;) {
        const uint8_t *key, *val;
        size_t key_len, val_len;
        i = plain_string(s, i, len, &key, &key_len);
        if (!i)
            return 0;
        i = skip_ws(s, i, len);
        if (i >= len || s[i] != ':')
            return 0;
        i = plain_string(s, skip_ws(s, i + 1, len), len, &val, &val_len);
        if (!i)
            return 0;
        const uint8_t **slot;
        size_t *slot_len;
        if (key_len == 4 && !memcmp(key, "type", 4)) {
            slot = &type, slot_len = &type_len;
        } else if (key_len == 8 && !memcmp(key, "checksum", 8)) {
            slot = &checksum, slot_len = &checksum_len;
        } else if (put && key_len == 5 && !memcmp(key, "value", 5)) {
            slot = &value, slot_len = &value_len;
        } else {
            return 0;
        }
        if (*slot)
            return 0; /* a repeated key: Python keeps the last one */
        *slot = val;
        *slot_len = val_len;
        i = skip_ws(s, i, len);
        if (i < len && s[i] == ',') {
            i = skip_ws(s, i + 1, len);
            continue;
        }
        if (i < len && s[i] == '}')
            break;
        return 0;
    }
    if (skip_ws(s, i + 1, len) != len)
        return 0;
    if (!type || type_len != 14 || memcmp(type, "transformation", 14))
        return 0;
    if (!checksum || !seamless_front_is_hex64(checksum, checksum_len))
        return 0;
    if (put && (!value || !seamless_front_is_hex64(value, value_len)))
        return 0;
    req->checksum = checksum;
    req->value = value;
    return 1;
}

/* ---- the head ----------------------------------------------------------- */

int seamless_front_classify(const uint8_t *buf, size_t len, seamless_front_request *req) {
    memset(req, 0, sizeof *req);
    const uint8_t *end = find_head_end(buf, len < FRONT_MAX_HEAD + 4 ? len : FRONT_MAX_HEAD + 4);
    if (!end)
        return len > FRONT_MAX_HEAD ? FRONT_RAW : FRONT_NEED_MORE;
    size_t head_len = (size_t)(end - buf) + 4;
    if (head_len - 4 > FRONT_MAX_HEAD)
        return FRONT_RAW;

    /* The request line: METHOD SP TARGET SP VERSION, nothing unusual. */
    const uint8_t *line = buf, *head_end = end;
    const uint8_t *eol = memchr(line, '\r', (size_t)(head_end - line));
    if (!eol)
        eol = head_end;
    if (eol < head_end && eol[1] != '\n')
        return FRONT_RAW; /* a lone CR */
    const uint8_t *sp1 = memchr(line, ' ', (size_t)(eol - line));
    if (!sp1 || sp1 == line)
        return FRONT_RAW;
    const uint8_t *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (!sp2 || sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', (size_t)(eol - sp2 - 1)))
        return FRONT_RAW;
    size_t method_len = (size_t)(sp1 - line);
    for (size_t i = 0; i < method_len; i++)
        if (line[i] < 'A' || line[i] > 'Z')
            return FRONT_RAW;
    static const char *const methods[] = {"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", NULL};
    int known = 0;
    for (int m = 0; methods[m]; m++)
        if (strlen(methods[m]) == method_len && !memcmp(line, methods[m], method_len))
            known = 1;
    if (!known)
        return FRONT_RAW;
    const uint8_t *target = sp1 + 1;
    size_t target_len = (size_t)(sp2 - target);
    if (target[0] != '/')
        return FRONT_RAW;
    for (size_t i = 0; i < target_len; i++)
        if (target[i] <= 0x20 || target[i] >= 0x7f)
            return FRONT_RAW;
    const uint8_t *version = sp2 + 1;
    size_t version_len = (size_t)(eol - version);
    if (version_len != 8 || memcmp(version, "HTTP/1.1", 8))
        return FRONT_RAW; /* HTTP/1.0 keep-alive rules: Python's */

    /* The headers. */
    int keep_alive = 1, lines = 0, have_length = 0;
    uint64_t length = 0;
    const uint8_t *p = eol;
    while (p < head_end) {
        p += 2; /* past "\r\n" */
        const uint8_t *next = memchr(p, '\r', (size_t)(head_end - p));
        if (!next)
            next = head_end;
        if (next[0] == '\r' && next < head_end && next[1] != '\n')
            return FRONT_RAW; /* a lone CR */
        if (++lines > FRONT_MAX_HEADERS)
            return FRONT_RAW;
        const uint8_t *colon = memchr(p, ':', (size_t)(next - p));
        if (!colon || colon == p)
            return FRONT_RAW;
        for (const uint8_t *c = p; c < colon; c++)
            if (!is_token_char(*c))
                return FRONT_RAW;
        const uint8_t *v = colon + 1, *v_end = next;
        for (const uint8_t *c = v; c < v_end; c++)
            if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
                return FRONT_RAW;
        while (v < v_end && (*v == ' ' || *v == '\t'))
            v++;
        while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
            v_end--;
        size_t name_len = (size_t)(colon - p), value_len = (size_t)(v_end - v);
        if (name_is(p, name_len, "content-length")) {
            if (have_length || value_len == 0 || value_len > 18)
                return FRONT_RAW;
            for (size_t i = 0; i < value_len; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return FRONT_RAW;
                length = length * 10 + (uint64_t)(v[i] - '0');
            }
            have_length = 1;
        } else if (name_is(p, name_len, "transfer-encoding") || name_is(p, name_len, "expect")) {
            return FRONT_RAW;
        } else if (name_is(p, name_len, "connection")) {
            if (value_contains(v, value_len, "close"))
                keep_alive = 0;
        }
        p = next;
    }
    if (length > FRONT_MAX_BODY)
        return FRONT_RAW;
    req->head_len = head_len;
    req->body_len = (size_t)length;
    req->keep_alive = keep_alive;
    if (len < head_len + req->body_len)
        return FRONT_NEED_MORE;

    int get = method_len == 3 && !memcmp(line, "GET", 3);
    int put = method_len == 3 && !memcmp(line, "PUT", 3);
    if ((get || put) && target_len == 1 && hot_body(buf + head_len, req->body_len, put, req))
        return put ? FRONT_HOT_PUT : FRONT_HOT_GET;
    return FRONT_FORWARD;
}
