/* vfiod/vfio_group.c against a fake sysfs tree in a temporary directory (directories, files and
 * symlinks shaped as the kernel's: bus/pci/devices links, subsystem, iommu_group and driver
 * links, kernel/iommu_groups/N/devices): --device paths that resolve and paths that must not
 * (not PCI, no group, missing, traversal, a file), group viability naming the device and driver
 * in the way, and vfio_group_open's refusals on a directory without real VFIO nodes (opening a
 * real group needs /dev/vfio: the nested bench does that). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfiod/vfio_group.h"

static char root[64];

static void mkdirs(const char *rel)
{
    char p[PATH_MAX];

    snprintf(p, sizeof(p), "%s/%s", root, rel);
    for (char *s = p + strlen(root) + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        mkdir(p, 0700);
        *s = '/';
    }
    mkdir(p, 0700);
}

/* rel -> root/target (absolute links, which realpath follows like the kernel's relative ones) */
static void link_to(const char *rel, const char *target)
{
    char p[PATH_MAX], t[PATH_MAX];

    snprintf(p, sizeof(p), "%s/%s", root, rel);
    snprintf(t, sizeof(t), "%s/%s", root, target);
    cr_assert_eq(symlink(t, p), 0, "%s: %s", p, strerror(errno));
}

static void write_file(const char *rel, const void *data, size_t len)
{
    char p[PATH_MAX];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", root, rel);
    f = fopen(p, "w");
    cr_assert_not_null(f, "%s", p);
    fwrite(data, 1, len, f);
    fclose(f);
}

/* A PCI function under pci0000:00, in `group` (0: none), bound to `driver` (NULL: none). */
static void pci_dev(const char *bdf, unsigned group, const char *driver)
{
    char dev[128], p[192], t[192];

    snprintf(dev, sizeof(dev), "devices/pci0000:00/%s", bdf);
    mkdirs(dev);
    snprintf(p, sizeof(p), "%s/subsystem", dev);
    link_to(p, "bus/pci");
    snprintf(p, sizeof(p), "bus/pci/devices/%s", bdf);
    link_to(p, dev);
    if (group) {
        snprintf(p, sizeof(p), "kernel/iommu_groups/%u/devices", group);
        mkdirs(p);
        snprintf(p, sizeof(p), "kernel/iommu_groups/%u/devices/%s", group, bdf);
        link_to(p, dev);
        snprintf(p, sizeof(p), "%s/iommu_group", dev);
        snprintf(t, sizeof(t), "kernel/iommu_groups/%u", group);
        link_to(p, t);
    }
    if (driver) {
        snprintf(t, sizeof(t), "bus/pci/drivers/%s", driver);
        mkdirs(t);
        snprintf(p, sizeof(p), "%s/driver", dev);
        link_to(p, t);
    }
}

static void setup(void)
{
    uint8_t config[64] = { 0 };

    snprintf(root, sizeof(root), "/var/tmp/cellvm-vfio-group-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    mkdirs("bus/pci/devices");
    mkdirs("bus/platform");
    pci_dev("0000:00:02.0", 7, "vfio-pci");
    pci_dev("0000:00:02.1", 7, "e1000e");
    pci_dev("0000:00:03.0", 8, NULL);
    pci_dev("0000:00:1c.0", 8, "pcieport"); /* a bridge: header type 1 */
    config[0x0e] = 0x81;                    /* multi-function bit set, type 1 */
    write_file("devices/pci0000:00/0000:00:1c.0/config", config, sizeof(config));
    pci_dev("0000:00:04.0", 0, NULL);
    pci_dev("0000:00:05.0", 9, "pci-stub");
    pci_dev("0000:00:05.1", 9, "mlx5_vfio_pci");
    pci_dev("0000:00:06.0", 10, "ahci"); /* an endpoint with a header type 0 config */
    config[0x0e] = 0x00;
    write_file("devices/pci0000:00/0000:00:06.0/config", config, sizeof(config));
    write_file("devices/pci0000:00/0000:00:02.0/vendor", "0x1234\n", 7);
    mkdirs("devices/pci0000:00/not-a-bdf");
    link_to("devices/pci0000:00/not-a-bdf/subsystem", "bus/pci");
    mkdirs("devices/platform/serial8250");
    link_to("devices/platform/serial8250/subsystem", "bus/platform");
    mkdirs("kernel/iommu_groups/11/devices");
    mkdirs("devices/pci0000:00/0000:00:07.0");
    link_to("devices/pci0000:00/0000:00:07.0/subsystem", "bus/pci");
    link_to("devices/pci0000:00/0000:00:07.0/iommu_group", "bus/pci"); /* not a group */
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(vfio_group, .init = setup, .fini = teardown);

static int resolve(const char *rel, char *bdf, unsigned *group, char *err, size_t errlen)
{
    char p[PATH_MAX];

    if (rel[0] == '/' || !rel[0])
        snprintf(p, sizeof(p), "%s", rel);
    else
        snprintf(p, sizeof(p), "%s/%s", root, rel);
    return vfio_group_resolve(root, p, bdf, group, err, errlen);
}

Test(vfio_group, resolve_good_paths)
{
    static const char *const paths[] = {
        "bus/pci/devices/0000:00:02.0",
        "bus/pci/devices/0000:00:02.0/",
        "devices/pci0000:00/0000:00:02.0",
        "devices/pci0000:00/0000:00:02.1/../0000:00:02.0",
    };
    char bdf[VFIO_BDF_LEN], err[256];
    unsigned group;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        group = 0;
        memset(bdf, 0, sizeof(bdf));
        cr_assert_eq(resolve(paths[i], bdf, &group, err, sizeof(err)), 0, "%s: %s", paths[i], err);
        cr_expect_str_eq(bdf, "0000:00:02.0");
        cr_expect_eq(group, 7);
    }
}

Test(vfio_group, resolve_refusals)
{
    static const struct {
        const char *path;
        int r;
        const char *err;
    } cases[] = {
        { "bus/pci/devices/0000:00:09.0", -ENOENT, "no such device" },
        { "bus/pci/devices/0000:00:02.0/vendor/x", -ENOENT, "no such device" },
        { "devices/platform/serial8250", -ENODEV, "is not a PCI device" },
        { "devices/pci0000:00/not-a-bdf", -ENODEV, "no DDDD:BB:DD.F address" },
        { "bus/pci/devices/0000:00:02.0/vendor", -ENODEV, "not a directory" },
        { "bus/pci/devices/0000:00:02.0/../../../kernel", -ENODEV, "not under" },
        { "bus/pci/devices/../../..", -ENODEV, "not under" },
        { "bus/pci/devices", -ENODEV, "not under" },
        { "devices", -ENODEV, "not under" },
        { "/etc", -ENODEV, "not under" },
        { "devices/pci0000:00", -ENODEV, "is not a PCI device" },
        { "bus/pci/devices/0000:00:04.0", -EINVAL, "has no IOMMU group" },
        { "devices/pci0000:00/0000:00:07.0", -EINVAL, "is not an IOMMU group" },
        { "", -ENOENT, "no such device" },
    };
    char bdf[VFIO_BDF_LEN], err[256];
    unsigned group;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        cr_expect_eq(resolve(cases[i].path, bdf, &group, err, sizeof(err)), cases[i].r, "%s: %s",
                     cases[i].path, err);
        cr_expect(strstr(err, cases[i].err), "%s: '%s' lacks '%s'", cases[i].path, err,
                  cases[i].err);
    }
}

