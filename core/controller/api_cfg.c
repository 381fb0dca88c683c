#include "core/controller/api_cfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli_devices.h"
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
    if ((c->has_iommu && c->iommu) || (c->has_watchdog && c->watchdog) ||
        (c->has_pvpanic && c->pvpanic))
        return refuse(err, errlen, c->iommu ? "iommu" : c->watchdog ? "watchdog" : "pvpanic");
    if (c->rng && c->rng->src && strcmp(c->rng->src, "/dev/urandom"))
        return refuse(err, errlen, "rng (virtio-rng)");
    r = payload_argv(out, c->payload, err, errlen);
    if (!r && c->cpus)
        r = cpus_argv(out, &b, c->cpus, err, errlen);
    if (!r && c->memory)
        r = memory_argv(out, &b, c->memory, err, errlen);
    if (!r && c->serial)
        r = console_argv(out, &b, "--serial", c->serial, err, errlen);
    if (!r && c->console)
        r = console_argv(out, &b, "--console", c->console, err, errlen);
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
    for (size_t i = 0; !r && i < c->n_numa; i++)
        r = numa_argv(out, &b, c->numa[i], err, errlen);
    if (!r && c->platform)
        r = platform_argv(out, &b, c->platform, err, errlen);
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

static char *dup_or_null(const char *s, bool *oom)
{
    char *d = s ? strdup(s) : NULL;

    if (s && !d)
        *oom = true;
    return d;
}

/* A zeroed message of type d, initialised; owned by the caller's tree. */
static void *new_msg(const ProtobufCMessageDescriptor *d, bool *oom)
{
    ProtobufCMessage *m = calloc(1, d->sizeof_message);

    if (!m) {
        *oom = true;
        return NULL;
    }
    protobuf_c_message_init(d, m);
    return m;
}

#define SET(msg, field, val)    \
    do {                        \
        (msg)->field = (val);   \
        (msg)->has_##field = 1; \
    } while (0)

static const char *const console_modes[] = {
    [CLI_CONSOLE_OFF] = "Off", [CLI_CONSOLE_NULL] = "Null", [CLI_CONSOLE_PTY] = "Pty",
    [CLI_CONSOLE_TTY] = "Tty", [CLI_CONSOLE_FILE] = "File", [CLI_CONSOLE_SOCKET] = "Socket",
};

static Cellvm__ApiConsoleConfig *console_of(const struct cli_console *c, bool *oom)
{
    Cellvm__ApiConsoleConfig *m = new_msg(&cellvm__api_console_config__descriptor, oom);

    if (!m)
        return NULL;
    m->mode = dup_or_null(console_modes[c->mode], oom);
    if (c->mode == CLI_CONSOLE_FILE)
        m->file = dup_or_null(c->path, oom);
    else if (c->mode == CLI_CONSOLE_SOCKET)
        m->socket = dup_or_null(c->path, oom);
    SET(m, iommu, c->iommu);
    return m;
}

static Cellvm__ApiCpusConfig *cpus_of(const struct cli_cpus *c, bool *oom)
{
    Cellvm__ApiCpusConfig *m = new_msg(&cellvm__api_cpus_config__descriptor, oom);

    if (!m)
        return NULL;
    SET(m, boot_vcpus, c->boot);
    SET(m, max_vcpus, c->max ? c->max : c->boot);
    SET(m, kvm_hyperv, c->kvm_hyperv);
    SET(m, max_phys_bits, c->max_phys_bits);
    SET(m, nested, c->nested);
    if (c->has_topology) {
        m->topology = new_msg(&cellvm__api_cpu_topology__descriptor, oom);
        if (m->topology) {
            SET(m->topology, threads_per_core, c->topology.threads_per_core);
            SET(m->topology, cores_per_die, c->topology.cores_per_die);
            SET(m->topology, dies_per_package, c->topology.dies_per_package);
            SET(m->topology, packages, c->topology.packages);
        }
    }
    m->features = new_msg(&cellvm__api_cpu_features__descriptor, oom);
    if (m->features)
        SET(m->features, amx, c->amx);
    return m;
}

