/* --platform num_pci_segments and what it allows: device pci_segment below it, --numa
 * pci_segments with Cloud Hypervisor's rules (segment 0 on node 0, a segment on one node); the
 * SMBIOS keys serial_number, uuid (every form Cloud Hypervisor's parser takes, and what is
 * wrong with the others) and oem_strings. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/cli/cli_platform.h"
#include "core/cli/cli_validate.h"

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

Test(cli_platform, defaults)
{
    const char *a[] = { K, NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(a, &c, err), 0, "%s", err);
    cr_expect_not(c.platform.present);
    cr_expect_eq(c.platform.num_pci_segments, 1);
    cr_expect_eq(cli_num_pci_segments(&c), 1);
    cli_config_free(&c);
}

Test(cli_platform, segments_and_devices)
{
    const char *a[] = { K,
                        "--platform",
                        "num_pci_segments=4",
                        "--disk",
                        "path=/a,pci_segment=3",
                        "--net",
                        "tap=t0,pci_segment=1",
                        "--vsock",
                        "cid=3,socket=/tmp/v,pci_segment=2",
                        "--device",
                        "path=/sys/bus/pci/devices/0000:01:00.0,pci_segment=3",
                        "--user-device",
                        "socket=/s,pci_segment=0",
                        NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(a, &c, err), 0, "%s", err);
    cr_expect(c.platform.present);
    cr_expect_eq(c.platform.num_pci_segments, 4);
    cr_expect_eq(c.disks[0].pci_segment, 3);
    cr_expect_eq(c.nets[0].pci_segment, 1);
    cr_expect_eq(c.vsock.pci_segment, 2);
    cr_expect_eq(c.devices[0].pci_segment, 3);
    cli_config_free(&c);
}

Test(cli_platform, bounds)
{
    const char *one[] = { K, "--platform", "num_pci_segments=96", NULL };
    const char *zero[] = { K, "--platform", "num_pci_segments=0", NULL };
    const char *over[] = {
        K, "--platform", "num_pci_segments=2", "--vsock", "cid=3,socket=/tmp/v,pci_segment=2", NULL
    };
    const char *big[] = { K, "--platform", "num_pci_segments=70000", NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(one, &c, err), 0, "%s", err);
    cr_expect_eq(c.platform.num_pci_segments, 96);
    cli_config_free(&c);
    cr_assert_eq(parse(zero, &c, err), -EINVAL);
    cr_expect_str_eq(err, "--platform: invalid value for 'num_pci_segments': '0' (Number of PCI "
                          "segments (0) not in range of 1 to 96)");
    cli_config_free(&c);
    cr_assert_eq(parse(over, &c, err), -EINVAL);
    cr_expect_str_eq(err, "--vsock: invalid value for 'pci_segment': Invalid PCI segment id: 2 "
                          "(--platform num_pci_segments=2)");
    cli_config_free(&c);
    cr_assert_eq(parse(big, &c, err), -EINVAL);
    cr_expect(strstr(err, "num_pci_segments") != NULL, "%s", err);
    cli_config_free(&c);
}

/* Known keys cellvm lacks: accepted at their defaults, refused when set. */
Test(cli_platform, unsupported_keys)
{
    static const char *const keys[] = { "tdx=on", "sev_snp=on" };
    const char *dflt[] = { K, "--platform", "iommu_address_width=64,tdx=off,sev_snp=off", NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(dflt, &c, err), 0, "%s", err);
    cli_config_free(&c);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *a[] = { K, "--platform", keys[i], NULL };
        char want[128];

        snprintf(want, sizeof(want), "--platform: known but not supported yet: %.*s",
                 (int)(strchr(keys[i], '=') - keys[i]), keys[i]);
        cr_expect_eq(parse(a, &c, err), -EINVAL, "%s", keys[i]);
        cr_expect_str_eq(err, want);
        cli_config_free(&c);
    }
}

/* iommu_segments and iommu_address_width, with Cloud Hypervisor's rules for what sits on an
 * IOMMU segment (issue 20). */
