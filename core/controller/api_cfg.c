#include "core/controller/api_cfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli_devices.h"
#include "core/controller/api_cfg_rl.h"
#include "devspec/optparse.h"

/* One option string being built. */
struct sb {
    char buf[OPTPARSE_MAX_INPUT];
    size_t len;
    bool overflow;
};

__attribute__((format(printf, 2, 3))) static void sb_add(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->overflow)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->buf + b->len, sizeof(b->buf) - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(b->buf) - b->len)
        b->overflow = true;
    else
        b->len += (size_t)n;
}

/* JSON field name -> CLI key, where they differ. */
static const char *cli_key(const char *name)
{
    if (!strcmp(name, "boot_vcpus"))
        return "boot";
    if (!strcmp(name, "max_vcpus"))
        return "max";
    if (!strcmp(name, "vhost_socket"))
        return "socket";
    return name;
}

/* Enum-like string values: the API spells them as Rust variants, the CLI in lower case. */
static const char *cli_value(const char *name, const char *v, char *buf, size_t len)
{
    if (!strcmp(name, "hotplug_method") && !strcmp(v, "VirtioMem"))
        return "virtio-mem";
    if (!strcmp(name, "hotplug_method") || !strcmp(name, "image_type") ||
        !strcmp(name, "vhost_mode")) {
        size_t i;

        for (i = 0; v[i] && i + 1 < len; i++)
            buf[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]);
        buf[i] = '\0';
        return buf;
    }
    return v;
}

/* Scalars of one option group as key=value items; repeated and nested fields are the
 * caller's. `skip` lists fields rendered otherwise. */
static int add_scalars(struct sb *b, const ProtobufCMessage *m, const char *const *skip, char *err,
                       size_t errlen)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *k = cli_key(f->name);
        bool skipped = false;
        char low[32];

        for (const char *const *s = skip; s && *s; s++)
            skipped = skipped || !strcmp(*s, f->name);
        if (skipped || f->label == PROTOBUF_C_LABEL_REPEATED)
            continue;
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            const char *v = *(const char *const *)(base + f->offset);

            if (!v)
                continue;
            if (strchr(v, '"')) {
                snprintf(err, errlen, "%s.%s: double quotes are not supported in values",
                         d->short_name + 3, f->name);
                return -EINVAL;
            }
            sb_add(b, "%s=\"%s\",", k, cli_value(f->name, v, low, sizeof(low)));
            continue;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && !strcmp(f->name, "rate_limiter_config")) {
            char keys[256];

            if (api_rl_keys(*(void *const *)(base + f->offset), d->short_name + 3, keys,
                            sizeof(keys), err, errlen))
                return -EINVAL;
            sb_add(b, "%s", keys);
            continue;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE ||
            !*(const protobuf_c_boolean *)(base + f->quantifier_offset))
            continue;
        if (f->type == PROTOBUF_C_TYPE_BOOL)
            sb_add(b, "%s=%s,", k, *(const protobuf_c_boolean *)(base + f->offset) ? "on" : "off");
        else if (f->type == PROTOBUF_C_TYPE_UINT32)
            sb_add(b, "%s=%u,", k, *(const uint32_t *)(base + f->offset));
        else if (f->type == PROTOBUF_C_TYPE_UINT64)
            sb_add(b, "%s=%llu,", k, (unsigned long long)*(const uint64_t *)(base + f->offset));
    }
    return 0;
}

static void add_u32_list(struct sb *b, const char *key, const uint32_t *v, size_t n)
{
    if (!n)
        return;
    sb_add(b, "%s=[", key);
    for (size_t i = 0; i < n; i++)
        sb_add(b, "%s%u", i ? "," : "", v[i]);
    sb_add(b, "],");
}

static int push(struct api_argv *a, const char *s, char *err, size_t errlen)
{
    if (a->n >= API_ARGV_MAX) {
        snprintf(err, errlen, "VmConfig: too many devices");
        return -EINVAL;
    }
    a->v[a->n] = strdup(s);
    if (!a->v[a->n])
        return -ENOMEM;
    a->n++;
    return 0;
}

/* Ends an option string: drops the trailing comma and appends "--opt" "string". */
static int push_group(struct api_argv *a, const char *opt, struct sb *b, char *err, size_t errlen)
{
    int r;

    if (b->overflow) {
        snprintf(err, errlen, "VmConfig: the %s configuration is too long", opt + 2);
        return -EINVAL;
    }
    if (b->len && b->buf[b->len - 1] == ',')
        b->buf[--b->len] = '\0';
    r = push(a, opt, err, errlen);
    if (!r)
        r = push(a, b->buf, err, errlen);
    b->len = 0;
    b->buf[0] = '\0';
    return r;
}