static Cellvm__ApiMemoryConfig *memory_of(const struct cli_config *cfg, bool *oom)
{
    const struct cli_memory *c = &cfg->memory;
    Cellvm__ApiMemoryConfig *m = new_msg(&cellvm__api_memory_config__descriptor, oom);

    if (!m)
        return NULL;
    SET(m, size, c->size);
    SET(m, mergeable, c->mergeable);
    SET(m, shared, c->shared);
    SET(m, hugepages, c->hugepages);
    SET(m, prefault, c->prefault);
    SET(m, thp, c->thp);
    if (c->has_hugepage_size)
        SET(m, hugepage_size, c->hugepage_size);
    if (c->has_hotplug_size)
        SET(m, hotplug_size, c->hotplug_size);
    if (c->has_hotplugged_size)
        SET(m, hotplugged_size, c->hotplugged_size);
    m->hotplug_method =
        dup_or_null(c->hotplug_method == CLI_HOTPLUG_VIRTIO_MEM ? "VirtioMem" : "Acpi", oom);
    if (!cfg->nzones)
        return m;
    m->zones = calloc(cfg->nzones, sizeof(*m->zones));
    if (!m->zones) {
        *oom = true;
        return m;
    }
    for (size_t i = 0; i < cfg->nzones; i++) {
        const struct cli_memory_zone *z = &cfg->zones[i];
        Cellvm__ApiMemoryZoneConfig *mz = new_msg(&cellvm__api_memory_zone_config__descriptor, oom);

        if (!mz)
            break;
        m->zones[m->n_zones++] = mz;
        mz->id = dup_or_null(z->id, oom);
        SET(mz, size, z->size);
        mz->file = dup_or_null(z->file, oom);
        SET(mz, shared, z->shared);
        SET(mz, hugepages, z->hugepages);
        SET(mz, prefault, z->prefault);
        if (z->has_hugepage_size)
            SET(mz, hugepage_size, z->hugepage_size);
        if (z->has_host_numa_node)
            SET(mz, host_numa_node, z->host_numa_node);
    }
    return m;
}

static Cellvm__ApiDiskConfig *disk_of(const struct cli_disk *d, bool *oom)
{
    static const char *const types[] = {
        [CLI_IMAGE_UNKNOWN] = NULL,   [CLI_IMAGE_RAW] = "Raw",   [CLI_IMAGE_QCOW2] = "Qcow2",
        [CLI_IMAGE_VHD] = "FixedVhd", [CLI_IMAGE_VHDX] = "Vhdx",
    };
    Cellvm__ApiDiskConfig *m = new_msg(&cellvm__api_disk_config__descriptor, oom);

    if (!m)
        return NULL;
    m->path = dup_or_null(d->path, oom);
    m->vhost_socket = dup_or_null(d->socket, oom);
    m->id = dup_or_null(d->id, oom);
    m->serial = dup_or_null(d->serial, oom);
    m->image_type = dup_or_null(types[d->image_type], oom);
    SET(m, readonly, d->readonly);
    SET(m, direct, d->direct);
    SET(m, iommu, d->iommu);
    SET(m, vhost_user, d->vhost_user);
    SET(m, backing_files, d->backing_files);
    SET(m, sparse, d->sparse);
    SET(m, num_queues, d->num_queues);
    SET(m, queue_size, d->queue_size);
    SET(m, pci_segment, d->pci_segment);
    return m;
}

static char *ip_of(bool has, const struct cli_ip *ip, bool *oom)
{
    char buf[INET6_ADDRSTRLEN];

    if (!has || !inet_ntop(ip->family, ip->addr, buf, sizeof(buf)))
        return NULL;
    return dup_or_null(buf, oom);
}

static char *mac_of(bool has, const uint8_t *a, bool *oom)
{
    char buf[18];

    if (!has)
        return NULL;
    snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
    return dup_or_null(buf, oom);
}

