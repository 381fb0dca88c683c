/*
 * vfio-user VERSION payloads: the capabilities JSON this side offers and a small strict parser for
 * the peer's. The parser accepts RFC 8259 JSON (objects, arrays, strings, numbers, literals) up
 * to VFU_MAX_VERSION bytes and JSON_MAX_DEPTH levels, reads only the three capabilities cellvm
 * uses, and skips everything else (the spec's "migration", "max_dma_maps", ... are ignored).
 */
#include "ipc/vfio_user.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define JSON_MAX_DEPTH   8

#define CAP_DEFAULT_FDS  1u
#define CAP_DEFAULT_XFER (1u << 20)
#define CAP_DEFAULT_PGSZ 4096u

struct jp {
    const char *p;
    const char *end;
};

static void skip_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool eat(struct jp *j, char c)
{
    skip_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string; (*s, *n) is its raw content between the quotes (escapes left as they are). */
static int parse_string(struct jp *j, const char **s, size_t *n)
{
    const char *start;

    if (!eat(j, '"'))
        return -EINVAL;
    start = j->p;
    while (j->p < j->end) {
        unsigned char c = (unsigned char)*j->p;

        if (c == '"') {
            *s = start;
            *n = (size_t)(j->p - start);
            j->p++;
            return 0;
        }
        if (c < 0x20)
            return -EINVAL;
        if (c != '\\') {
            j->p++;
            continue;
        }
        if (j->end - j->p < 2)
            return -EINVAL;
        c = (unsigned char)j->p[1];
        if (c == 'u') {
            if (j->end - j->p < 6)
                return -EINVAL;
            for (int i = 2; i < 6; i++)
                if (!is_hex(j->p[i]))
                    return -EINVAL;
            j->p += 6;
        } else if (c && strchr("\"\\/bfnrt", c)) {
            j->p += 2;
        } else {
            return -EINVAL;
        }
    }
    return -EINVAL; /* unterminated */
}

static bool is_digit(struct jp *j)
{
    return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

static int skip_number(struct jp *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (!is_digit(j))
        return -EINVAL;
    if (*j->p == '0')
        j->p++;
    else
        while (is_digit(j))
            j->p++;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!is_digit(j))
            return -EINVAL;
        while (is_digit(j))
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!is_digit(j))
            return -EINVAL;
        while (is_digit(j))
            j->p++;
    }
    return 0;
}