/* Outside sysfs altogether, even where the name looks right. */
Test(vfio_group, resolve_outside_sysfs)
{
    char p[PATH_MAX], bdf[VFIO_BDF_LEN], err[256];
    unsigned group;

    snprintf(p, sizeof(p), "%s/0000:00:02.0", root);
    mkdir(p, 0700);
    cr_expect_eq(resolve(p, bdf, &group, err, sizeof(err)), -ENODEV, "%s", err);
    cr_expect_eq(vfio_group_resolve("/nonexistent-sysfs", p, bdf, &group, err, sizeof(err)),
                 -ENOENT);
}

Test(vfio_group, viable_groups)
{
    char err[256] = "";

    cr_expect_eq(vfio_group_viable(root, 8, err, sizeof(err)), 0, "%s", err); /* bridge, none */
    cr_expect_eq(vfio_group_viable(root, 9, err, sizeof(err)), 0, "%s", err); /* pci-stub */
    cr_expect_eq(vfio_group_viable(root, 10, err, sizeof(err)), -EBUSY);
    cr_expect(strstr(err, "device 0000:00:06.0 is bound to ahci"), "%s", err);
}

Test(vfio_group, not_viable_names_device_and_driver)
{
    char err[256] = "";

    cr_assert_eq(vfio_group_viable(root, 7, err, sizeof(err)), -EBUSY);
    cr_expect(strstr(err, "IOMMU group 7 is not viable"), "%s", err);
    cr_expect(strstr(err, "device 0000:00:02.1 is bound to e1000e"), "%s", err);
}

Test(vfio_group, viable_missing_or_empty_group)
{
    char err[256] = "";

    cr_expect_eq(vfio_group_viable(root, 12, err, sizeof(err)), -ENOENT);
    cr_expect(strstr(err, "IOMMU group 12"), "%s", err);
    cr_expect_eq(vfio_group_viable(root, 11, err, sizeof(err)), -ENOENT);
    cr_expect(strstr(err, "has no devices"), "%s", err);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    cr_assert_not_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Without the VFIO nodes: a clear error and no fd left open. */
Test(vfio_group, open_refusals_leave_nothing_open)
{
    int c = -1, g = -1, before = count_fds();
    char devdir[PATH_MAX], err[256] = "";

    snprintf(devdir, sizeof(devdir), "%s/dev-vfio", root);
    mkdir(devdir, 0700);
    cr_expect_eq(vfio_group_open(devdir, 7, &c, &g, err, sizeof(err)), -ENOENT);
    cr_expect(strstr(err, "load the vfio"), "%s", err);
    /* A file where the container should be: its ioctls fail, the fd is closed again. */
    mkdirs("dev-vfio");
    write_file("dev-vfio/vfio", "x", 1);
    err[0] = '\0';
    cr_expect_eq(vfio_group_open(devdir, 7, &c, &g, err, sizeof(err)), -EPROTO);
    cr_expect(strstr(err, "VFIO API version"), "%s", err);
    cr_expect_eq(c, -1);
    cr_expect_eq(g, -1);
    cr_expect_eq(count_fds(), before);
}
