/* The generic CH option-string parser: splitting, quotes, toggles, sizes, lists, tuples, and
 * the key-table engine (unknown key, unsupported key, default accepted, last duplicate wins). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devspec/optparse.h"

struct collect {
    char items[8][64];
    int n;
};

static int collect_item(const char *s, size_t len, void *ctx)
{
    struct collect *c = ctx;

    cr_assert_lt(c->n, 8);
    cr_assert_lt(len, 64);
    memcpy(c->items[c->n], s, len);
    c->items[c->n++][len] = '\0';
    return 0;
}

Test(optparse, split_respects_brackets_and_quotes)
{
    struct collect c = { 0 };
    const char *in = " a=1,b=[1,2],c=\"x,y\",d=[[1,2],[3]] ";

    cr_assert_eq(optparse_split(in, strlen(in), collect_item, &c), 0);
    cr_assert_eq(c.n, 4);
    cr_expect_str_eq(c.items[0], "a=1");
    cr_expect_str_eq(c.items[1], "b=[1,2]");
    cr_expect_str_eq(c.items[2], "c=\"x,y\"");
    cr_expect_str_eq(c.items[3], "d=[[1,2],[3]]");
}

Test(optparse, split_rejects_unbalanced)
{
    struct collect c = { 0 };
    static const char *const bad[] = { "a=[", "a=]", "a=\"", "a=[[[]]]]", "a=\"\"\"" };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c.n = 0;
        cr_expect_eq(optparse_split(bad[i], strlen(bad[i]), collect_item, &c), -EINVAL, "%s",
                     bad[i]);
    }
    c.n = 0;
    cr_expect_eq(optparse_split("[[[[[[[[[1]]]]]]]]]", 19, collect_item, &c), -EINVAL,
                 "nesting is bounded");
}

Test(optparse, dequote)
{
    char out[32];

    optparse_dequote("\"console=ttyS0,9600n8\"", 22, out);
    cr_expect_str_eq(out, "console=ttyS0,9600n8");
    optparse_dequote("a\"a\"\"\"", 6, out); /* CH: a"a""" -> aa" */
    cr_expect_str_eq(out, "aa\"");
    optparse_dequote("a=\"b\"", 5, out);
    cr_expect_str_eq(out, "a=b");
}

Test(optparse, toggle)
{
    bool b = true;

    cr_expect_eq(optparse_toggle("OFF", &b), 0);
    cr_expect_not(b);
    cr_expect_eq(optparse_toggle("True", &b), 0);
    cr_expect(b);
    cr_expect_eq(optparse_toggle("", &b), 0);
    cr_expect_not(b);
    cr_expect_eq(optparse_toggle("yes", &b), -EINVAL);
    cr_expect_eq(optparse_toggle("1", &b), -EINVAL);
}