/* TAP fds (fd=[...]) are not shown: the NetConfig of vm.info has no field for them here. */
static Cellvm__ApiNetConfig *net_of(const struct cli_net *n, bool *oom)
{
    Cellvm__ApiNetConfig *m = new_msg(&cellvm__api_net_config__descriptor, oom);

    if (!m)
        return NULL;
    m->tap = n->tap && n->tap[0] ? dup_or_null(n->tap, oom) : NULL;
    m->ip = ip_of(n->has_ip, &n->ip, oom);
    m->mask = ip_of(n->has_mask, &n->mask, oom);
    m->mac = mac_of(n->has_mac, n->mac, oom);
    m->host_mac = mac_of(n->has_host_mac, n->host_mac, oom);
    if (n->has_mtu)
        SET(m, mtu, n->mtu);
    SET(m, iommu, n->iommu);
    SET(m, num_queues, n->num_queues);
    SET(m, queue_size, n->queue_size);
    SET(m, vhost_user, n->vhost_user);
    m->vhost_socket = dup_or_null(n->socket, oom);
    m->vhost_mode = dup_or_null(n->vhost_mode == CLI_VHOST_SERVER ? "Server" : "Client", oom);
    m->id = dup_or_null(n->id, oom);
    SET(m, pci_segment, n->pci_segment);
    SET(m, offload_tso, n->offload_tso);
    SET(m, offload_ufo, n->offload_ufo);
    SET(m, offload_csum, n->offload_csum);
    return m;
}

static Cellvm__ApiVsockConfig *vsock_of(const struct cli_vsock *v, bool *oom)
{
    Cellvm__ApiVsockConfig *m = new_msg(&cellvm__api_vsock_config__descriptor, oom);

    if (!m)
        return NULL;
    SET(m, cid, v->cid);
    m->socket = dup_or_null(v->socket, oom);
    m->id = dup_or_null(v->id, oom);
    SET(m, iommu, v->iommu);
    SET(m, pci_segment, v->pci_segment);
    return m;
}

/* The id is the one the VMM gives the device: Cloud Hypervisor's _vfio<N> when none was set. */
static Cellvm__ApiDeviceConfig *device_of(const struct cli_device *d, size_t index, bool *oom)
{
    Cellvm__ApiDeviceConfig *m = new_msg(&cellvm__api_device_config__descriptor, oom);
    char id[32];

    if (!m)
        return NULL;
    m->path = dup_or_null(d->path, oom);
    snprintf(id, sizeof(id), "_vfio%zu", index);
    m->id = dup_or_null(d->id ? d->id : index == SIZE_MAX ? NULL : id, oom);
    SET(m, iommu, d->iommu);
    SET(m, pci_segment, d->pci_segment);
    return m;
}

/* Cloud Hypervisor names a vfio-user device without an id _vfio_user<N>. */
static Cellvm__ApiUserDeviceConfig *user_device_of(const struct cli_user_device *d, size_t index,
                                                   bool *oom)
{
    Cellvm__ApiUserDeviceConfig *m = new_msg(&cellvm__api_user_device_config__descriptor, oom);
    char id[32];

    if (!m)
        return NULL;
    m->socket = dup_or_null(d->socket, oom);
    snprintf(id, sizeof(id), "_vfio_user%zu", index);
    m->id = dup_or_null(d->id ? d->id : index == SIZE_MAX ? NULL : id, oom);
    SET(m, pci_segment, d->pci_segment);
    return m;
}

static Cellvm__ApiFsConfig *fs_of(const struct cli_fs *f, bool *oom)
{
    Cellvm__ApiFsConfig *m = new_msg(&cellvm__api_fs_config__descriptor, oom);

    if (!m)
        return NULL;
    m->tag = dup_or_null(f->tag, oom);
    m->socket = dup_or_null(f->socket, oom);
    m->id = dup_or_null(f->id, oom);
    SET(m, num_queues, f->num_queues);
    SET(m, queue_size, f->queue_size);
    SET(m, pci_segment, f->pci_segment);
    return m;
}

