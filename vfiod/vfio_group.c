/* From a --device path to an opened VFIO group and container; see vfio_group.h. Every path read
 * here is resolved and checked against the sysfs root first, so a path given by the user (on
 * the command line or through the API) cannot make the controller look outside sysfs' device
 * tree or open anything but /dev/vfio/vfio and /dev/vfio/<group>. */
#include "vfiod/vfio_group.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* More devices than any real IOMMU group holds; bounds the walk of a hostile or broken tree. */
#define GROUP_MAX_DEVICES 1024
#define SHOWN_MAX         96

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int r,
                                                      const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return r;
}

/* A name from the file system or the user, echoed in an error: printable and bounded. */
static void show(const char *s, char out[SHOWN_MAX])
{
    size_t o = 0;

    for (; *s && o < SHOWN_MAX - 4; s++)
        out[o++] = (*s >= 0x20 && *s <= 0x7e) ? *s : '?';
    if (*s)
        out[o++] = '.', out[o++] = '.', out[o++] = '.';
    out[o] = '\0';
}

static int join(char *buf, size_t len, const char *a, const char *b)
{
    int w = snprintf(buf, len, "%s/%s", a, b);

    return w > 0 && (size_t)w < len ? 0 : -ENAMETOOLONG;
}

/* Whether `path` lies strictly below directory `dir` (both canonical). */
static bool below(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    if (n == 1 && dir[0] == '/')
        return path[0] == '/' && path[1] != '\0';
    return !strncmp(path, dir, n) && path[n] == '/' && path[n + 1] != '\0';
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* DDDD:BB:DD.F: domain, bus, device (at most 0x1f) and function (0-7), hex digits. */
static bool bdf_ok(const char *s)
{
    static const char shape[] = "xxxx:xx:xx.f";

    if (strlen(s) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'x' && !is_hex(s[i]))
            return false;
        if (shape[i] == 'f' && (s[i] < '0' || s[i] > '7'))
            return false;
        if (shape[i] != 'x' && shape[i] != 'f' && s[i] != shape[i])
            return false;
    }
    return strtoul(s + 8, NULL, 16) <= 0x1f;
}

/* A decimal group number as the kernel writes it: no sign, no leading zero, no junk. */
static int parse_group(const char *s, unsigned *out)
{
    unsigned long v = 0;

    if (!*s || (s[0] == '0' && s[1]))
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > INT_MAX)
            return -EINVAL;
    }
    *out = (unsigned)v;
    return 0;
}

/* realpath(dir/name) into out, or -errno. */
static int resolve_at(const char *dir, const char *name, char out[PATH_MAX])
{
    char p[PATH_MAX];
    int r = join(p, sizeof(p), dir, name);

    if (r)
        return r;
    return realpath(p, out) ? 0 : -errno;
}

/* PCI: the device's subsystem link names bus/pci, or bus/pci/devices/<name> is this device. */
static bool is_pci(const char *root, const char *real, const char *name)
{
    char bus[PATH_MAX], sub[PATH_MAX], alias[PATH_MAX], p[PATH_MAX];

    if (join(bus, sizeof(bus), root, "bus/pci"))
        return false;
    if (!resolve_at(real, "subsystem", sub) && !strcmp(sub, bus))
        return true;
    return !join(p, sizeof(p), bus, "devices") && !resolve_at(p, name, alias) &&
           !strcmp(alias, real);
}