Test(optparse, sizes_are_binary_and_bounded)
{
    uint64_t v;
    char why[64];

    cr_expect_eq(optparse_size("512M", &v, why, sizeof(why)), 0);
    cr_expect_eq(v, 512ull << 20);
    cr_expect_eq(optparse_size("1G", &v, why, sizeof(why)), 0);
    cr_expect_eq(v, 1ull << 30);
    cr_expect_eq(optparse_size("4K", &v, why, sizeof(why)), 0);
    cr_expect_eq(v, 4096);
    cr_expect_eq(optparse_size("12345", &v, why, sizeof(why)), 0);
    cr_expect_eq(v, 12345);
    cr_expect_eq(optparse_size("+2M", &v, why, sizeof(why)), 0);
    cr_expect_eq(v, 2ull << 20);
    /* CH knows no T, no lower case, no fractions, no IEC suffixes */
    cr_expect_eq(optparse_size("1T", &v, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_size("512m", &v, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_size("1.5G", &v, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_size("1GiB", &v, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_size("G", &v, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_size("-1", &v, why, sizeof(why)), -EINVAL);
    /* CH would silently wrap; cellvm refuses */
    cr_expect_eq(optparse_size("17179869184G", &v, why, sizeof(why)), -EINVAL);
    cr_expect_str_eq(why, "too large");
    cr_expect_eq(optparse_size("18446744073709551616", &v, why, sizeof(why)), -EINVAL);
}

Test(optparse, integer_lists)
{
    struct optparse_u32_list l;
    char why[96];

    cr_assert_eq(optparse_intlist("[0,2-5]", 100, &l, why, sizeof(why)), 0);
    cr_assert_eq(l.n, 5);
    cr_expect_eq(l.v[0], 0);
    cr_expect_eq(l.v[1], 2);
    cr_expect_eq(l.v[4], 5);
    optparse_u32_list_free(&l);
    cr_assert_eq(optparse_intlist("7", 100, &l, why, sizeof(why)), 0);
    cr_expect_eq(l.n, 1);
    optparse_u32_list_free(&l);
    cr_expect_eq(optparse_intlist("[3-1]", 100, &l, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_intlist("[3-3]", 100, &l, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_intlist("[1-2-3]", 100, &l, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_intlist("[]", 100, &l, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_intlist("[1,]", 100, &l, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_intlist("[101]", 100, &l, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_intlist("[0-4294967295]", UINT32_MAX, &l, why, sizeof(why)), -EINVAL);
    cr_expect_str_eq(why, "list longer than 8192 entries");
    cr_expect_eq(optparse_intlist("[0-8191]", UINT32_MAX, &l, why, sizeof(why)), 0);
    cr_expect_eq(l.n, 8192);
    optparse_u32_list_free(&l);
}

Test(optparse, tuples)
{
    struct optparse_tuple_list t;
    char why[96];

    cr_assert_eq(optparse_tuples("[0@[0,1],1@[2-4]]", 10, 100, true, &t, why, sizeof(why)), 0);
    cr_assert_eq(t.n, 2);
    cr_expect_eq(t.v[0].key, 0);
    cr_expect_eq(t.v[0].vals.n, 2);
    cr_expect_eq(t.v[1].key, 1);
    cr_expect_eq(t.v[1].vals.n, 3);
    cr_expect_eq(t.v[1].vals.v[2], 4);
    optparse_tuple_list_free(&t);

    cr_assert_eq(optparse_tuples("[1@20,2@30]", 10, 255, false, &t, why, sizeof(why)), 0);
    cr_assert_eq(t.n, 2);
    cr_expect_eq(t.v[1].vals.v[0], 30);
    optparse_tuple_list_free(&t);

    cr_expect_eq(optparse_tuples("0@[1]", 10, 100, true, &t, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_tuples("[0]", 10, 100, true, &t, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_tuples("[0@1@2]", 10, 100, true, &t, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_tuples("[1@256]", 10, 255, false, &t, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_tuples("[11@1]", 10, 255, false, &t, why, sizeof(why)), -EINVAL);
    cr_expect_eq(optparse_tuples("[]", 10, 255, false, &t, why, sizeof(why)), -EINVAL);
}

Test(optparse, string_lists)
{
    struct optparse_str_list l;
    char why[64];

    cr_assert_eq(optparse_strlist("[mem0,\"a,b\",mem2]", &l, why, sizeof(why)), 0);
    cr_assert_eq(l.n, 3);
    cr_expect_str_eq(l.v[0], "mem0");
    cr_expect_str_eq(l.v[1], "a,b");
    cr_expect_str_eq(l.v[2], "mem2");
    optparse_str_list_free(&l);
}

struct target {
    uint32_t n;
    bool t, hyperv;
    char *s;
    uint64_t size;
    bool flag;
};

static const struct optparse_key keys[] = {
    { "n", OPTPARSE_U32, OPTPARSE_FIELD(struct target, n), true, NULL, NULL },
    { "t", OPTPARSE_TOGGLE, OPTPARSE_FIELD(struct target, t), true, NULL, NULL },
    { "hyperv", OPTPARSE_TOGGLE, OPTPARSE_FIELD(struct target, hyperv), false, "off", NULL },
    { "s", OPTPARSE_STR, OPTPARSE_FIELD(struct target, s), true, NULL, NULL },
    { "size", OPTPARSE_SIZE, OPTPARSE_FIELD(struct target, size), true, NULL, NULL },
    { "flag", OPTPARSE_FLAG, OPTPARSE_FIELD(struct target, flag), true, NULL, NULL },
};

static const struct optparse_spec spec = { "--x", keys, sizeof(keys) / sizeof(keys[0]) };

static int parse(const char *in, struct target *t, struct optparse_seen *seen, char *err)
{
    memset(t, 0, sizeof(*t));
    t->n = 7;
    return optparse_parse(&spec, in, t, seen, err, 256);
}

Test(optparse, engine)
{
    struct optparse_seen seen;
    struct target t;
    char err[256];

    cr_assert_eq(parse("n=1,n=2,s=\"a,b\",size=2M,flag", &t, &seen, err), 0, "%s", err);
    cr_expect_eq(t.n, 2, "the last duplicate wins");
    cr_expect_str_eq(t.s, "a,b");
    cr_expect_eq(t.size, 2ull << 20);
    cr_expect(t.flag);
    cr_expect(optparse_valued(&spec, &seen, "n"));
    cr_expect_not(optparse_valued(&spec, &seen, "t"));
    free(t.s);

    cr_assert_eq(parse("n=5,n=", &t, &seen, err), 0, "%s", err);
    cr_expect_eq(t.n, 7, "an empty value means the default");
    cr_expect(optparse_present(&spec, &seen, "n"));
    cr_expect_not(optparse_valued(&spec, &seen, "n"));

    cr_assert_eq(parse("", &t, &seen, err), 0);
    cr_assert_eq(parse("hyperv=off", &t, &seen, err), 0, "the default of an unsupported key");
    cr_assert_eq(parse("hyperv=", &t, &seen, err), 0);
    cr_assert_eq(parse("flag=ignored", &t, &seen, err), 0);

    cr_assert_eq(parse("hyperv=on", &t, &seen, err), -EINVAL);
    cr_expect_str_eq(err, "--x: known but not supported yet: hyperv");
    cr_assert_eq(parse("n=1,bogus=2", &t, &seen, err), -EINVAL);
    cr_expect_str_eq(err, "--x: unknown key 'bogus'");
    cr_assert_eq(parse("n=1, t=on", &t, &seen, err), -EINVAL, "CH does not trim keys");
    cr_expect_str_eq(err, "--x: unknown key ' t'");
    cr_assert_eq(parse("n=1,,t=on", &t, &seen, err), -EINVAL);
    cr_expect_str_eq(err, "--x: unknown key ''");
    cr_assert_eq(parse("n", &t, &seen, err), -EINVAL);
    cr_expect_str_eq(err, "--x: missing value for 'n' (expected n=<value>)");
    cr_assert_eq(parse("n=x", &t, &seen, err), -EINVAL);
    cr_expect_str_eq(err, "--x: invalid value for 'n': 'x' (expected an integer from 0 to "
                          "4294967295)");
    cr_assert_eq(parse("n=4294967296", &t, &seen, err), -EINVAL);
    cr_assert_eq(parse("t=\"on\"", &t, &seen, err), -EINVAL, "toggles keep their quotes in CH");
    cr_assert_eq(parse("n=\"3\"", &t, &seen, err), 0, "numbers lose them");
    cr_expect_eq(t.n, 3);
    cr_assert_eq(parse("n=[1", &t, &seen, err), -EINVAL);
    cr_expect_str_eq(err, "--x: invalid syntax (unbalanced quotes or brackets): 'n=[1'");
    cr_assert_eq(parse("s=\x01\n", &t, &seen, err), 0, "trailing whitespace is trimmed");
    free(t.s);
    cr_assert_eq(parse("n=\x01\x7f", &t, &seen, err), -EINVAL);
    cr_expect_str_eq(err,
                     "--x: invalid value for 'n': '?"
                     "?' (expected an integer from 0 to "
                     "4294967295)",
                     "hostile bytes are not echoed");
}

Test(optparse, bounds)
{
    struct optparse_seen seen;
    struct target t;
    char err[256], *big;
    size_t i;

    big = malloc(OPTPARSE_MAX_INPUT + 2);
    cr_assert(big);
    memset(big, 'a', OPTPARSE_MAX_INPUT + 1);
    big[OPTPARSE_MAX_INPUT + 1] = '\0';
    cr_expect_eq(parse(big, &t, &seen, err), -EINVAL);
    cr_expect_str_eq(err, "--x: value longer than 16384 bytes");
    for (i = 0; i + 4 < OPTPARSE_MAX_INPUT; i += 4)
        memcpy(big + i, "n=1,", 4);
    big[i - 1] = '\0';
    cr_expect_eq(parse(big, &t, &seen, err), -EINVAL);
    cr_expect_str_eq(err, "--x: more than 256 items");
    memset(big, 'k', 200);
    big[200] = '\0';
    cr_expect_eq(parse(big, &t, &seen, err), -EINVAL);
    cr_expect_str_eq(err, "--x: unknown key '"
                          "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...'");
    free(big);
}