/* A known capability: a plain non-negative integer (no sign, fraction or exponent), <= max. */
static int parse_uint(struct jp *j, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;

    skip_ws(j);
    if (!is_digit(j))
        return -EINVAL;
    if (*j->p == '0' && j->end - j->p > 1 && j->p[1] >= '0' && j->p[1] <= '9')
        return -EINVAL; /* leading zero */
    while (is_digit(j)) {
        unsigned d = (unsigned)(*j->p - '0');

        if (x > (max - d) / 10)
            return -EINVAL;
        x = x * 10 + d;
        j->p++;
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return -EINVAL;
    *v = x;
    return 0;
}

static int skip_value(struct jp *j, unsigned depth);

/* Skips an object's or an array's members after its opening bracket. */
static int skip_members(struct jp *j, unsigned depth, bool object)
{
    char close = object ? '}' : ']';
    const char *s;
    size_t n;
    int r;

    if (depth > JSON_MAX_DEPTH)
        return -EINVAL;
    if (eat(j, close))
        return 0;
    /* Every member consumes at least one byte, so the loop ends with the input. */
    for (;;) {
        if (object) {
            r = parse_string(j, &s, &n);
            if (r)
                return r;
            if (!eat(j, ':'))
                return -EINVAL;
        }
        r = skip_value(j, depth);
        if (r)
            return r;
        if (eat(j, close))
            return 0;
        if (!eat(j, ','))
            return -EINVAL;
    }
}

static int skip_literal(struct jp *j, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
        return -EINVAL;
    j->p += n;
    return 0;
}

static int skip_value(struct jp *j, unsigned depth)
{
    const char *s;
    size_t n;

    skip_ws(j);
    if (j->p >= j->end)
        return -EINVAL;
    switch (*j->p) {
    case '{':
        j->p++;
        return skip_members(j, depth + 1, true);
    case '[':
        j->p++;
        return skip_members(j, depth + 1, false);
    case '"':
        return parse_string(j, &s, &n);
    case 't':
        return skip_literal(j, "true");
    case 'f':
        return skip_literal(j, "false");
    case 'n':
        return skip_literal(j, "null");
    default:
        return skip_number(j);
    }
}

static bool key_is(const char *s, size_t n, const char *key)
{
    return n == strlen(key) && !memcmp(s, key, n);
}

/* The "capabilities" object's members, after its '{'. Known keys may appear once. */
static int parse_caps(struct jp *j, struct vfu_caps *caps)
{
    unsigned seen = 0;
    const char *s;
    size_t n;
    int r;

    if (eat(j, '}'))
        return 0;
    for (;;) {
        uint64_t v;
        unsigned bit = 0;

        r = parse_string(j, &s, &n);
        if (r)
            return r;
        if (!eat(j, ':'))
            return -EINVAL;
        if (key_is(s, n, "max_msg_fds")) {
            bit = 1;
            r = parse_uint(j, UINT32_MAX, &v);
            caps->max_msg_fds = (uint32_t)v;
        } else if (key_is(s, n, "max_data_xfer_size")) {
            bit = 2;
            r = parse_uint(j, UINT32_MAX, &v);
            if (!r && v == 0)
                r = -EINVAL;
            caps->max_data_xfer_size = (uint32_t)v;
        } else if (key_is(s, n, "pgsizes")) {
            bit = 4;
            r = parse_uint(j, UINT64_MAX, &v);
            if (!r && v == 0)
                r = -EINVAL;
            caps->pgsizes = v;
        } else {
            r = skip_value(j, 2);
        }
        if (r || (seen & bit))
            return -EINVAL;
        seen |= bit;
        if (eat(j, '}'))
            return 0;
        if (!eat(j, ','))
            return -EINVAL;
    }
}

static int parse_top(struct jp *j, struct vfu_caps *caps)
{
    bool seen = false;
    const char *s;
    size_t n;
    int r;

    if (!eat(j, '{'))
        return -EINVAL;
    if (eat(j, '}'))
        return 0;
    for (;;) {
        r = parse_string(j, &s, &n);
        if (r)
            return r;
        if (!eat(j, ':'))
            return -EINVAL;
        if (key_is(s, n, "capabilities")) {
            if (seen || !eat(j, '{'))
                return -EINVAL;
            seen = true;
            r = parse_caps(j, caps);
        } else {
            r = skip_value(j, 1);
        }
        if (r)
            return r;
        if (eat(j, '}'))
            return 0;
        if (!eat(j, ','))
            return -EINVAL;
    }
}

int vfu_version_encode(const struct vfu_caps *caps, char *buf, size_t cap, size_t *len)
{
    int n =
        snprintf(buf, cap,
                 "{\"capabilities\":{\"max_msg_fds\":%u,\"max_data_xfer_size\":%u,"
                 "\"pgsizes\":%llu}}",
                 caps->max_msg_fds, caps->max_data_xfer_size, (unsigned long long)caps->pgsizes);

    if (n < 0 || (size_t)n >= cap)
        return -EINVAL;
    *len = (size_t)n + 1;
    return 0;
}

int vfu_version_decode(const void *payload, size_t len, struct vfu_version *v,
                       struct vfu_caps *caps)
{
    const char *json = (const char *)payload + sizeof(*v);
    struct vfu_caps c = {
        .max_msg_fds = CAP_DEFAULT_FDS,
        .max_data_xfer_size = CAP_DEFAULT_XFER,
        .pgsizes = CAP_DEFAULT_PGSZ,
    };
    struct jp j;
    size_t jlen;
    int r;

    if (!payload || len < sizeof(*v))
        return -EINVAL;
    jlen = len - sizeof(*v);
    /* The JSON is optional; when present it is one NUL-terminated string filling the rest. */
    if (jlen) {
        if (jlen > VFU_MAX_VERSION || json[jlen - 1] != '\0' || memchr(json, '\0', jlen - 1))
            return -EINVAL;
        j.p = json;
        j.end = json + jlen - 1;
        r = parse_top(&j, &c);
        if (r)
            return r;
        skip_ws(&j);
        if (j.p != j.end)
            return -EINVAL;
    }
    memcpy(v, payload, sizeof(*v));
    *caps = c;
    return 0;
}