Test(cli_platform, iommu)
{
    const char *ok[] = { K,
                         "--platform",
                         "num_pci_segments=3,iommu_segments=[1,2]",
                         "--disk",
                         "path=/a,pci_segment=1,iommu=on",
                         "--net",
                         "tap=t0,iommu=on",
                         NULL };
    const char *width[] = { K, "--platform", "iommu_address_width=48", NULL };
    const char *mq[] = { K, "--cpus", "boot=2", "--net", "tap=t0,iommu=on,num_queues=4", NULL };
    static const struct {
        const char *plat, *opt, *val, *msg;
    } bad[] = {
        { "num_pci_segments=2,iommu_segments=[1]", "--disk", "path=/a,pci_segment=1",
          "--disk: Device is on an IOMMU PCI segment (1) but not placed behind IOMMU (add "
          "iommu=on)" },
        { "num_pci_segments=2,iommu_segments=[1]", "--pmem", "file=/p,size=2M,pci_segment=1",
          "--pmem: Device is on an IOMMU PCI segment (1) but not placed behind IOMMU (add "
          "iommu=on)" },
        { "num_pci_segments=2,iommu_segments=[1]", "--vsock", "cid=3,socket=/v,pci_segment=1",
          "--vsock: Device is on an IOMMU PCI segment (1) but not placed behind IOMMU (add "
          "iommu=on)" },
        { "num_pci_segments=2,iommu_segments=[2]", "--disk", "path=/a",
          "--platform: invalid value for 'iommu_segments': Invalid PCI segment id: 2 "
          "(num_pci_segments=2)" },
        { "iommu_address_width=65", "--disk", "path=/a",
          "--platform: invalid value for 'iommu_address_width': IOMMU address width in bits (65) "
          "should be between 12 and 64" },
        { "iommu_address_width=8", "--disk", "path=/a",
          "--platform: invalid value for 'iommu_address_width': IOMMU address width in bits (8) "
          "should be between 12 and 64" },
        { "num_pci_segments=1", "--disk", "path=/a,iommu=on,queue_size=512",
          "--disk: known but not supported yet: iommu=on with queue_size=512 (at most 256 behind "
          "the IOMMU)" },
    };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(ok, &c, err), 0, "%s", err);
    cr_expect_eq(c.platform.niommu_segments, 2);
    cr_expect_eq(c.platform.iommu_segments[1], 2);
    cr_expect_eq(c.platform.iommu_address_width, 64);
    cr_expect(c.disks[0].iommu && c.nets[0].iommu);
    cr_expect(cli_iommu_segment(&c, 1) && !cli_iommu_segment(&c, 0));
    cr_expect(cli_vm_iommu(&c));
    cli_config_free(&c);
    cr_assert_eq(parse(width, &c, err), 0, "%s", err);
    cr_expect_eq(c.platform.iommu_address_width, 48);
    cr_expect_not(cli_vm_iommu(&c)); /* nothing behind an IOMMU: none */
    cli_config_free(&c);
    cr_expect_eq(parse(mq, &c, err), -EINVAL);
    cr_expect_str_eq(err, "--net: known but not supported yet: iommu=on with num_queues=4 (one "
                          "queue pair behind the IOMMU)");
    cli_config_free(&c);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *a[] = { K, "--platform", bad[i].plat, bad[i].opt, bad[i].val, NULL };

        cr_expect_eq(parse(a, &c, err), -EINVAL, "%s %s", bad[i].plat, bad[i].val);
        cr_expect_str_eq(err, bad[i].msg);
        cli_config_free(&c);
    }
}

Test(cli_platform, numa_segments)
{
    const char *ok[] = { K,
                         "--cpus",
                         "boot=2",
                         "--platform",
                         "num_pci_segments=3",
                         "--numa",
                         "guest_numa_id=0,cpus=[0],pci_segments=[0,2]",
                         "guest_numa_id=1,cpus=[1],pci_segments=[1]",
                         NULL };
    const char *reused[] = { K,
                             "--cpus",
                             "boot=2",
                             "--platform",
                             "num_pci_segments=3",
                             "--numa",
                             "guest_numa_id=0,cpus=[0],pci_segments=[0,1]",
                             "guest_numa_id=1,cpus=[1],pci_segments=[1]",
                             NULL };
    const char *missing[] = { K,
                              "--platform",
                              "num_pci_segments=2",
                              "--numa",
                              "guest_numa_id=0,cpus=[0],pci_segments=[2]",
                              NULL };
    const char *node1[] = { K, "--numa", "guest_numa_id=0,cpus=[0]",
                            "guest_numa_id=1,pci_segments=[0],device_id=x", NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(ok, &c, err), 0, "%s", err);
    cli_config_free(&c);
    cr_assert_eq(parse(reused, &c, err), -EINVAL);
    cr_expect_str_eq(err, "--numa: invalid value for 'pci_segments': PCI segment: 1 belongs to "
                          "multiple NUMA nodes 0 and 1");
    cli_config_free(&c);
    cr_assert_eq(parse(missing, &c, err), -EINVAL);
    cr_expect_str_eq(err, "--numa: invalid value for 'pci_segments': Invalid PCI segment id: 2 "
                          "(--platform num_pci_segments=2)");
    cli_config_free(&c);
    cr_assert_eq(parse(node1, &c, err), -EINVAL);
    cr_expect_str_eq(err, "--numa: invalid value for 'pci_segments': Default PCI segment assigned "
                          "to non-zero NUMA node 1");
    cli_config_free(&c);
}

