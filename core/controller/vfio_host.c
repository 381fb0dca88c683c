#include "core/controller/vfio_host.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc/channel.h"

int vfio_host_resolve(const char *path, const char *id, struct vfio_host *out, char *err,
                      size_t errlen)
{
    char why[320];
    int r;

    out->container_fd = out->group_fd = out->device_fd = -1;
    r = vfio_group_resolve(VFIO_HOST_SYSFS, path, out->bdf, &out->group, why, sizeof(why));
    if (r)
        snprintf(err, errlen, "--device %s: %s", id, why);
    return r;
}

int vfio_host_open(const char *id, struct vfio_host *h, char *err, size_t errlen)
{
    char why[320];
    int r;

    r = vfio_group_viable(VFIO_HOST_SYSFS, h->group, why, sizeof(why));
    if (!r)
        r = vfio_group_open(VFIO_HOST_DEVDIR, h->group, &h->container_fd, &h->group_fd, why,
                            sizeof(why));
    if (!r) {
        r = vfio_group_device(h->container_fd, h->group_fd, h->bdf, &h->device_fd, why,
                              sizeof(why));
        if (r) {
            close(h->group_fd);
            close(h->container_fd);
            h->container_fd = h->group_fd = -1;
        }
    }
    if (r)
        snprintf(err, errlen, "--device %s: %s", id, why);
    return r;
}

int vfio_host_check(const struct cli_config *cfg, char *err, size_t errlen)
{
    unsigned groups[CLI_MAX_DEVICES];
    char why[320];

    for (size_t i = 0; i < cfg->ndevices && i < CLI_MAX_DEVICES; i++) {
        const struct cli_device *c = &cfg->devices[i];
        char id[32];
        struct vfio_host h;
        int r;

        snprintf(id, sizeof(id), "_vfio%zu", i);
        r = vfio_host_resolve(c->path, c->id ? c->id : id, &h, err, errlen);
        if (r)
            return r;
        for (size_t j = 0; j < i; j++) {
            if (groups[j] == h.group) {
                snprintf(err, errlen,
                         "--device %s: %s is in IOMMU group %u, which another --device passes "
                         "through already (cellvm passes one device per IOMMU group)",
                         c->id ? c->id : id, h.bdf, h.group);
                return -EBUSY;
            }
        }
        groups[i] = h.group;
        r = vfio_group_viable(VFIO_HOST_SYSFS, h.group, why, sizeof(why));
        if (r) {
            snprintf(err, errlen, "--device %s: %s", c->id ? c->id : id, why);
            return r;
        }
    }
    return 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

uint64_t vfio_host_memlock(const struct cli_config *cfg)
{
    const struct cli_memory *m = &cfg->memory;
    uint64_t total = add_sat(m->size, m->has_hotplug_size ? m->hotplug_size : 0);

    for (size_t i = 0; i < cfg->nzones; i++) {
        const struct cli_memory_zone *z = &cfg->zones[i];

        total = add_sat(total, add_sat(z->size, z->has_hotplug_size ? z->hotplug_size : 0));
    }
    return add_sat(total, VFIO_HOST_MEMLOCK_MARGIN);
}

int vfio_host_set_memlock(pid_t pid, uint64_t bytes, char *err, size_t errlen)
{
    struct rlimit old, want;

    if (prlimit(pid, RLIMIT_MEMLOCK, NULL, &old) < 0) {
        snprintf(err, errlen, "cannot read the locked-memory limit of cellvm-vfiod: %s",
                 strerror(errno));
        return -errno;
    }
    if (old.rlim_cur >= bytes) /* RLIM_INFINITY included */
        return 0;
    want.rlim_cur = bytes;
    want.rlim_max = old.rlim_max == RLIM_INFINITY || old.rlim_max > bytes ? old.rlim_max : bytes;
    if (prlimit(pid, RLIMIT_MEMLOCK, &want, NULL) < 0) {
        int e = errno;

        snprintf(err, errlen,
                 "cannot raise the locked-memory limit (RLIMIT_MEMLOCK) of cellvm-vfiod to %llu "
                 "MiB, which VFIO needs to pin guest RAM: %s%s",
                 (unsigned long long)(bytes >> 20), strerror(e),
                 e == EPERM ? " (run cellvm as root, or raise `ulimit -l` to at least that)" : "");
        return -e;
    }
    return 0;
}

int vfio_host_setup(const struct devices *d, struct device *dv, const char *path,
                    char canon[VFIO_HOST_PATH_LEN], char *err, size_t errlen)
{
    struct vfio_host h;
    int r;

    r = vfio_host_resolve(path, dv->id, &h, err, errlen);
    if (r)
        return r;
    /* Two functions of one group would need one container for both (Cloud Hypervisor shares
     * it); cellvm gives each --device its own vfiod and container. Checked before opening:
     * the first row holds the group open, so a second open would only say "in use". */
    for (size_t i = 0; d->v + i < dv; i++) {
        if (d->v[i].vfio_user && d->v[i].vfio_group == h.group) {
            snprintf(err, errlen,
                     "--device %s: %s is in IOMMU group %u, which --device %s passes through "
                     "already (cellvm passes one device per IOMMU group)",
                     dv->id, h.bdf, h.group, d->v[i].id);
            return -EBUSY;
        }
    }
    dv->vfio_group = h.group;
    r = vfio_host_open(dv->id, &h, err, errlen);
    if (r)
        return r;
    dv->data_fds[0] = h.container_fd;
    dv->data_fds[1] = h.group_fd;
    dv->data_fds[2] = h.device_fd;
    dv->ndata = 3;
    snprintf(canon, VFIO_HOST_PATH_LEN, "%s/bus/pci/devices/%s", VFIO_HOST_SYSFS, h.bdf);
    return 0;
}

int vfio_host_limit(struct device *dv, char *err, size_t errlen)
{
    char why[256];
    int r = vfio_host_set_memlock(dv->proc.pid, dv->memlock, why, sizeof(why));

    if (!r)
        return 0;
    kill(dv->proc.pid, SIGKILL);
    waitpid(dv->proc.pid, NULL, 0); /* not watched yet: nobody else reaps it */
    dv->proc.pid = 0;
    child_close(&dv->proc);
    snprintf(err, errlen, "--device %s: %s", dv->id, why);
    return r;
}
