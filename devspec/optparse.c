/* Generic CH option-string parser; see optparse.h. Behaviour follows Cloud Hypervisor v51.0's
 * option_parser crate where a supervisor could tell the difference (last duplicate wins, empty
 * value means default, which conversions strip quotes), and is stricter where CH silently
 * wraps or truncates (size overflow, list bounds). */
#include "optparse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims ASCII whitespace in place on a (pointer, length) view. */
static void trim(const char **s, size_t *len)
{
    while (*len && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_space((*s)[*len - 1]))
        (*len)--;
}

static void why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (!why || !whylen)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

void optparse_show(const char *s, char *out, size_t outlen)
{
    size_t i, o = 0;

    if (!outlen)
        return;
    for (i = 0; s[i] && o + 1 < outlen; i++) {
        if (i == OPTPARSE_MAX_SHOWN || o + 4 >= outlen) {
            if (o + 4 <= outlen) {
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        out[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    }
    out[o] = '\0';
}

int optparse_split(const char *s, size_t len, int (*item)(const char *s, size_t len, void *ctx),
                   void *ctx)
{
    unsigned depth = 0;
    bool quoted = false;
    size_t i, start = 0;
    int r;

    trim(&s, &len);
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c == '"') {
            quoted = !quoted;
        } else if (quoted) {
            continue;
        } else if (c == '[') {
            if (++depth > OPTPARSE_MAX_DEPTH)
                return -EINVAL;
        } else if (c == ']') {
            if (!depth)
                return -EINVAL;
            depth--;
        } else if (c == ',' && !depth) {
            r = item(s + start, i - start, ctx);
            if (r < 0)
                return r;
            start = i + 1;
        }
    }
    if (quoted || depth)
        return -EINVAL;
    return item(s + start, len - start, ctx);
}

void optparse_dequote(const char *s, size_t len, char *out)
{
    bool quoted = false;
    char prev = '\0';
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '"') {
            if (prev == '"' && !quoted)
                out[o++] = '"';
            quoted = !quoted;
        } else {
            out[o++] = s[i];
        }
        prev = s[i];
    }
    out[o] = '\0';
}

int optparse_toggle(const char *s, bool *out)
{
    if (!strcasecmp(s, "on") || !strcasecmp(s, "true"))
        *out = true;
    else if (!strcasecmp(s, "off") || !strcasecmp(s, "false") || !*s)
        *out = false;
    else
        return -EINVAL;
    return 0;
}

