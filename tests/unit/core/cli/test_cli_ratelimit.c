/* --rate-limit-group and the bw_* and ops_* keys of --disk and --net through cli_parse(): stored
 * values, the cross-option checks (a disk names an existing group, group ids share the device
 * namespace) and one clear line for every refusal. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/cli/cli.h"

#define MAX_ARGV 16

static int parse(struct cli_config *cfg, char *err, const char *const *args)
{
    char *argv[MAX_ARGV + 4] = { "cellvm", "--kernel", "k" };
    int argc = 3;

    for (; *args && argc < MAX_ARGV; args++)
        argv[argc++] = (char *)*args;
    return cli_parse(argc, argv, cfg, err, CLI_ERR_LEN);
}

Test(cli_ratelimit, stored)
{
    const char *args[] = { "--rate-limit-group",
                           "bw_size=4194304,bw_refill_time=1000,id=g0",
                           "--rate-limit-group",
                           "ops_size=100,ops_one_time_burst=7,ops_refill_time=10,id=g1",
                           "--disk",
                           "path=/a,rate_limit_group=g0",
                           "--disk",
                           "path=/b,rate_limit_group=g0",
                           "--disk",
                           "path=/c,bw_size=1000,bw_one_time_burst=5,bw_refill_time=100",
                           "--net",
                           "tap=t0,ops_size=10,ops_refill_time=1000",
                           NULL };
    struct cli_config cfg;
    char err[CLI_ERR_LEN] = "";

    cr_assert_eq(parse(&cfg, err, args), 0, "%s", err);
    cr_assert_eq(cfg.nrl_groups, 2);
    cr_expect_str_eq(cfg.rl_groups[0].id, "g0");
    cr_expect_eq(cfg.rl_groups[0].rl.bw_size, 4194304);
    cr_expect_eq(cfg.rl_groups[0].rl.bw_refill_time, 1000);
    cr_expect_eq(cfg.rl_groups[1].rl.ops_one_time_burst, 7);
    cr_expect_str_eq(cfg.disks[1].rate_limit_group, "g0");
    cr_expect_eq(cfg.disks[2].rl.bw_one_time_burst, 5);
    cr_expect_eq(cfg.nets[0].rl.ops_size, 10);
    cr_expect(cli_rate_limit_on(&cfg.nets[0].rl));
    cr_expect_not(cli_rate_limit_on(&cfg.disks[0].rl));
    cli_config_free(&cfg);
}

struct refusal {
    const char *argv[MAX_ARGV];
    const char *msg;
};

static const struct refusal refusals[] = {
    { { "--disk", "path=/a,rate_limit_group=nope" },
      "--disk: invalid value for 'rate_limit_group': 'nope' (no --rate-limit-group with that id)" },
    { { "--rate-limit-group", "bw_size=1,bw_refill_time=1,id=g", "--disk",
        "path=/a,rate_limit_group=g,ops_size=1,ops_refill_time=1" },
      "--disk: invalid rate-limiter group: rate_limit_group and its own bw_* and ops_* buckets "
      "exclude each other" },
    { { "--disk", "vhost_user=on,socket=/s,bw_size=1,bw_refill_time=1" },
      "--disk: rate limiting is not supported with vhost-user" },
    { { "--net", "vhost_user=on,socket=/s,ops_size=1,ops_refill_time=1" },
      "--net: rate limiting is not supported with vhost-user" },
    { { "--disk", "path=/a,bw_size=4096" },
      "--disk: invalid value for 'bw_refill_time': '0' (bw_size needs a refill time in ms; a "
      "zero bucket is off)" },
    { { "--disk", "path=/a,bw_size=0,bw_refill_time=100" },
      "--disk: invalid value for 'bw_size': '0' (bw_refill_time given: a bucket needs a non-zero "
      "size)" },
    { { "--net", "tap=t,ops_one_time_burst=3" },
      "--net: invalid value for 'ops_size': '0' (ops_one_time_burst given: a bucket needs a "
      "non-zero size)" },
    { { "--rate-limit-group", "bw_size=1,bw_refill_time=1" },
      "--rate-limit-group: missing required key 'id'" },
    { { "--rate-limit-group", "id=g" },
      "--rate-limit-group: invalid rate-limiter group 'g': neither bw_size with bw_refill_time "
      "nor ops_size with ops_refill_time given" },
    { { "--rate-limit-group", "bw_size=0,bw_refill_time=0,id=g" },
      "--rate-limit-group: invalid rate-limiter group 'g'" },
    { { "--rate-limit-group", "bw_size=4M,bw_refill_time=1,id=g" },
      "--rate-limit-group: invalid value for 'bw_size': '4M'" },
    { { "--rate-limit-group", "bw_size=1,bw_refill_time=1,id=g,size=3" },
      "--rate-limit-group: unknown key 'size'" },
    { { "--rate-limit-group", "bw_size=1,bw_refill_time=1,id=d", "--disk", "path=/a,id=d" },
      "--rate-limit-group: invalid value for 'id': 'd' (already used)" },
};

Test(cli_ratelimit, refused_with_one_line)
{
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        struct cli_config cfg;
        char err[CLI_ERR_LEN] = "";

        cr_expect_eq(parse(&cfg, err, refusals[i].argv), -EINVAL, "case %zu accepted", i);
        cr_expect(strstr(err, refusals[i].msg), "case %zu: '%s', expected '%s'", i, err,
                  refusals[i].msg);
        cr_expect_null(strchr(err, '\n'), "one line");
        cli_config_free(&cfg);
    }
}