Test(cli_platform, smbios_keys)
{
    const char *a[] = { K, "--platform",
                        "num_pci_segments=2,serial_number=SN-0001,"
                        "uuid=4c4c4544-0042-4d10-8031-B4C04F4A4A32,"
                        "oem_strings=[io.systemd.credential:x=y,\"a, b\",c]",
                        NULL };
    const uint8_t want[16] = { 0x4c, 0x4c, 0x45, 0x44, 0x00, 0x42, 0x4d, 0x10,
                               0x80, 0x31, 0xb4, 0xc0, 0x4f, 0x4a, 0x4a, 0x32 };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(a, &c, err), 0, "%s", err);
    cr_expect(c.platform.present);
    cr_expect_eq(c.platform.num_pci_segments, 2);
    cr_assert_not_null(c.platform.serial_number);
    cr_expect_str_eq(c.platform.serial_number, "SN-0001");
    cr_assert_not_null(c.platform.uuid);
    cr_expect_str_eq(c.platform.uuid, "4c4c4544-0042-4d10-8031-B4C04F4A4A32", "kept as given");
    cr_expect_eq(memcmp(c.platform.uuid_bytes, want, 16), 0);
    cr_assert_eq(c.platform.noem_strings, 3);
    cr_expect_str_eq(c.platform.oem_strings[0], "io.systemd.credential:x=y");
    cr_expect_str_eq(c.platform.oem_strings[1], "a, b");
    cr_expect_str_eq(c.platform.oem_strings[2], "c");
    cli_config_free(&c);
}

/* Empty values mean "not given", as in Cloud Hypervisor; an empty list is no strings. */
Test(cli_platform, smbios_empty)
{
    const char *a[] = { K, "--platform", "serial_number=,uuid=,oem_strings=[]", NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(a, &c, err), 0, "%s", err);
    cr_expect(c.platform.present);
    cr_expect_null(c.platform.serial_number);
    cr_expect_null(c.platform.uuid);
    cr_expect_eq(c.platform.noem_strings, 0);
    cli_config_free(&c);
}

Test(cli_platform, uuid_forms)
{
    static const char *const good[] = {
        "00112233-4455-6677-8899-aabbccddeeff",
        "00112233445566778899AABBCCDDEEFF",
        "{00112233-4455-6677-8899-aabbccddeeff}",
        "urn:uuid:00112233-4455-6677-8899-AaBbCcDdEeFf",
    };
    const uint8_t want[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                               0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint8_t out[16];
        char why[256] = "";

        memset(out, 0x5a, sizeof(out));
        cr_expect_eq(cli_uuid_parse(good[i], out, why, sizeof(why)), 0, "%s: %s", good[i], why);
        cr_expect_eq(memcmp(out, want, 16), 0, "%s", good[i]);
    }
}

/* Each bad uuid says what is wrong with it (Cloud Hypervisor v51.0's clearer uuid errors). */
Test(cli_platform, uuid_errors)
{
    static const struct {
        const char *value, *why;
    } bad[] = {
        { "00112233-4455-6677-8899-aabbccddeefg",
          "invalid character: expected an optional prefix of `urn:uuid:` followed by "
          "[0-9a-fA-F-], found `g` at 36" },
        { "x0112233445566778899aabbccddeeff",
          "invalid character: expected an optional prefix of `urn:uuid:` followed by "
          "[0-9a-fA-F-], found `x` at 1" },
        { "urn:uuid:00112233-4455-6677-8899-aabbccddee f",
          "invalid character: expected an optional prefix of `urn:uuid:` followed by "
          "[0-9a-fA-F-], found ` ` at 44" },
        { "{00112233-4455-6677-8899-aabbccddeeff",
          "invalid character: expected an optional prefix of `urn:uuid:` followed by "
          "[0-9a-fA-F-], found `{` at 1" },
        { "0011223344556677", "invalid length: expected length 32 for simple format, found 16" },
        { "00112233445566778899aabbccddeeff00",
          "invalid length: expected length 32 for simple format, found 34" },
        { "00112233-4455-6677-8899aabbccddeeff", "invalid group count: expected 5, found 4" },
        { "0-0-0-0-0-0", "invalid group count: expected 5, found 6" },
        { "00112233-4455-66778-899-aabbccddeeff",
          "invalid group length in group 3 of 5: expected 4, found 5" },
        { "00112233-4455-6677-8899-aabbccddeef",
          "invalid group length in group 5 of 5: expected 12, found 11" },
        { "0011223-34455-6677-8899-aabbccddeeff",
          "invalid group length in group 1 of 5: expected 8, found 7" },
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t out[16];
        char why[256] = "";

        cr_expect_eq(cli_uuid_parse(bad[i].value, out, why, sizeof(why)), -EINVAL, "%s",
                     bad[i].value);
        cr_expect_str_eq(why, bad[i].why, "%s", bad[i].value);
    }
}