static int cpus_argv(struct api_argv *a, struct sb *b, const Cellvm__ApiCpusConfig *c, char *err,
                     size_t errlen)
{
    static const char *const skip[] = { NULL };
    int r = add_scalars(b, &c->base, skip, err, errlen);

    if (r)
        return r;
    if (c->topology)
        sb_add(b, "topology=%u:%u:%u:%u,", c->topology->threads_per_core,
               c->topology->cores_per_die, c->topology->dies_per_package, c->topology->packages);
    if (c->features && c->features->has_amx && c->features->amx)
        sb_add(b, "features=amx,");
    if (c->n_affinity) {
        sb_add(b, "affinity=[");
        for (size_t i = 0; i < c->n_affinity; i++) {
            sb_add(b, "%s%u@[", i ? "," : "", c->affinity[i]->vcpu);
            for (size_t j = 0; j < c->affinity[i]->n_host_cpus; j++)
                sb_add(b, "%s%u", j ? "," : "", c->affinity[i]->host_cpus[j]);
            sb_add(b, "]");
        }
        sb_add(b, "],");
    }
    return push_group(a, "--cpus", b, err, errlen);
}

static int console_argv(struct api_argv *a, struct sb *b, const char *opt,
                        const Cellvm__ApiConsoleConfig *c, char *err, size_t errlen)
{
    static const char *const modes[] = { "Off", "Pty", "Tty", "File", "Socket", "Null" };
    const char *mode = c->mode ? c->mode : "";
    bool known = false;

    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        known = known || !strcmp(mode, modes[i]);
    if (!known) {
        snprintf(err, errlen, "VmConfig.%s.mode: expected Off, Pty, Tty, File, Socket or Null",
                 opt + 2);
        return -EINVAL;
    }
    if (!strcmp(mode, "File") || !strcmp(mode, "Socket")) {
        const char *path = !strcmp(mode, "File") ? c->file : c->socket;

        if (!path || strchr(path, '"')) {
            snprintf(err, errlen, "VmConfig.%s: mode %s needs a usable %s", opt + 2, mode,
                     !strcmp(mode, "File") ? "file" : "socket");
            return -EINVAL;
        }
        sb_add(b, "%s=\"%s\",", !strcmp(mode, "File") ? "file" : "socket", path);
    } else {
        sb_add(b, "%c%s,", mode[0] + 32, mode + 1);
    }
    if (c->has_iommu)
        sb_add(b, "iommu=%s,", c->iommu ? "on" : "off");
    return push_group(a, opt, b, err, errlen);
}

static int memory_argv(struct api_argv *a, struct sb *b, const Cellvm__ApiMemoryConfig *m,
                       char *err, size_t errlen)
{
    static const char *const skip_zone[] = { "mergeable", NULL };
    int r = add_scalars(b, &m->base, NULL, err, errlen);

    if (!r)
        r = push_group(a, "--memory", b, err, errlen);
    for (size_t i = 0; !r && i < m->n_zones; i++) {
        if (m->zones[i]->has_mergeable && m->zones[i]->mergeable) {
            snprintf(err, errlen, "VmConfig.memory.zones[%zu].mergeable: not supported", i);
            return -EINVAL;
        }
        r = add_scalars(b, &m->zones[i]->base, skip_zone, err, errlen);
        if (!r)
            r = push_group(a, "--memory-zone", b, err, errlen);
    }
    return r;
}

static int numa_argv(struct api_argv *a, struct sb *b, const Cellvm__ApiNumaConfig *n, char *err,
                     size_t errlen)
{
    sb_add(b, "guest_numa_id=%u,", n->guest_numa_id);
    add_u32_list(b, "cpus", n->cpus, n->n_cpus);
    if (n->n_distances) {
        sb_add(b, "distances=[");
        for (size_t i = 0; i < n->n_distances; i++)
            sb_add(b, "%s%u@%u", i ? "," : "", n->distances[i]->destination,
                   n->distances[i]->distance);
        sb_add(b, "],");
    }
    if (n->n_memory_zones) {
        sb_add(b, "memory_zones=[");
        for (size_t i = 0; i < n->n_memory_zones; i++) {
            if (strpbrk(n->memory_zones[i], "\",[]")) {
                snprintf(err, errlen, "VmConfig.numa.memory_zones: unusable zone id");
                return -EINVAL;
            }
            sb_add(b, "%s%s", i ? "," : "", n->memory_zones[i]);
        }
        sb_add(b, "],");
    }
    return push_group(a, "--numa", b, err, errlen);
}

/* Some device sits behind the virtio-iommu: VmConfig.iommu then only says what the devices say
 * (Cloud Hypervisor derives it from them too). */
