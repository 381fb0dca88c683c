/* Cloud Hypervisor's option-string syntax: comma-separated key=value items, with '[...]' groups
 * and double quotes protecting commas. The input is hostile (a supervisor, later the API), so
 * every length, count and nesting level is bounded and every number is range-checked. */
#ifndef CELLVM_DEVSPEC_OPTPARSE_H
#define CELLVM_DEVSPEC_OPTPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPTPARSE_MAX_INPUT  16384 /* bytes in one option string */
#define OPTPARSE_MAX_ITEMS  256   /* key=value items in one option string */
#define OPTPARSE_MAX_DEPTH  8     /* '[' nesting */
#define OPTPARSE_MAX_KEYS   64    /* keys in one table: the seen masks are 64 bits */
#define OPTPARSE_MAX_LIST   8192  /* integers in one list, after range expansion */
#define OPTPARSE_MAX_TUPLES 1024  /* tuples in one tuple list */
#define OPTPARSE_MAX_TOTAL  65536 /* integers across all tuples of one tuple list */
#define OPTPARSE_MAX_SHOWN  64    /* bytes of a hostile value echoed in an error */

struct optparse_u32_list {
    uint32_t *v; /* owned */
    size_t n;
};

/* One `key@value` item: value is a list (`0@[0,1]`) or a single number (`1@20`, n == 1). */
struct optparse_tuple {
    uint32_t key;
    struct optparse_u32_list vals;
};

struct optparse_tuple_list {
    struct optparse_tuple *v; /* owned */
    size_t n;
};

struct optparse_str_list {
    char **v; /* owned, each entry owned */
    size_t n;
};

enum optparse_type {
    OPTPARSE_FLAG,   /* valueless key (serial's `tty`): bool set to true */
    OPTPARSE_STR,    /* char *, dequoted copy */
    OPTPARSE_TOGGLE, /* bool: on|off|true|false, any case */
    OPTPARSE_U8,
    OPTPARSE_U16,
    OPTPARSE_U32,
    OPTPARSE_U64,
    OPTPARSE_SIZE,   /* uint64_t bytes with an optional K, M or G suffix (binary) */
    OPTPARSE_CUSTOM, /* conv() writes `size` bytes at `offset` */
};

/* Converts a non-empty raw value; on failure returns -EINVAL and may explain in `why`. */
typedef int (*optparse_conv_fn)(const char *value, void *dst, char *why, size_t whylen);

struct optparse_key {
    const char *name;
    enum optparse_type type;
    size_t offset; /* of the destination field in the caller's struct */
    size_t size;   /* of that field; compared bytewise against `dflt` for CUSTOM keys */
    /* false: Cloud Hypervisor has this key but cellvm does not implement it yet. Setting it is
     * still accepted when the value equals `dflt` (CH's default), so `kvm_hyperv=off` works. */
    bool supported;
    /* NULL: no default, any explicit value of an unsupported key is refused. Only for scalar
     * types: a CUSTOM key's conv() must not allocate when it has a dflt. */
    const char *dflt;
    optparse_conv_fn conv;
};

#define OPTPARSE_FIELD(type, member) offsetof(type, member), sizeof(((type *)0)->member)

struct optparse_spec {
    const char *opt; /* "--cpus", for messages */
    const struct optparse_key *keys;
    size_t nkeys;
};

/* Bit i stands for spec->keys[i]. `present`: the key appeared (a valueless key, or key=...).
 * `valued`: its last occurrence had a non-empty value, which is what CH treats as "set": an
 * empty value (`size=`) means "use the default", as in CH. */
struct optparse_seen {
    uint64_t present;
    uint64_t valued;
};

/* Parses `input` against `spec` into the struct at `dst`, whose fields the caller has set to
 * their defaults. The last occurrence of a repeated key wins, as in CH. Returns 0 or -EINVAL
 * with one line in `err`: unknown key, known but not supported yet, invalid value or syntax.
 * On failure `dst` may hold allocations for converted keys; the caller frees them. */
int optparse_parse(const struct optparse_spec *spec, const char *input, void *dst,
                   struct optparse_seen *seen, char *err, size_t errlen);

bool optparse_valued(const struct optparse_spec *spec, const struct optparse_seen *seen,
                     const char *key);
bool optparse_present(const struct optparse_spec *spec, const struct optparse_seen *seen,
                      const char *key);

/* Splits a CH option string at top-level commas. Calls `item` for each piece (not NUL
 * terminated: `len` bytes at `s`). Returns 0, -EINVAL on unbalanced quotes or brackets, or the
 * callback's negative return. */
int optparse_split(const char *s, size_t len, int (*item)(const char *s, size_t len, void *ctx),
                   void *ctx);

/* Removes CH's double quotes: `"a,b"` is `a,b`; `""` outside quotes yields one quote. `out`
 * must hold len + 1 bytes. */
void optparse_dequote(const char *s, size_t len, char *out);

/* Scalar converters, exposed for the option groups' custom keys and tests. Numbers are decimal
 * (an optional leading '+', as Rust accepts), without spaces. */
int optparse_toggle(const char *s, bool *out);
int optparse_u64(const char *s, uint64_t max, uint64_t *out);
int optparse_size(const char *s, uint64_t *out, char *why, size_t whylen);

/* `[0,2-5]`: inclusive ranges, expanded; brackets optional. Values above `max` are refused. */
int optparse_intlist(const char *s, uint32_t max, struct optparse_u32_list *out, char *why,
                     size_t whylen);
/* `[k@[list],...]` (`list_vals`) or `[k@v,...]`. */
int optparse_tuples(const char *s, uint32_t max_key, uint32_t max_val, bool list_vals,
                    struct optparse_tuple_list *out, char *why, size_t whylen);
/* `[a,b,"c,d"]`: elements dequoted. */
int optparse_strlist(const char *s, struct optparse_str_list *out, char *why, size_t whylen);

void optparse_u32_list_free(struct optparse_u32_list *l);
void optparse_tuple_list_free(struct optparse_tuple_list *l);
void optparse_str_list_free(struct optparse_str_list *l);

/* Copies at most OPTPARSE_MAX_SHOWN bytes of a hostile string for an error line: non-printable
 * bytes become '?', a cut is marked with "...", so the message stays one printable line. */
void optparse_show(const char *s, char *out, size_t outlen);

#endif