int optparse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '+')
        s++;
    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        unsigned d;

        if (*s < '0' || *s > '9')
            return -EINVAL;
        d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int optparse_size(const char *s, uint64_t *out, char *why, size_t whylen)
{
    char buf[64];
    const char *p = s;
    size_t len = strlen(s);
    unsigned shift = 0;
    uint64_t v;
    int r;

    trim(&p, &len);
    if (len && (p[len - 1] == 'K' || p[len - 1] == 'M' || p[len - 1] == 'G')) {
        shift = p[len - 1] == 'K' ? 10 : p[len - 1] == 'M' ? 20 : 30;
        len--;
    }
    if (len >= sizeof(buf)) {
        why_set(why, whylen, "not a size");
        return -EINVAL;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    r = optparse_u64(buf, UINT64_MAX, &v);
    if (r < 0 || v > (UINT64_MAX >> shift)) {
        why_set(why, whylen, r == -EINVAL ? "expected <bytes>[K|M|G]" : "too large");
        return -EINVAL;
    }
    *out = v << shift;
    return 0;
}

void optparse_u32_list_free(struct optparse_u32_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void optparse_tuple_list_free(struct optparse_tuple_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        optparse_u32_list_free(&l->v[i].vals);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void optparse_str_list_free(struct optparse_str_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int list_push(struct optparse_u32_list *l, size_t *cap, uint32_t v)
{
    if (l->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        uint32_t *nv;

        if (ncap > OPTPARSE_MAX_LIST)
            ncap = OPTPARSE_MAX_LIST;
        if (l->n >= ncap)
            return -E2BIG;
        nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        l->v = nv;
        *cap = ncap;
    }
    l->v[l->n++] = v;
    return 0;
}

/* One list element, `a` or `a-b`, of `len` bytes at `s`. */
static int intlist_item(const char *s, size_t len, uint32_t max, struct optparse_u32_list *l,
                        size_t *cap, char *why, size_t whylen)
{
    char buf[48];
    const char *dash = memchr(s, '-', len);
    uint64_t a, b = 0;
    int r;

    if (len >= sizeof(buf)) {
        why_set(why, whylen, "list element too long");
        return -EINVAL;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (dash) {
        buf[dash - s] = '\0';
        if (strchr(buf + (dash - s) + 1, '-')) {
            why_set(why, whylen, "bad range");
            return -EINVAL;
        }
    }
    if (optparse_u64(buf, max, &a) < 0 ||
        (dash && optparse_u64(buf + (dash - s) + 1, max, &b) < 0)) {
        why_set(why, whylen, "list elements are integers from 0 to %u", max);
        return -EINVAL;
    }
    if (dash && a >= b) {
        why_set(why, whylen, "a range must go upwards");
        return -EINVAL;
    }
    if (dash && b - a >= OPTPARSE_MAX_LIST) {
        why_set(why, whylen, "list longer than %d entries", OPTPARSE_MAX_LIST);
        return -EINVAL;
    }
    do {
        r = list_push(l, cap, (uint32_t)a);
        if (r < 0) {
            why_set(why, whylen, r == -E2BIG ? "list longer than %d entries" : "out of memory",
                    OPTPARSE_MAX_LIST);
            return -EINVAL;
        }
    } while (dash && a++ < b);
    return 0;
}

int optparse_intlist(const char *s, uint32_t max, struct optparse_u32_list *out, char *why,
                     size_t whylen)
{
    struct optparse_u32_list l = { 0 };
    size_t len = strlen(s), cap = 0;
    const char *end;
    int r;

    trim(&s, &len);
    while (len && (*s == '[' || *s == ']')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == '[' || s[len - 1] == ']'))
        len--;
    for (;;) {
        end = memchr(s, ',', len);
        r = intlist_item(s, end ? (size_t)(end - s) : len, max, &l, &cap, why, whylen);
        if (r < 0) {
            optparse_u32_list_free(&l);
            return r;
        }
        if (!end)
            break;
        len -= (size_t)(end - s) + 1;
        s = end + 1;
    }
    *out = l;
    return 0;
}

struct tuples_ctx {
    uint32_t max_key, max_val;
    bool list_vals;
    struct optparse_tuple_list *out;
    size_t total;
    char *why;
    size_t whylen;
};

static int tuple_item(const char *s, size_t len, void *opaque)
{
    struct tuples_ctx *c = opaque;
    struct optparse_tuple *t;
    size_t i, at = 0;
    bool quoted = false;
    uint64_t v;
    char *buf;
    int r = -EINVAL;

    for (i = 0; i < len; i++) {
        if (s[i] == '"') {
            quoted = !quoted;
        } else if (s[i] == '@' && !quoted) {
            if (at) {
                why_set(c->why, c->whylen, "one '@' per tuple");
                return -EINVAL;
            }
            at = i + 1;
        }
    }
    if (!at) {
        why_set(c->why, c->whylen, "expected <index>@<value>");
        return -EINVAL;
    }
    if (c->out->n == OPTPARSE_MAX_TUPLES) {
        why_set(c->why, c->whylen, "more than %d tuples", OPTPARSE_MAX_TUPLES);
        return -EINVAL;
    }
    buf = malloc(len + 1);
    if (!buf)
        return -ENOMEM;
    t = &c->out->v[c->out->n];
    memset(t, 0, sizeof(*t));
    optparse_dequote(s, at - 1, buf);
    if (optparse_u64(buf, c->max_key, &v) < 0) {
        why_set(c->why, c->whylen, "tuple index must be an integer from 0 to %u", c->max_key);
        goto out;
    }
    t->key = (uint32_t)v;
    memcpy(buf, s + at, len - at);
    buf[len - at] = '\0';
    if (c->list_vals) {
        if (optparse_intlist(buf, c->max_val, &t->vals, c->why, c->whylen) < 0)
            goto out;
    } else {
        if (optparse_u64(buf, c->max_val, &v) < 0) {
            why_set(c->why, c->whylen, "tuple value must be an integer from 0 to %u", c->max_val);
            goto out;
        }
        t->vals.v = malloc(sizeof(uint32_t));
        if (!t->vals.v)
            goto out;
        t->vals.v[0] = (uint32_t)v;
        t->vals.n = 1;
    }
    c->total += t->vals.n;
    if (c->total > OPTPARSE_MAX_TOTAL) {
        why_set(c->why, c->whylen, "more than %d values in all", OPTPARSE_MAX_TOTAL);
        optparse_u32_list_free(&t->vals);
        goto out;
    }
    c->out->n++;
    r = 0;
out:
    free(buf);
    return r;
}

int optparse_tuples(const char *s, uint32_t max_key, uint32_t max_val, bool list_vals,
                    struct optparse_tuple_list *out, char *why, size_t whylen)
{
    struct optparse_tuple_list l = { 0 };
    struct tuples_ctx c = {
        .max_key = max_key,
        .max_val = max_val,
        .list_vals = list_vals,
        .out = &l,
        .why = why,
        .whylen = whylen,
    };
    size_t len = strlen(s);
    int r;

    if (why && whylen)
        why[0] = '\0';
    trim(&s, &len);
    if (len < 2 || s[0] != '[' || s[len - 1] != ']') {
        why_set(why, whylen, "expected [<index>@<value>,...]");
        return -EINVAL;
    }
    l.v = calloc(OPTPARSE_MAX_TUPLES, sizeof(*l.v));
    if (!l.v)
        return -ENOMEM;
    r = optparse_split(s + 1, len - 2, tuple_item, &c);
    if (r < 0) {
        if (r == -EINVAL && why && !*why)
            why_set(why, whylen, "unbalanced brackets or quotes");
        optparse_tuple_list_free(&l);
        return -EINVAL;
    }
    *out = l;
    return 0;
}

struct strlist_ctx {
    struct optparse_str_list *out;
};

static int strlist_item(const char *s, size_t len, void *opaque)
{
    struct strlist_ctx *c = opaque;
    char *e;

    if (c->out->n == OPTPARSE_MAX_ITEMS)
        return -E2BIG;
    e = malloc(len + 1);
    if (!e)
        return -ENOMEM;
    optparse_dequote(s, len, e);
    c->out->v[c->out->n++] = e;
    return 0;
}

int optparse_strlist(const char *s, struct optparse_str_list *out, char *why, size_t whylen)
{
    struct optparse_str_list l = { 0 };
    struct strlist_ctx c = { .out = &l };
    size_t len = strlen(s);
    int r;

    trim(&s, &len);
    while (len && (*s == '[' || *s == ']')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == '[' || s[len - 1] == ']'))
        len--;
    l.v = calloc(OPTPARSE_MAX_ITEMS, sizeof(*l.v));
    if (!l.v)
        return -ENOMEM;
    r = optparse_split(s, len, strlist_item, &c);
    if (r < 0) {
        why_set(why, whylen, r == -E2BIG ? "more than %d entries" : "unbalanced brackets or quotes",
                OPTPARSE_MAX_ITEMS);
        optparse_str_list_free(&l);
        return -EINVAL;
    }
    *out = l;
    return 0;
}

struct parse_ctx {
    const struct optparse_spec *spec;
    struct optparse_seen *seen;
    const char *val[OPTPARSE_MAX_KEYS]; /* last raw value of each key, trimmed */
    size_t vlen[OPTPARSE_MAX_KEYS];
    char *err;
    size_t errlen;
};

static void err_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void err_set(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Shows `len` bytes at `s` safely in an error line. */
static void show_n(const char *s, size_t len, char *out, size_t outlen)
{
    char buf[OPTPARSE_MAX_SHOWN + 2];

    if (len > OPTPARSE_MAX_SHOWN + 1)
        len = OPTPARSE_MAX_SHOWN + 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    optparse_show(buf, out, outlen);
}

static int count_item(const char *s, size_t len, void *opaque)
{
    unsigned *n = opaque;

    (void)s;
    (void)len;
    return ++*n > OPTPARSE_MAX_ITEMS ? -E2BIG : 0;
}

static int parse_item(const char *s, size_t len, void *opaque)
{
    struct parse_ctx *c = opaque;
    const char *eq = memchr(s, '=', len);
    size_t klen = eq ? (size_t)(eq - s) : len;
    char shown[OPTPARSE_MAX_SHOWN + 8];
    size_t i;

    for (i = 0; i < c->spec->nkeys; i++) {
        const char *name = c->spec->keys[i].name;

        if (strlen(name) == klen && !memcmp(name, s, klen))
            break;
    }
    if (i == c->spec->nkeys) {
        show_n(s, klen, shown, sizeof(shown));
        err_set(c->err, c->errlen, "%s: unknown key '%s'", c->spec->opt, shown);
        return -EINVAL;
    }
    c->seen->present |= 1ull << i;
    if (c->spec->keys[i].type == OPTPARSE_FLAG) {
        /* CH ignores anything after '=' on a valueless key. */
        c->seen->valued |= 1ull << i;
        return 0;
    }
    if (!eq) {
        err_set(c->err, c->errlen, "%s: missing value for '%s' (expected %s=<value>)", c->spec->opt,
                c->spec->keys[i].name, c->spec->keys[i].name);
        return -EINVAL;
    }
    c->val[i] = eq + 1;
    c->vlen[i] = len - klen - 1;
    trim(&c->val[i], &c->vlen[i]);
    if (c->vlen[i])
        c->seen->valued |= 1ull << i;
    else
        c->seen->valued &= ~(1ull << i);
    return 0;
}

/* Converts `v` for key `k` into `field`. */
static int convert(const struct optparse_key *k, const char *v, char *scratch, void *field,
                   char *why, size_t whylen)
{
    static const uint64_t max[] = {
        [OPTPARSE_U8] = UINT8_MAX,
        [OPTPARSE_U16] = UINT16_MAX,
        [OPTPARSE_U32] = UINT32_MAX,
        [OPTPARSE_U64] = UINT64_MAX,
    };
    uint64_t n;
    char *dup;

    switch (k->type) {
    case OPTPARSE_FLAG:
        *(bool *)field = true;
        return 0;
    case OPTPARSE_STR:
        optparse_dequote(v, strlen(v), scratch);
        dup = strdup(scratch);
        if (!dup)
            return -ENOMEM;
        free(*(char **)field);
        *(char **)field = dup;
        return 0;
    case OPTPARSE_TOGGLE:
        /* CH does not strip quotes from toggles. */
        if (optparse_toggle(v, (bool *)field) < 0) {
            why_set(why, whylen, "expected on, off, true or false");
            return -EINVAL;
        }
        return 0;
    case OPTPARSE_U8:
    case OPTPARSE_U16:
    case OPTPARSE_U32:
    case OPTPARSE_U64:
        optparse_dequote(v, strlen(v), scratch);
        if (optparse_u64(scratch, max[k->type], &n) < 0) {
            why_set(why, whylen, "expected an integer from 0 to %llu",
                    (unsigned long long)max[k->type]);
            return -EINVAL;
        }
        if (k->type == OPTPARSE_U8)
            *(uint8_t *)field = (uint8_t)n;
        else if (k->type == OPTPARSE_U16)
            *(uint16_t *)field = (uint16_t)n;
        else if (k->type == OPTPARSE_U32)
            *(uint32_t *)field = (uint32_t)n;
        else
            *(uint64_t *)field = n;
        return 0;
    case OPTPARSE_SIZE:
        optparse_dequote(v, strlen(v), scratch);
        return optparse_size(scratch, (uint64_t *)field, why, whylen);
    case OPTPARSE_CUSTOM:
        return k->conv(v, field, why, whylen);
    }
    return -EINVAL;
}

/* True when the value just stored in `field` equals the key's CH default. */
static bool is_default(const struct optparse_key *k, const void *field, char *scratch)
{
    unsigned char tmp[64];
    char why[8];

    if (!k->dflt)
        return false;
    if (k->type == OPTPARSE_STR)
        return !strcmp(*(char *const *)field, k->dflt);
    if (k->type == OPTPARSE_FLAG || k->size > sizeof(tmp))
        return false;
    memset(tmp, 0, sizeof(tmp));
    if (convert(k, k->dflt, scratch, tmp, why, sizeof(why)) < 0)
        return false;
    return !memcmp(tmp, field, k->size);
}

int optparse_parse(const struct optparse_spec *spec, const char *input, void *dst,
                   struct optparse_seen *seen, char *err, size_t errlen)
{
    struct parse_ctx c = { .spec = spec, .seen = seen, .err = err, .errlen = errlen };
    size_t len = strnlen(input, OPTPARSE_MAX_INPUT + 1), i;
    char shown[OPTPARSE_MAX_SHOWN + 8], why[160];
    char *value = NULL, *scratch = NULL;
    unsigned nitems = 0;
    int r;

    seen->present = seen->valued = 0;
    err[0] = '\0';
    if (spec->nkeys > OPTPARSE_MAX_KEYS)
        return -EINVAL;
    if (len > OPTPARSE_MAX_INPUT) {
        err_set(err, errlen, "%s: value longer than %d bytes", spec->opt, OPTPARSE_MAX_INPUT);
        return -EINVAL;
    }
    for (i = 0; i < len && is_space(input[i]); i++)
        ;
    if (i == len)
        return 0; /* CH: an empty string sets nothing */
    /* A first pass checks the syntax as a whole, as CH does before looking at any key. */
    r = optparse_split(input, len, count_item, &nitems);
    if (r == -E2BIG) {
        err_set(err, errlen, "%s: more than %d items", spec->opt, OPTPARSE_MAX_ITEMS);
        return -EINVAL;
    }
    if (r < 0) {
        optparse_show(input, shown, sizeof(shown));
        err_set(err, errlen, "%s: invalid syntax (unbalanced quotes or brackets): '%s'", spec->opt,
                shown);
        return -EINVAL;
    }
    if (optparse_split(input, len, parse_item, &c) < 0)
        return -EINVAL;
    value = malloc(len + 1);
    scratch = malloc(len + 1 > 64 ? len + 1 : 64);
    if (!value || !scratch) {
        err_set(err, errlen, "%s: out of memory", spec->opt);
        r = -ENOMEM;
        goto out;
    }
    for (i = 0; i < spec->nkeys; i++) {
        const struct optparse_key *k = &spec->keys[i];
        void *field = (char *)dst + k->offset;

        if (!(seen->valued & (1ull << i)))
            continue;
        value[0] = '\0';
        if (k->type != OPTPARSE_FLAG) {
            memcpy(value, c.val[i], c.vlen[i]);
            value[c.vlen[i]] = '\0';
        }
        why[0] = '\0';
        r = convert(k, value, scratch, field, why, sizeof(why));
        if (r < 0) {
            optparse_show(value, shown, sizeof(shown));
            if (r == -ENOMEM)
                err_set(err, errlen, "%s: out of memory", spec->opt);
            else
                err_set(err, errlen, "%s: invalid value for '%s': '%s'%s%s%s", spec->opt, k->name,
                        shown, why[0] ? " (" : "", why, why[0] ? ")" : "");
            goto out;
        }
        if (!k->supported && !is_default(k, field, scratch)) {
            err_set(err, errlen, "%s: known but not supported yet: %s", spec->opt, k->name);
            r = -EINVAL;
            goto out;
        }
    }
    r = 0;
out:
    free(value);
    free(scratch);
    return r < 0 ? -EINVAL : 0;
}

static int key_index(const struct optparse_spec *spec, const char *key)
{
    size_t i;

    for (i = 0; i < spec->nkeys && i < OPTPARSE_MAX_KEYS; i++)
        if (!strcmp(spec->keys[i].name, key))
            return (int)i;
    return -1;
}

bool optparse_valued(const struct optparse_spec *spec, const struct optparse_seen *seen,
                     const char *key)
{
    int i = key_index(spec, key);

    return i >= 0 && (seen->valued & (1ull << i));
}

bool optparse_present(const struct optparse_spec *spec, const struct optparse_seen *seen,
                      const char *key)
{
    int i = key_index(spec, key);

    return i >= 0 && (seen->present & (1ull << i));
}
