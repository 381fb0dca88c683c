/* --landlock and --landlock-rules (issue 20): Cloud Hypervisor's LandlockConfig syntax (path
 * and access required, access r, w or rw), the path must exist, relative paths as given. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/cli/cli_landlock.h"
#include "sandbox/landlock.h"

#define MAX_ARGV 16
#define K        "--kernel", "k"

static int parse(const char *const *args, struct cli_config *c, char *err)
{
    char *argv[MAX_ARGV + 2] = { (char *)"cellvm" };
    int n = 1;

    for (; args[n - 1]; n++)
        argv[n] = (char *)args[n - 1];
    return cli_parse(n, argv, c, err, CLI_ERR_LEN);
}

static void refused(const char *v, const char *msg)
{
    struct cli_landlock_rule r = { 0 };
    char err[CLI_ERR_LEN];

    cr_assert_neq(cli_landlock_rule_parse(v, &r, err, sizeof(err)), 0, "'%s' accepted", v);
    cr_expect(strstr(err, msg), "'%s' -> '%s', expected '%s'", v, err, msg);
    cr_expect_null(r.path);
}

Test(cli_landlock, rule_keys)
{
    struct cli_landlock_rule r = { 0 };
    char err[CLI_ERR_LEN];

    cr_assert_eq(cli_landlock_rule_parse("path=/tmp,access=rw", &r, err, sizeof(err)), 0, "%s",
                 err);
    cr_expect_str_eq(r.path, "/tmp");
    cr_expect_str_eq(r.access, "rw");
    cr_assert_eq(cli_landlock_rule_parse("access=r,path=/dev/null", &r, err, sizeof(err)), 0, "%s",
                 err);
    cr_expect_str_eq(r.path, "/dev/null");
    cr_expect_str_eq(r.access, "r");
    cli_landlock_rule_free(&r);
    /* A relative path is taken as Cloud Hypervisor takes it: relative to the working dir. */
    cr_assert_eq(cli_landlock_rule_parse("path=.,access=wr", &r, err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(r.path, ".");
    cli_landlock_rule_free(&r);
}

Test(cli_landlock, bad_rules)
{
    refused("", "path/access field missing");
    refused("path=/tmp", "path/access field missing");
    refused("access=rw", "path/access field missing");
    refused("path=,access=rw", "path/access field missing");
    refused("path=/tmp,access=", "path/access field missing"); /* empty is not given */
    refused("path=/tmp,access=rwr", "longer than two characters");
    refused("path=/tmp,access=x", "invalid access 'x'");
    refused("path=/tmp,access=R", "invalid access 'R'");
    refused("path=/no/such/cellvm/path,access=r", "does not exist");
    refused("path=/tmp,access=rw,mode=1", "mode");
}

Test(cli_landlock, access_bits)
{
    unsigned a = 0;
    char why[96];

    cr_assert_eq(cli_landlock_access("r", &a, why, sizeof(why)), 0);
    cr_expect_eq(a, SBX_LL_READ);
    cr_assert_eq(cli_landlock_access("w", &a, why, sizeof(why)), 0);
    cr_expect_eq(a, SBX_LL_WRITE);
    cr_assert_eq(cli_landlock_access("rw", &a, why, sizeof(why)), 0);
    cr_expect_eq(a, SBX_LL_READ | SBX_LL_WRITE);
    cr_assert_eq(cli_landlock_access("wr", &a, why, sizeof(why)), 0);
    cr_expect_eq(a, SBX_LL_READ | SBX_LL_WRITE);
    cr_expect_neq(cli_landlock_access(NULL, &a, why, sizeof(why)), 0);
}

Test(cli_landlock, command_line)
{
    const char *a[] = { K,
                        "--landlock",
                        "--landlock-rules",
                        "path=/tmp,access=rw",
                        "path=/dev/null,access=r",
                        "--landlock-rules=path=/,access=r",
                        NULL };
    const char *off[] = { K, NULL };
    const char *twice[] = { K, "--landlock", "--landlock", NULL };
    const char *value[] = { K, "--landlock=on", NULL };
    const char *nokernel[] = { "--landlock", NULL };
    const char *bad[] = { K, "--landlock-rules", "path=/tmp,access=rx", NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(a, &c, err), 0, "%s", err);
    cr_expect(c.landlock);
    cr_assert_eq(c.nlandlock_rules, 3);
    cr_expect_str_eq(c.landlock_rules[0].path, "/tmp");
    cr_expect_str_eq(c.landlock_rules[1].access, "r");
    cr_expect_str_eq(c.landlock_rules[2].path, "/");
    cli_config_free(&c);
    cr_assert_eq(parse(off, &c, err), 0, "%s", err);
    cr_expect_not(c.landlock);
    cr_expect_eq(c.nlandlock_rules, 0);
    cli_config_free(&c);
    cr_expect_neq(parse(twice, &c, err), 0);
    cr_expect(strstr(err, "more than once"), "%s", err);
    cli_config_free(&c);
    cr_expect_neq(parse(value, &c, err), 0);
    cr_expect(strstr(err, "takes no value"), "%s", err);
    cli_config_free(&c);
    cr_expect_neq(parse(nokernel, &c, err), 0);
    cr_expect(strstr(err, "needs --kernel"), "%s", err);
    cli_config_free(&c);
    cr_expect_neq(parse(bad, &c, err), 0);
    cr_expect(strstr(err, "--landlock-rules: invalid access 'x'"), "%s", err);
    cli_config_free(&c);
}