static bool wants_iommu(const Cellvm__ApiVmConfig *c)
{
    bool any = (c->platform && c->platform->n_iommu_segments) ||
               (c->vsock && c->vsock->has_iommu && c->vsock->iommu) ||
               (c->rng && c->rng->has_iommu && c->rng->iommu) ||
               (c->console && c->console->has_iommu && c->console->iommu);

    for (size_t i = 0; !any && i < c->n_disks; i++)
        any = c->disks[i]->has_iommu && c->disks[i]->iommu;
    for (size_t i = 0; !any && i < c->n_net; i++)
        any = c->net[i]->has_iommu && c->net[i]->iommu;
    return any;
}

/* The keys cellvm refuses (all but num_pci_segments) go on too, so --platform names them. */
static int platform_argv(struct api_argv *a, struct sb *b, const Cellvm__ApiPlatformConfig *p,
                         char *err, size_t errlen)
{
    int r = add_scalars(b, &p->base, NULL, err, errlen);

    if (r)
        return r;
    add_u32_list(b, "iommu_segments", p->iommu_segments, p->n_iommu_segments);
    if (p->n_oem_strings) {
        sb_add(b, "oem_strings=[");
        for (size_t i = 0; i < p->n_oem_strings; i++) {
            if (strchr(p->oem_strings[i], '"')) {
                snprintf(err, errlen,
                         "VmConfig.platform.oem_strings: double quotes are not "
                         "supported in values");
                return -EINVAL;
            }
            sb_add(b, "%s\"%s\"", i ? "," : "", p->oem_strings[i]);
        }
        sb_add(b, "],");
    }
    return push_group(a, "--platform", b, err, errlen);
}

static int payload_argv(struct api_argv *a, const Cellvm__ApiPayloadConfig *p, char *err,
                        size_t errlen)
{
    const char *opts[] = { "--kernel", "--cmdline", "--initramfs", "--firmware" };
    const char *vals[] = { p->kernel, p->cmdline, p->initramfs, p->firmware };
    int r = 0;

    for (size_t i = 0; !r && i < 4; i++)
        if (vals[i]) {
            r = push(a, opts[i], err, errlen);
            if (!r)
                r = push(a, vals[i], err, errlen);
        }
    return r;
}

static int refuse(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "VmConfig.%s is not supported by cellvm yet", what);
    return -EINVAL;
}

