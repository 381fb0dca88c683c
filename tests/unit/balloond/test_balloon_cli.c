/* --balloon as Cloud Hypervisor v51.0 spells it: keys, defaults, sizes, the check against the
 * RAM; and the daemon's spec, which also takes discard=. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/cli/cli.h"
#include "devspec/devspec.h"

static char err[CLI_ERR_LEN];

Test(balloon_cli, keys_and_defaults)
{
    struct cli_balloon b;

    cr_assert_eq(cli_balloon_parse("size=1G", false, &b, err, sizeof(err)), 0, "%s", err);
    cr_expect(b.present);
    cr_expect_eq(b.size, 1ull << 30);
    cr_expect(!b.deflate_on_oom && !b.free_page_reporting);
    cr_expect(b.discard, "discard defaults on");
    cr_assert_eq(cli_balloon_parse("deflate_on_oom=on,free_page_reporting=true", false, &b, err,
                                   sizeof(err)),
                 0, "%s", err);
    cr_expect_eq(b.size, 0, "size defaults to 0 (CH's map_or(0))");
    cr_expect(b.deflate_on_oom && b.free_page_reporting);
    cr_expect_eq(cli_balloon_parse("size=1G,id=b0", false, &b, err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, "id"), "%s", err);
    cr_expect_eq(cli_balloon_parse("size=lots", false, &b, err, sizeof(err)), -EINVAL);
    cr_expect_eq(cli_balloon_parse("deflate_on_oom=maybe", false, &b, err, sizeof(err)), -EINVAL);
    /* num_pages is a le32: 16 TiB and more cannot be said. */
    cr_expect_eq(cli_balloon_parse("size=17592186044416", false, &b, err, sizeof(err)), -EINVAL);
    /* discard= is the daemon's only. */
    cr_expect_eq(cli_balloon_parse("size=0,discard=off", false, &b, err, sizeof(err)), -EINVAL);
    cr_assert_eq(cli_balloon_parse("size=0,discard=off", true, &b, err, sizeof(err)), 0, "%s", err);
    cr_expect(!b.discard);
}

static int parse(char **argv, int argc, struct cli_config *c)
{
    int r = cli_parse(argc, argv, c, err, sizeof(err));

    return r;
}

Test(balloon_cli, against_ram)
{
    struct cli_config c;
    char *ok[] = {
        "cellvm", "--kernel", "k", "--memory", "size=1G", "--balloon", "size=256M,deflate_on_oom=on"
    };
    char *big[] = { "cellvm", "--kernel", "k", "--memory", "size=1G", "--balloon", "size=1G" };
    char *zones[] = { "cellvm",        "--kernel",      "k",         "--memory",  "size=0",
                      "--memory-zone", "id=m0,size=1G", "--balloon", "size=1536M" };

    cr_assert_eq(parse(ok, 7, &c), 0, "%s", err);
    cr_expect(c.balloon.present);
    cr_expect_eq(c.balloon.size, 256ull << 20);
    cr_expect(c.balloon.deflate_on_oom);
    cli_config_free(&c);
    cr_expect_eq(parse(big, 7, &c), -EINVAL);
    cr_expect(strstr(err, "--balloon") && strstr(err, "smaller than the RAM"), "%s", err);
    cli_config_free(&c);
    cr_expect_eq(parse(zones, 9, &c), -EINVAL, "zones count as RAM: 1 GiB here");
    cli_config_free(&c);
}