int vfio_group_resolve(const char *sysfs, const char *path, char bdf[VFIO_BDF_LEN], unsigned *group,
                       char *err, size_t errlen)
{
    char root[PATH_MAX], devices[PATH_MAX], groups[PATH_MAX], real[PATH_MAX], link[PATH_MAX];
    char shown[SHOWN_MAX];
    const char *name;
    struct stat st;
    int r;

    show(path, shown);
    if (!realpath(sysfs, root))
        return fail(err, errlen, -ENOENT, "no sysfs at '%s': %s", sysfs, strerror(errno));
    if (join(devices, sizeof(devices), root, "devices") ||
        join(groups, sizeof(groups), root, "kernel/iommu_groups"))
        return fail(err, errlen, -ENAMETOOLONG, "sysfs path too long");
    if (!realpath(path, real)) {
        r = errno == ENOTDIR ? -ENOENT : -errno;
        return fail(err, errlen, r, "'%s': %s", shown,
                    r == -ENOENT ? "no such device" : strerror(-r));
    }
    if (!below(real, devices))
        return fail(err, errlen, -ENODEV, "'%s' is not a PCI device (not under %s/devices)", shown,
                    sysfs);
    if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
        return fail(err, errlen, -ENODEV, "'%s' is not a PCI device (not a directory)", shown);
    name = strrchr(real, '/') + 1;
    if (!is_pci(root, real, name))
        return fail(err, errlen, -ENODEV, "'%s' is not a PCI device", shown);
    if (!bdf_ok(name))
        return fail(err, errlen, -ENODEV, "'%s' is not a PCI device (no DDDD:BB:DD.F address)",
                    shown);
    r = resolve_at(real, "iommu_group", link);
    if (r == -ENOENT)
        return fail(err, errlen, -EINVAL,
                    "PCI device %s has no IOMMU group: the host IOMMU is off (intel_iommu=on or "
                    "amd_iommu=on) or VFIO runs in no-IOMMU mode, which cellvm does not use",
                    name);
    if (r)
        return fail(err, errlen, r, "PCI device %s: iommu_group: %s", name, strerror(-r));
    if (!below(link, groups) || strchr(link + strlen(groups) + 1, '/') ||
        parse_group(link + strlen(groups) + 1, group))
        return fail(err, errlen, -EINVAL, "PCI device %s: iommu_group is not an IOMMU group", name);
    snprintf(bdf, VFIO_BDF_LEN, "%s", name);
    return 0;
}

/* Drivers a device may have while another device of its group is passed through: the ones the
 * kernel itself accepts (they never start DMA on their own: pci-stub, VFIO's own drivers). */
static bool driver_allowed(const char *drv)
{
    size_t n = strlen(drv);

    return !strcmp(drv, "vfio-pci") || !strcmp(drv, "pci-stub") ||
           (n > 9 && !strcmp(drv + n - 9, "_vfio_pci"));
}

/* A PCI bridge (header type 1 or 2): the kernel lets it stay with its port driver (pcieport
 * does no DMA of its own). The first 64 bytes of config are readable by anyone. */
static bool is_bridge(const char *devpath)
{
    char p[PATH_MAX];
    uint8_t h = 0;
    int fd;

    if (join(p, sizeof(p), devpath, "config"))
        return false;
    fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (pread(fd, &h, 1, 0x0e) != 1)
        h = 0;
    close(fd);
    return (h & 0x7f) == 1 || (h & 0x7f) == 2;
}

/* 0 when the device at devpath (a group member) may stay as it is; -EBUSY with err if not. */
static int member_ok(const char *devpath, const char *name, unsigned group, char *err,
                     size_t errlen)
{
    char drv[PATH_MAX], shown[SHOWN_MAX], dshown[SHOWN_MAX];
    int r = resolve_at(devpath, "driver", drv);
    const char *base;

    if (r == -ENOENT)
        return 0; /* bound to no driver */
    show(name, shown);
    if (r)
        return fail(err, errlen, r, "IOMMU group %u: device %s: driver: %s", group, shown,
                    strerror(-r));
    base = strrchr(drv, '/') + 1;
    if (driver_allowed(base) || is_bridge(devpath))
        return 0;
    show(base, dshown);
    return fail(err, errlen, -EBUSY,
                "IOMMU group %u is not viable: device %s is bound to %s (every device of the "
                "group must be bound to vfio-pci, to pci-stub or to no driver)",
                group, shown, dshown);
}