int api_cfg_to_argv(const Cellvm__ApiVmConfig *c, struct api_argv *out, char *err, size_t errlen)
{
    static struct sb b; /* 16 KiB; the controller is single-threaded */
    int r;

    memset(out, 0, sizeof(*out));
    b.len = 0;
    b.overflow = false;
    r = push(out, "cellvm", err, errlen);
    if (r)
        return r;
    if (!c->payload || (!c->payload->kernel && !c->payload->firmware)) {
        snprintf(err, errlen, "VmConfig.payload: a kernel or firmware is required");
        return -EINVAL;
    }
    if (c->has_pvpanic && c->pvpanic)
        return refuse(err, errlen, "pvpanic");
    if (c->has_iommu && c->iommu && !wants_iommu(c)) {
        snprintf(err, errlen,
                 "VmConfig.iommu: known but not supported yet without a device behind the IOMMU "
                 "(set iommu on a device, or platform.iommu_segments)");
        return -EINVAL;
    }
    r = payload_argv(out, c->payload, err, errlen);
    if (!r && c->has_watchdog && c->watchdog)
        r = push(out, "--watchdog", err, errlen);
    if (!r && c->cpus)
        r = cpus_argv(out, &b, c->cpus, err, errlen);
    if (!r && c->memory)
        r = memory_argv(out, &b, c->memory, err, errlen);
    if (!r && c->serial)
        r = console_argv(out, &b, "--serial", c->serial, err, errlen);
    if (!r && c->console)
        r = console_argv(out, &b, "--console", c->console, err, errlen);
    for (size_t i = 0; !r && i < c->n_rate_limit_groups; i++) {
        r = add_scalars(&b, &c->rate_limit_groups[i]->base, NULL, err, errlen);
        if (!r)
            r = push_group(out, "--rate-limit-group", &b, err, errlen);
    }
    for (size_t i = 0; !r && i < c->n_disks; i++) {
        r = add_scalars(&b, &c->disks[i]->base, NULL, err, errlen);
        if (!r)
            r = push_group(out, "--disk", &b, err, errlen);
    }
    for (size_t i = 0; !r && i < c->n_net; i++) {
        r = add_scalars(&b, &c->net[i]->base, NULL, err, errlen);
        if (!r)
            r = push_group(out, "--net", &b, err, errlen);
    }
    if (!r && c->vsock) {
        r = add_scalars(&b, &c->vsock->base, NULL, err, errlen);
        if (!r)
            r = push_group(out, "--vsock", &b, err, errlen);
    }
    if (!r && c->rng) {
        /* RngConfig's src is required (Cloud Hypervisor's OpenAPI); --rng gives the rest. */
        if (!c->rng->src) {
            snprintf(err, errlen, "VmConfig.rng: missing field `src`");
            return -EINVAL;
        }
        r = add_scalars(&b, &c->rng->base, NULL, err, errlen);
        if (!r)
            r = push_group(out, "--rng", &b, err, errlen);
    }
    if (!r && c->balloon) {
        if (!c->balloon->has_size) {
            snprintf(err, errlen, "VmConfig.balloon: missing field `size`");
            return -EINVAL;
        }
        r = add_scalars(&b, &c->balloon->base, NULL, err, errlen);
        if (!r)
            r = push_group(out, "--balloon", &b, err, errlen);
    }
    for (size_t i = 0; !r && i < c->n_devices; i++) {
        r = add_scalars(&b, &c->devices[i]->base, NULL, err, errlen);
        if (!r)
            r = push_group(out, "--device", &b, err, errlen);
    }
    for (size_t i = 0; !r && i < c->n_user_devices; i++) {
        r = add_scalars(&b, &c->user_devices[i]->base, NULL, err, errlen);
        if (!r)
            r = push_group(out, "--user-device", &b, err, errlen);
    }
    for (size_t i = 0; !r && i < c->n_fs; i++) {
        r = add_scalars(&b, &c->fs[i]->base, NULL, err, errlen);
        if (!r)
            r = push_group(out, "--fs", &b, err, errlen);
    }
    for (size_t i = 0; !r && i < c->n_pmem; i++) {
        if (!c->pmem[i]->file) { /* PmemConfig's file is required (Cloud Hypervisor's OpenAPI) */
            snprintf(err, errlen, "VmConfig.pmem: missing field `file`");
            return -EINVAL;
        }
        r = add_scalars(&b, &c->pmem[i]->base, NULL, err, errlen);
        if (!r)
            r = push_group(out, "--pmem", &b, err, errlen);
    }
    for (size_t i = 0; !r && i < c->n_numa; i++)
        r = numa_argv(out, &b, c->numa[i], err, errlen);
    if (!r && c->platform)
        r = platform_argv(out, &b, c->platform, err, errlen);
    if (!r && c->has_landlock_enable && c->landlock_enable)
        r = push(out, "--landlock", err, errlen);
    for (size_t i = 0; !r && i < c->n_landlock_rules; i++) {
        /* LandlockConfig's path and access are required (Cloud Hypervisor's OpenAPI). */
        if (!c->landlock_rules[i]->path || !c->landlock_rules[i]->access) {
            snprintf(err, errlen, "VmConfig.landlock_rules: missing field `%s`",
                     c->landlock_rules[i]->path ? "access" : "path");
            return -EINVAL;
        }
        r = add_scalars(&b, &c->landlock_rules[i]->base, NULL, err, errlen);
        if (!r)
            r = push_group(out, "--landlock-rules", &b, err, errlen);
    }
    if (r == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    return r;
}

static int option_string(const ProtobufCMessage *m, const int *fds, size_t nfds, char **out,
                         char *err, size_t errlen);

int api_cfg_option(const ProtobufCMessage *m, char **out, char *err, size_t errlen)
{
    return option_string(m, NULL, 0, out, err, errlen);
}

int api_cfg_net_option(const Cellvm__ApiNetConfig *n, const int *fds, size_t nfds, char **out,
                       char *err, size_t errlen)
{
    return option_string(&n->base, fds, nfds, out, err, errlen);
}

static int option_string(const ProtobufCMessage *m, const int *fds, size_t nfds, char **out,
                         char *err, size_t errlen)
{
    struct sb *b = calloc(1, sizeof(*b));
    int r;

    *out = NULL;
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r = add_scalars(b, m, NULL, err, errlen);
    if (!r && nfds) {
        sb_add(b, "fd=[");
        for (size_t i = 0; i < nfds; i++)
            sb_add(b, "%s%d", i ? "," : "", fds[i]);
        sb_add(b, "],");
    }
    if (!r && b->overflow) {
        snprintf(err, errlen, "%s: the configuration is too long", m->descriptor->short_name + 3);
        r = -EINVAL;
    }
    if (!r) {
        if (b->len && b->buf[b->len - 1] == ',')
            b->buf[--b->len] = '\0';
        *out = strdup(b->buf);
        if (!*out) {
            snprintf(err, errlen, "out of memory");
            r = -ENOMEM;
        }
    }
    free(b);
    return r;
}

void api_argv_free(struct api_argv *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    memset(a, 0, sizeof(*a));
}