Test(cli_platform, smbios_errors)
{
    static char many[300 * 2 + 32], big[CLI_MAX_SMBIOS_TEXT + 64], fits[CLI_MAX_SMBIOS_TEXT + 64];
    static const struct {
        const char *value, *err;
    } bad[] = {
        { "uuid=zz", "--platform: invalid value for 'uuid': 'zz' (invalid character: expected an "
                     "optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `z` at 1)" },
        { "uuid=\"\"", "--platform: invalid value for 'uuid': '' (invalid length: expected "
                       "length 32 for simple format, found 0)" },
        { "serial_number=\"\"",
          "--platform: invalid value for 'serial_number': SMBIOS strings cannot be empty" },
        { "oem_strings=[a,\"\",b]",
          "--platform: invalid value for 'oem_strings': SMBIOS strings cannot be empty" },
        { "serial_number=a\tb", "--platform: invalid value for 'serial_number': 'a?b' (SMBIOS "
                                "strings here are printable ASCII; byte 0x09 at 2 is not)" },
        /* "caf??": written apart, as "??'" would be a trigraph */
        { "oem_strings=[ok,caf\xc3\xa9]", "--platform: invalid value for 'oem_strings': 'caf?"
                                          "?' (SMBIOS strings here are printable ASCII; byte "
                                          "0xc3 at 4 is not)" },
        { "oem_strings=[a,b", "--platform: invalid syntax" },
    };
    struct cli_config c;
    char err[CLI_ERR_LEN];
    size_t n;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *a[] = { K, "--platform", bad[i].value, NULL };

        cr_expect_eq(parse(a, &c, err), -EINVAL, "%s", bad[i].value);
        cr_expect(!strncmp(err, bad[i].err, strlen(bad[i].err)), "%s: got \"%s\"", bad[i].value,
                  err);
        cli_config_free(&c);
    }

    /* 255 OEM strings are the most type 11 counts; 256 are refused. */
    n = (size_t)snprintf(many, sizeof(many), "oem_strings=[");
    for (int i = 0; i < 256; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "%sx", i ? "," : "");
    snprintf(many + n, sizeof(many) - n, "]");
    {
        const char *a[] = { K, "--platform", many, NULL };

        cr_expect_eq(parse(a, &c, err), -EINVAL);
        cr_expect_str_eq(err, "--platform: invalid value for 'oem_strings': 256 strings, SMBIOS "
                              "holds at most 255");
        cli_config_free(&c);
        many[n - 2] = ']'; /* drop the last ",x" */
        many[n - 1] = '\0';
        cr_assert_eq(parse(a, &c, err), 0, "%s", err);
        cr_expect_eq(c.platform.noem_strings, 255);
        cli_config_free(&c);
    }

    /* The strings' total, a NUL each, fits the SMBIOS area: exactly at the limit is fine. */
    n = (size_t)snprintf(fits, sizeof(fits), "serial_number=");
    memset(fits + n, 's', CLI_MAX_SMBIOS_TEXT - 1);
    fits[n + CLI_MAX_SMBIOS_TEXT - 1] = '\0';
    memcpy(big, fits, strlen(fits));
    big[strlen(fits)] = 'S';
    {
        const char *a[] = { K, "--platform", fits, NULL };
        const char *b[] = { K, "--platform", big, NULL };

        cr_expect_eq(parse(a, &c, err), 0, "%s", err);
        cli_config_free(&c);
        cr_expect_eq(parse(b, &c, err), -EINVAL);
        cr_expect_str_eq(err, "--platform: serial_number and oem_strings take 3073 bytes (one NUL "
                              "each), the SMBIOS area holds 3072");
        cli_config_free(&c);
    }
}