int vfio_group_viable(const char *sysfs, unsigned group, char *err, size_t errlen)
{
    char dir[PATH_MAX], devpath[PATH_MAX];
    struct dirent *de;
    unsigned n = 0;
    DIR *d;
    int w, r = 0;

    w = snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%u/devices", sysfs, group);
    if (w < 0 || (size_t)w >= sizeof(dir))
        return fail(err, errlen, -ENAMETOOLONG, "sysfs path too long");
    d = opendir(dir);
    if (!d)
        return fail(err, errlen, errno == ENOENT ? -ENOENT : -errno, "IOMMU group %u: %s: %s",
                    group, dir, strerror(errno));
    while (!r && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (++n > GROUP_MAX_DEVICES) {
            r = fail(err, errlen, -E2BIG, "IOMMU group %u has more than %d devices", group,
                     GROUP_MAX_DEVICES);
            break;
        }
        r = join(devpath, sizeof(devpath), dir, de->d_name);
        if (r)
            r = fail(err, errlen, r, "IOMMU group %u: path too long", group);
        else
            r = member_ok(devpath, de->d_name, group, err, errlen);
    }
    closedir(d);
    if (!r && !n)
        r = fail(err, errlen, -ENOENT, "IOMMU group %u has no devices", group);
    return r;
}

static int open_container(const char *devdir, int *out, char *err, size_t errlen)
{
    char p[PATH_MAX];
    int fd, v, r;

    r = join(p, sizeof(p), devdir, "vfio");
    if (r)
        return fail(err, errlen, r, "VFIO device directory path too long");
    fd = open(p, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, -errno, "cannot open %s: %s%s", p, strerror(errno),
                    errno == ENOENT ? " (load the vfio and vfio-pci modules)" : "");
    v = ioctl(fd, VFIO_GET_API_VERSION);
    if (v != VFIO_API_VERSION) {
        close(fd);
        return fail(err, errlen, -EPROTO, "%s: VFIO API version %d, cellvm speaks %d", p, v,
                    VFIO_API_VERSION);
    }
    if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
        close(fd);
        return fail(err, errlen, -EOPNOTSUPP,
                    "%s: no VFIO type1v2 IOMMU (load the vfio_iommu_type1 module)", p);
    }
    *out = fd;
    return 0;
}

static int open_group(const char *devdir, unsigned group, int *out, char *err, size_t errlen)
{
    struct vfio_group_status st = { .argsz = sizeof(st) };
    char p[PATH_MAX];
    int fd, w;

    w = snprintf(p, sizeof(p), "%s/%u", devdir, group);
    if (w < 0 || (size_t)w >= sizeof(p))
        return fail(err, errlen, -ENAMETOOLONG, "VFIO device directory path too long");
    fd = open(p, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;

        if (e == EBUSY)
            return fail(err, errlen, -EBUSY,
                        "IOMMU group %u is in use: another process (another VM) has %s open", group,
                        p);
        return fail(err, errlen, -e, "cannot open %s: %s%s", p, strerror(e),
                    e == ENOENT ? " (bind the group's devices to vfio-pci)" : "");
    }
    if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0) {
        int e = errno;

        close(fd);
        return fail(err, errlen, -e, "%s: VFIO_GROUP_GET_STATUS: %s", p, strerror(e));
    }
    if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
        close(fd);
        return fail(err, errlen, -EBUSY,
                    "IOMMU group %u is not viable: a device of the group is bound to a host "
                    "driver",
                    group);
    }
    *out = fd;
    return 0;
}

int vfio_group_open(const char *devdir, unsigned group, int *container_fd, int *group_fd, char *err,
                    size_t errlen)
{
    int c = -1, g = -1, r;

    r = open_container(devdir, &c, err, errlen);
    if (!r)
        r = open_group(devdir, group, &g, err, errlen);
    if (r) {
        if (c >= 0)
            close(c);
        return r;
    }
    *container_fd = c;
    *group_fd = g;
    return 0;
}

int vfio_group_device(int container_fd, int group_fd, const char *bdf, int *device_fd, char *err,
                      size_t errlen)
{
    struct vfio_group_status st = { .argsz = sizeof(st) };
    int fd;

    if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &st) < 0)
        return fail(err, errlen, -errno, "VFIO_GROUP_GET_STATUS: %s", strerror(errno));
    if (!(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET)) {
        if (ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd) < 0)
            return fail(err, errlen, -errno, "VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
        if (ioctl(container_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
            return fail(err, errlen, -errno, "VFIO_SET_IOMMU (type1v2): %s", strerror(errno));
    }
    fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
    if (fd < 0)
        return fail(err, errlen, -errno, "VFIO_GROUP_GET_DEVICE_FD %s: %s%s", bdf, strerror(errno),
                    errno == EBUSY ? " (the device is in use)" : "");
    *device_fd = fd;
    return 0;
}