Cellvm__ApiVmConfig *api_cfg_from_cli(const struct cli_config *cfg)
{
    Cellvm__ApiVmConfig *m;
    bool oom = false;

    m = new_msg(&cellvm__api_vm_config__descriptor, &oom);
    if (!m)
        return NULL;
    m->cpus = cpus_of(&cfg->cpus, &oom);
    m->memory = memory_of(cfg, &oom);
    m->payload = new_msg(&cellvm__api_payload_config__descriptor, &oom);
    if (m->payload) {
        m->payload->kernel = dup_or_null(cfg->payload.kernel, &oom);
        m->payload->cmdline = dup_or_null(cfg->payload.cmdline, &oom);
        m->payload->initramfs = dup_or_null(cfg->payload.initramfs, &oom);
        m->payload->firmware = dup_or_null(cfg->payload.firmware, &oom);
    }
    m->serial = console_of(&cfg->serial, &oom);
    m->console = console_of(&cfg->console, &oom);
    if (cfg->ndisks) {
        m->disks = calloc(cfg->ndisks, sizeof(*m->disks));
        for (size_t i = 0; m->disks && i < cfg->ndisks; i++) {
            m->disks[i] = disk_of(&cfg->disks[i], &oom);
            if (!m->disks[i])
                break;
            m->n_disks++;
        }
        oom = oom || !m->disks;
    }
    if (cfg->nnets) {
        m->net = calloc(cfg->nnets, sizeof(*m->net));
        for (size_t i = 0; m->net && i < cfg->nnets; i++) {
            m->net[i] = net_of(&cfg->nets[i], &oom);
            if (!m->net[i])
                break;
            m->n_net++;
        }
        oom = oom || !m->net;
    }
    if (cfg->vsock.present)
        m->vsock = vsock_of(&cfg->vsock, &oom);
    if (cfg->ndevices) {
        m->devices = calloc(cfg->ndevices, sizeof(*m->devices));
        for (size_t i = 0; m->devices && i < cfg->ndevices; i++) {
            m->devices[i] = device_of(&cfg->devices[i], i, &oom);
            if (!m->devices[i])
                break;
            m->n_devices++;
        }
        oom = oom || !m->devices;
    }
    if (cfg->nuser_devices) {
        m->user_devices = calloc(cfg->nuser_devices, sizeof(*m->user_devices));
        for (size_t i = 0; m->user_devices && i < cfg->nuser_devices; i++) {
            m->user_devices[i] = user_device_of(&cfg->user_devices[i], i, &oom);
            if (!m->user_devices[i])
                break;
            m->n_user_devices++;
        }
        oom = oom || !m->user_devices;
    }
    if (cfg->nfs) {
        m->fs = calloc(cfg->nfs, sizeof(*m->fs));
        for (size_t i = 0; m->fs && i < cfg->nfs; i++) {
            m->fs[i] = fs_of(&cfg->fs[i], &oom);
            if (!m->fs[i])
                break;
            m->n_fs++;
        }
        oom = oom || !m->fs;
    }
    if (cfg->platform.present) {
        m->platform = new_msg(&cellvm__api_platform_config__descriptor, &oom);
        if (m->platform)
            SET(m->platform, num_pci_segments, cfg->platform.num_pci_segments);
    }
    SET(m, iommu, false);
    SET(m, watchdog, false);
    SET(m, pvpanic, false);
    if (oom) {
        protobuf_c_message_free_unpacked(&m->base, NULL);
        return NULL;
    }
    return m;
}

/* One device's configuration as its API schema, for cellvm-remote; NULL when out of memory. */
#define ONE_OF(fn, type, cli_type, conv)                      \
    type *fn(const cli_type *c)                               \
    {                                                         \
        bool oom = false;                                     \
        type *m = conv;                                       \
                                                              \
        if (oom && m) {                                       \
            protobuf_c_message_free_unpacked(&m->base, NULL); \
            m = NULL;                                         \
        }                                                     \
        return m;                                             \
    }

ONE_OF(api_cfg_disk, Cellvm__ApiDiskConfig, struct cli_disk, disk_of(c, &oom))
ONE_OF(api_cfg_net, Cellvm__ApiNetConfig, struct cli_net, net_of(c, &oom))
ONE_OF(api_cfg_vsock, Cellvm__ApiVsockConfig, struct cli_vsock, vsock_of(c, &oom))
ONE_OF(api_cfg_device, Cellvm__ApiDeviceConfig, struct cli_device, device_of(c, SIZE_MAX, &oom))
ONE_OF(api_cfg_user_device, Cellvm__ApiUserDeviceConfig, struct cli_user_device,
       user_device_of(c, SIZE_MAX, &oom))
ONE_OF(api_cfg_fs, Cellvm__ApiFsConfig, struct cli_fs, fs_of(c, &oom))

int api_cfg_fill_ids(struct cli_config *cfg)
{
    return cli_fill_device_ids(cfg);
}

int api_cfg_remove_device(struct cli_config *cfg, const char *id)
{
    return cli_remove_device(cfg, id);
}
