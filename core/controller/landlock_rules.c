/* The rule set of a --landlock controller from its configuration (landlock_ctl.h). Reads
 * nothing but the --device iommu_group links; the unit tests run it as is. */
#include "core/controller/landlock_ctl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli/cli_landlock.h"

struct builder {
    struct landlock_rules *r;
    int err; /* the first failure */
};

static void add(struct builder *b, const char *path, unsigned access, bool optional)
{
    struct landlock_rules *r = b->r;

    if (!path || !*path || b->err)
        return;
    if (r->n == LANDLOCK_CTL_MAX_RULES) {
        b->err = -E2BIG;
        return;
    }
    r->v[r->n].path = path;
    r->v[r->n].access = access;
    r->v[r->n].optional = optional;
    r->n++;
}

/* A formatted path kept in r->owned. */
static const char *own(struct builder *b, char *s)
{
    struct landlock_rules *r = b->r;

    if (!s || r->nowned == sizeof(r->owned) / sizeof(r->owned[0])) {
        free(s);
        if (!b->err)
            b->err = s ? -E2BIG : -ENOMEM;
        return NULL;
    }
    r->owned[r->nowned++] = s;
    return s;
}

/* /dev/vfio/<group> of a --device sysfs path; NULL (no rule) when it has no group: the VM
 * could not have booted with it. */
static const char *vfio_group_path(struct builder *b, const char *dev)
{
    char link[PATH_MAX], target[PATH_MAX], *out;
    const char *group;
    ssize_t n;

    if (snprintf(link, sizeof(link), "%s/iommu_group", dev) >= (int)sizeof(link))
        return NULL;
    n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0)
        return NULL;
    target[n] = '\0';
    group = strrchr(target, '/');
    group = group ? group + 1 : target;
    if (!*group || asprintf(&out, "/dev/vfio/%s", group) < 0)
        return NULL;
    return own(b, out);
}

static const char *dir_of(struct builder *b, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *d;

    if (!slash)
        return ".";
    if (slash == path)
        return "/";
    d = strndup(path, (size_t)(slash - path));
    return own(b, d);
}

static void console_rules(struct builder *b, const struct cli_console *c)
{
    if (c->mode == CLI_CONSOLE_FILE || c->mode == CLI_CONSOLE_SOCKET)
        add(b, c->path, SBX_LL_READ | SBX_LL_WRITE, true);
    if (c->mode == CLI_CONSOLE_PTY) {
        add(b, "/dev/ptmx", SBX_LL_READ | SBX_LL_WRITE, true);
        add(b, "/dev/pts", SBX_LL_READ | SBX_LL_WRITE, true);
    }
}

int landlock_rules_build(const struct cli_config *cfg, struct landlock_rules *out, char *err,
                         size_t errlen)
{
    const unsigned rw = SBX_LL_READ | SBX_LL_WRITE, r = SBX_LL_READ;
    struct builder b = { .r = out };
    size_t i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < cfg->nzones; i++)
        add(&b, cfg->zones[i].file, rw, true);
    for (i = 0; i < cfg->ndisks; i++)
        add(&b, cfg->disks[i].vhost_user ? cfg->disks[i].socket : cfg->disks[i].path, rw, true);
    add(&b, cfg->rng.present && cfg->rng.src ? cfg->rng.src : "/dev/urandom", r, true);
    for (i = 0; i < cfg->nfs; i++)
        add(&b, cfg->fs[i].socket, rw, true);
    for (i = 0; i < cfg->npmem; i++)
        add(&b, cfg->pmem[i].file, cfg->pmem[i].discard_writes ? r : rw, true);
    console_rules(&b, &cfg->console);
    console_rules(&b, &cfg->serial);
    if (cfg->ndevices)
        add(&b, "/dev/vfio/vfio", rw, true);
    for (i = 0; i < cfg->ndevices; i++)
        add(&b, vfio_group_path(&b, cfg->devices[i].path), rw, true);
    for (i = 0; i < cfg->nuser_devices; i++)
        add(&b, cfg->user_devices[i].socket, rw, true);
    if (cfg->vsock.present && cfg->vsock.socket) {
        add(&b, dir_of(&b, cfg->vsock.socket), SBX_LL_WRITE, true);
        add(&b, cfg->vsock.socket, rw, true);
    }
    add(&b, cfg->payload.firmware, r, true);
    add(&b, cfg->payload.kernel, r, true);
    add(&b, cfg->payload.initramfs, r, true);
    if (cfg->nnets)
        add(&b, "/dev/net/tun", rw, true);
    /* cellvm's own: what a vm.boot after vm.shutdown opens again. */
    add(&b, "/dev/kvm", rw, true);
    add(&b, "/dev/null", rw, true);                      /* a null console */
    add(&b, "/sys/devices/system/node/online", r, true); /* the host's NUMA nodes */
    for (i = 0; i < cfg->nlandlock_rules; i++) {
        unsigned access = 0;
        char why[96];

        if (cli_landlock_access(cfg->landlock_rules[i].access, &access, why, sizeof(why))) {
            snprintf(err, errlen, "--landlock-rules: %s", why);
            return -EINVAL;
        }
        add(&b, cfg->landlock_rules[i].path, access, false);
    }
    if (b.err)
        snprintf(err, errlen, "--landlock: %s",
                 b.err == -E2BIG ? "too many paths for one rule set" : "out of memory");
    return b.err;
}

void landlock_rules_free(struct landlock_rules *r)
{
    for (size_t i = 0; i < r->nowned; i++)
        free(r->owned[i]);
    r->nowned = 0;
    r->n = 0;
}
