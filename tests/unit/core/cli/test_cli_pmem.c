/* --pmem: Cloud Hypervisor's keys and defaults, the 2 MiB size rule, iommu=on refused as
 * known but not supported, required file, ids in the shared namespace and pci_segment
 * against --platform. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/cli/cli_devices.h"

static char err[CLI_ERR_LEN];

Test(cli_pmem, defaults_and_keys)
{
    struct cli_pmem p;

    cr_assert_eq(cli_pmem_parse("file=/img", &p, err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(p.file, "/img");
    cr_expect_not(p.has_size);
    cr_expect_not(p.discard_writes);
    cr_expect_not(p.iommu);
    cr_expect_null(p.id);
    cr_expect_eq(p.pci_segment, 0);
    cli_pmem_free(&p);
    cr_assert_eq(cli_pmem_parse("file=/img,size=4M,discard_writes=on,id=root,pci_segment=1,"
                                "iommu=off",
                                &p, err, sizeof(err)),
                 0, "%s", err);
    cr_expect(p.has_size);
    cr_expect_eq(p.size, 4ull << 20);
    cr_expect(p.discard_writes);
    cr_expect_str_eq(p.id, "root");
    cr_expect_eq(p.pci_segment, 1);
    cli_pmem_free(&p);
    /* An empty value means the default, as in Cloud Hypervisor. */
    cr_assert_eq(cli_pmem_parse("file=/img,size=", &p, err, sizeof(err)), 0, "%s", err);
    cr_expect_not(p.has_size);
    cli_pmem_free(&p);
}

static void refused(const char *v, const char *msg)
{
    struct cli_pmem p;

    cr_expect_neq(cli_pmem_parse(v, &p, err, sizeof(err)), 0, "%s accepted", v);
    cr_expect(strstr(err, msg), "%s: '%s' lacks '%s'", v, err, msg);
    cli_pmem_free(&p);
}

Test(cli_pmem, bad_values)
{
    refused("size=2M", "missing required key 'file'");
    refused("file=/img,size=3M", "multiple of 2 MiB");
    refused("file=/img,size=0", "multiple of 2 MiB");
    refused("file=/img,iommu=on", "not supported");
    refused("file=/img,discard_writes=maybe", "discard_writes");
    refused("file=/img,mergeable=on", "mergeable");
    refused("file=/img,id=__x", "id");
    refused("file=", "file");
}

static int parse(const char *const *argv, int argc, struct cli_config *cfg)
{
    return cli_parse(argc, (char *const *)argv, cfg, err, sizeof(err));
}

Test(cli_pmem, whole_command_line)
{
    const char *ok[] = {
        "cellvm", "--kernel", "k", "--pmem", "file=/a", "--pmem", "file=/b,discard_writes=on,id=b"
    };
    const char *dup[] = { "cellvm",       "--kernel", "k",           "--pmem",
                          "file=/a,id=x", "--disk",   "path=/d,id=x" };
    const char *seg[] = { "cellvm", "--kernel", "k", "--pmem", "file=/a,pci_segment=1" };
    struct cli_config cfg;

    cr_assert_eq(parse(ok, 7, &cfg), 0, "%s", err);
    cr_assert_eq(cfg.npmem, 2);
    cr_expect_str_eq(cfg.pmem[1].id, "b");
    cr_assert_eq(cli_fill_device_ids(&cfg), 0);
    cr_expect_str_eq(cfg.pmem[0].id, "_pmem0");
    cli_config_free(&cfg);
    cr_expect_neq(parse(dup, 7, &cfg), 0);
    cr_expect(strstr(err, "already used"), "%s", err);
    cli_config_free(&cfg);
    cr_expect_neq(parse(seg, 5, &cfg), 0);
    cr_expect(strstr(err, "pci_segment"), "%s", err);
    cli_config_free(&cfg);
}
