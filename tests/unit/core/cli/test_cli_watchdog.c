/* --watchdog: Cloud Hypervisor's flag (no value, once, needs a payload), off by default. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/cli/cli.h"

static char err[CLI_ERR_LEN];

static int parse(int argc, char *const argv[], struct cli_config *cfg)
{
    return cli_parse(argc, argv, cfg, err, sizeof(err));
}

Test(cli_watchdog, flag_sets_it)
{
    char *const with[] = { "cellvm", "--kernel", "/k", "--watchdog", NULL };
    char *const without[] = { "cellvm", "--kernel", "/k", NULL };
    struct cli_config cfg;

    cr_assert_eq(parse(4, with, &cfg), 0, "%s", err);
    cr_expect(cfg.watchdog);
    cli_config_free(&cfg);
    cr_assert_eq(parse(3, without, &cfg), 0, "%s", err);
    cr_expect_not(cfg.watchdog, "off by default");
    cli_config_free(&cfg);
    cr_expect(cli_option_supported("watchdog"));
}

static void refused(int argc, char *const argv[], const char *msg)
{
    struct cli_config cfg;

    cr_expect_neq(parse(argc, argv, &cfg), 0, "accepted");
    cr_expect(strstr(err, msg), "'%s' lacks '%s'", err, msg);
    cli_config_free(&cfg);
}

Test(cli_watchdog, misuse)
{
    char *const value[] = { "cellvm", "--kernel", "/k", "--watchdog=on", NULL };
    char *const twice[] = { "cellvm", "--kernel", "/k", "--watchdog", "--watchdog", NULL };
    char *const bare[] = { "cellvm", "--watchdog", NULL };

    refused(4, value, "--watchdog: takes no value");
    refused(5, twice, "--watchdog: given more than once");
    refused(2, bare, "--watchdog: needs --kernel");
}
