/* vm.restore's net_fds (issue 18), the controller's checks against config.json (a
 * configuration the command line's own parser built) and the fd lists it rewrites. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/cli/cli_restore.h"
#include "core/controller/restore_net.h"

static struct cli_config cfg;
static char err[512];

static void parse(void)
{
    const char *argv[] = { "cellvm",
                           "--kernel",
                           "/k",
                           "--cpus",
                           "boot=2",
                           "--net",
                           "id=net0,tap=t0,num_queues=4",
                           "id=net1,tap=t1,fd=[7]",
                           "id=vu0,vhost_user=on,socket=/s" };

    memset(&cfg, 0, sizeof(cfg));
    cr_assert_eq(cli_parse(9, (char **)argv, &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.nnets, 3);
}

static const struct cli_net *net(const char *id)
{
    for (size_t i = 0; i < cfg.nnets; i++)
        if (!strcmp(cfg.nets[i].id, id))
            return &cfg.nets[i];
    cr_assert_fail("no net %s", id);
    return NULL;
}

Test(restore_net, fds_replace_the_named_nets_in_order)
{
    const struct restore_net_fds v[] = { { "net1", 1 }, { "net0", 2 } };
    const int fds[] = { 40, 41, 42 };

    parse();
    cr_assert_eq(restore_net_fds_apply(&cfg, v, 2, fds, 3, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(net("net1")->fds.n, 1);
    cr_expect_eq(net("net1")->fds.v[0], 40, "the stale fd 7 is gone");
    cr_expect_eq(net("net0")->fds.n, 2);
    cr_expect_eq(net("net0")->fds.v[0], 41);
    cr_expect_eq(net("net0")->fds.v[1], 42);
    cr_expect_eq(net("vu0")->fds.n, 0);
    cli_config_free(&cfg);
}

Test(restore_net, nothing_named_changes_nothing)
{
    parse();
    cr_assert_eq(restore_net_fds_apply(&cfg, NULL, 0, NULL, 0, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(net("net1")->fds.n, 1);
    cr_expect_eq(net("net1")->fds.v[0], 7);
    cli_config_free(&cfg);
}

static void refused(const struct restore_net_fds *v, size_t n, const int *fds, size_t nfds,
                    const char *why)
{
    parse();
    err[0] = 0;
    cr_expect_eq(restore_net_fds_apply(&cfg, v, n, fds, nfds, err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, why), "'%s' lacks '%s'", err, why);
    /* Nothing changed. */
    cr_expect_eq(net("net1")->fds.n, 1);
    cr_expect_eq(net("net1")->fds.v[0], 7);
    cr_expect_eq(net("net0")->fds.n, 0);
    cli_config_free(&cfg);
}

Test(restore_net, each_refusal)
{
    const int fds[] = { 40, 41, 42 };
    const int bad[] = { -1 };

    refused((const struct restore_net_fds[]){ { "nope", 1 } }, 1, fds, 1, "no net with id 'nope'");
    refused((const struct restore_net_fds[]){ { "net0", 1 } }, 1, fds, 1,
            "'net0' has 2 queue pairs (num_queues 4), num_fds is 1");
    refused((const struct restore_net_fds[]){ { "net1", 2 } }, 1, fds, 2, "has 1 queue pairs");
    refused((const struct restore_net_fds[]){ { "net1", 1 }, { "net1", 1 } }, 2, fds, 2,
            "named twice");
    refused((const struct restore_net_fds[]){ { "vu0", 1 } }, 1, fds, 1, "vhost-user");
    refused((const struct restore_net_fds[]){ { "net1", 1 } }, 1, fds, 2,
            "asks for 1 file descriptors, 2 came");
    refused((const struct restore_net_fds[]){ { "net1", 1 } }, 1, bad, 1, "not a file descriptor");
    refused((const struct restore_net_fds[]){ { NULL, 1 } }, 1, fds, 1, "no net with id ''");
}

/* --restore's form, Cloud Hypervisor's: net_fds=[id@[fd,...],...] with inherited fds. */
Test(restore_net, cli_form)
{
    struct cli_restore r = { 0 };

    cr_assert_eq(cli_restore_parse("source_url=file:///s,net_fds=[net0@[23,24],net1@[25]]", &r, err,
                                   sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(r.nnets, 2);
    cr_expect_str_eq(r.nets[0].id, "net0");
    cr_assert_eq(r.nets[0].fds.n, 2);
    cr_expect_eq(r.nets[0].fds.v[0], 23);
    cr_expect_eq(r.nets[0].fds.v[1], 24);
    cr_expect_str_eq(r.nets[1].id, "net1");
    cr_assert_eq(r.nets[1].fds.n, 1);
    cr_expect_eq(r.nets[1].fds.v[0], 25);
    cli_restore_free(&r);
    cr_assert_eq(
        cli_restore_parse("source_url=file:///s,net_fds=[net0@[3-4]]", &r, err, sizeof(err)), 0,
        "%s", err);
    cr_expect_eq(r.nets[0].fds.n, 2, "a range, as --net fd= takes");
    cli_restore_free(&r);
    cr_expect_neq(cli_restore_parse("source_url=file:///s,net_fds=[n@[]]", &r, err, sizeof(err)),
                  0);
    cr_expect_neq(cli_restore_parse("source_url=file:///s,net_fds=[@[5]]", &r, err, sizeof(err)),
                  0);
    cr_expect_neq(cli_restore_parse("source_url=file:///s,net_fds=[n@[3,4,5,6,7,8,9,10,11]]", &r,
                                    err, sizeof(err)),
                  0);
    cr_expect_neq(cli_restore_parse("source_url=file:///s,net_fds=[n@[3]", &r, err, sizeof(err)),
                  0);
    cr_expect_eq(r.present, false);
}
