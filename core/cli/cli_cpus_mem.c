/* --cpus, --memory, --memory-zone, --numa: key tables (with what cellvm supports) and the checks
 * Cloud Hypervisor v51.0 makes on each option by itself. */
#include "cli_cpus_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_util.h"

#define DEFAULT_MEMORY_SIZE (512ull << 20)
#define PAGE_SIZE_4K        4096ull
#define MAX_HOST_CPU        65535u

/* threads_per_core:cores_per_die:dies_per_package:packages, each a u16. */
static int conv_topology(const char *value, void *dst, char *why, size_t whylen)
{
    char buf[64], *parts[4], *p;
    uint16_t *out = dst;
    unsigned i = 0;
    uint64_t v;

    if (strlen(value) >= sizeof(buf))
        return -EINVAL;
    optparse_dequote(value, strlen(value), buf);
    /* strtok would merge empty fields; CH requires exactly four. */
    for (p = buf; i < 4; i++) {
        parts[i] = p;
        p = strchr(p, ':');
        if (!p)
            break;
        *p++ = '\0';
    }
    if (i != 3 || strchr(parts[3], ':')) {
        snprintf(why, whylen, "expected <threads>:<cores>:<dies>:<packages>");
        return -EINVAL;
    }
    for (i = 0; i < 4; i++) {
        if (optparse_u64(parts[i], UINT16_MAX, &v) < 0) {
            snprintf(why, whylen, "each part is an integer from 0 to 65535");
            return -EINVAL;
        }
        out[i] = (uint16_t)v;
    }
    return 0;
}

static int conv_affinity(const char *value, void *dst, char *why, size_t whylen)
{
    optparse_tuple_list_free(dst);
    return optparse_tuples(value, UINT32_MAX, MAX_HOST_CPU, true, dst, why, whylen);
}

/* CH knows one CPU feature, amx; anything else is an invalid value. */
static int conv_features(const char *value, void *dst, char *why, size_t whylen)
{
    struct optparse_str_list l;
    bool *amx = dst;
    size_t i;
    int r;

    r = optparse_strlist(value, &l, why, whylen);
    if (r < 0)
        return r;
    for (i = 0; i < l.n; i++) {
        if (strcmp(l.v[i], "amx")) {
            snprintf(why, whylen, "the only CPU feature is amx");
            r = -EINVAL;
            break;
        }
        *amx = true;
    }
    optparse_str_list_free(&l);
    return r;
}

static int conv_hotplug_method(const char *value, void *dst, char *why, size_t whylen)
{
    char buf[32];
    enum cli_hotplug_method *m = dst;

    if (strlen(value) >= sizeof(buf))
        return -EINVAL;
    optparse_dequote(value, strlen(value), buf);
    if (!strcasecmp(buf, "acpi")) {
        *m = CLI_HOTPLUG_ACPI;
    } else if (!strcasecmp(buf, "virtio-mem")) {
        *m = CLI_HOTPLUG_VIRTIO_MEM;
    } else {
        snprintf(why, whylen, "expected acpi or virtio-mem");
        return -EINVAL;
    }
    return 0;
}

#define CPU_KEY(n, t, m, sup, d, c)                                                            \
    {                                                                                          \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_cpus, m), .supported = sup, .dflt = d, \
        .conv = c                                                                              \
    }

static const struct optparse_key cpus_keys[] = {
    CPU_KEY("boot", OPTPARSE_U32, boot, true, NULL, NULL),
    CPU_KEY("max", OPTPARSE_U32, max, true, NULL, NULL),
    CPU_KEY("topology", OPTPARSE_CUSTOM, topology, true, NULL, conv_topology),
    CPU_KEY("kvm_hyperv", OPTPARSE_TOGGLE, kvm_hyperv, false, "off", NULL),
    CPU_KEY("max_phys_bits", OPTPARSE_U8, max_phys_bits, true, NULL, NULL),
    CPU_KEY("affinity", OPTPARSE_CUSTOM, affinity, true, NULL, conv_affinity),
    CPU_KEY("features", OPTPARSE_CUSTOM, amx, false, NULL, conv_features),
    CPU_KEY("nested", OPTPARSE_TOGGLE, nested, false, "on", NULL),
};

static const struct optparse_spec cpus_spec = {
    .opt = "--cpus",
    .keys = cpus_keys,
    .nkeys = sizeof(cpus_keys) / sizeof(cpus_keys[0]),
};

void cli_cpus_defaults(struct cli_cpus *cpus)
{
    memset(cpus, 0, sizeof(*cpus));
    cpus->boot = 1;
    cpus->max = 1;
    cpus->max_phys_bits = 46;
    cpus->nested = true;
}

void cli_cpus_free(struct cli_cpus *cpus)
{
    optparse_tuple_list_free(&cpus->affinity);
}

static int cpus_check(struct cli_cpus *c, bool max_given, char *err, size_t errlen)
{
    uint64_t product;
    size_t i;

    if (c->boot == 0) {
        cli_err(err, errlen, "--cpus: invalid value for 'boot': '0' (at least 1)");
        return -EINVAL;
    }
    if (!max_given)
        c->max = c->boot;
    if (c->max < c->boot) {
        cli_err(err, errlen, "--cpus: invalid value for 'max': '%u' (lower than boot=%u)", c->max,
                c->boot);
        return -EINVAL;
    }
    if (c->max > CLI_CH_MAX_VCPUS) {
        cli_err(err, errlen, "--cpus: invalid value for '%s': '%u' (more than %d vCPUs)",
                max_given ? "max" : "boot", c->max, CLI_CH_MAX_VCPUS);
        return -EINVAL;
    }
    if (c->max > CLI_MAX_VCPUS) {
        cli_err(err, errlen,
                "--cpus: known but not supported yet: %s=%u (cellvm's limit is %d vCPUs)",
                max_given ? "max" : "boot", c->max, CLI_MAX_VCPUS);
        return -EINVAL;
    }
    if (c->has_topology) {
        product = (uint64_t)c->topology.threads_per_core * c->topology.cores_per_die *
                  c->topology.dies_per_package * c->topology.packages;
        if (!product) {
            cli_err(err, errlen,
                    "--cpus: invalid value for 'topology': '%u:%u:%u:%u' (no part "
                    "may be 0)",
                    c->topology.threads_per_core, c->topology.cores_per_die,
                    c->topology.dies_per_package, c->topology.packages);
            return -EINVAL;
        }
        if (product != c->max) {
            cli_err(err, errlen,
                    "--cpus: invalid value for 'topology': '%u:%u:%u:%u' (the "
                    "product is %llu, max is %u)",
                    c->topology.threads_per_core, c->topology.cores_per_die,
                    c->topology.dies_per_package, c->topology.packages, (unsigned long long)product,
                    c->max);
            return -EINVAL;
        }
    }
    /* The memory map needs the 4 GiB hole below the top of the physical address space. */
    if (c->max_phys_bits < 32) {
        cli_err(err, errlen, "--cpus: invalid value for 'max_phys_bits': '%u' (at least 32)",
                c->max_phys_bits);
        return -EINVAL;
    }
    for (i = 0; i < c->affinity.n; i++) {
        if (c->affinity.v[i].key >= c->max) {
            cli_err(err, errlen, "--cpus: invalid value for 'affinity': vCPU %u (max is %u)",
                    c->affinity.v[i].key, c->max);
            return -EINVAL;
        }
    }
    return 0;
}

int cli_cpus_parse(const char *value, struct cli_cpus *cpus, char *err, size_t errlen)
{
    struct optparse_seen seen;
    int r;

    cli_cpus_free(cpus);
    cli_cpus_defaults(cpus);
    r = optparse_parse(&cpus_spec, value, cpus, &seen, err, errlen);
    if (r < 0)
        return r;
    cpus->has_topology = optparse_valued(&cpus_spec, &seen, "topology");
    return cpus_check(cpus, optparse_valued(&cpus_spec, &seen, "max"), err, errlen);
}

#define MEM_KEY(n, t, m, sup, d, c)                                                              \
    {                                                                                            \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_memory, m), .supported = sup, .dflt = d, \
        .conv = c                                                                                \
    }

static const struct optparse_key memory_keys[] = {
    MEM_KEY("size", OPTPARSE_SIZE, size, true, NULL, NULL),
    MEM_KEY("file", OPTPARSE_STR, file, true, NULL, NULL), /* CH accepts and ignores it */
    MEM_KEY("mergeable", OPTPARSE_TOGGLE, mergeable, true, NULL, NULL),
    MEM_KEY("hotplug_method", OPTPARSE_CUSTOM, hotplug_method, true, "acpi", conv_hotplug_method),
    MEM_KEY("hotplug_size", OPTPARSE_SIZE, hotplug_size, true, NULL, NULL),
    MEM_KEY("hotplugged_size", OPTPARSE_SIZE, hotplugged_size, true, NULL, NULL),
    MEM_KEY("shared", OPTPARSE_TOGGLE, shared, true, NULL, NULL),
    MEM_KEY("hugepages", OPTPARSE_TOGGLE, hugepages, true, NULL, NULL),
    MEM_KEY("hugepage_size", OPTPARSE_SIZE, hugepage_size, true, NULL, NULL),
    MEM_KEY("prefault", OPTPARSE_TOGGLE, prefault, true, NULL, NULL),
    MEM_KEY("thp", OPTPARSE_TOGGLE, thp, true, NULL, NULL),
};

static const struct optparse_spec memory_spec = {
    .opt = "--memory",
    .keys = memory_keys,
    .nkeys = sizeof(memory_keys) / sizeof(memory_keys[0]),
};

void cli_memory_defaults(struct cli_memory *mem)
{
    memset(mem, 0, sizeof(*mem));
    mem->size = DEFAULT_MEMORY_SIZE;
    mem->thp = true;
}

void cli_memory_free(struct cli_memory *mem)
{
    free(mem->file);
    mem->file = NULL;
}

/* CH's rules for a hugepage size and for a RAM size against its page size. */
static int check_hugepages(const char *opt, bool hugepages, bool has_size, uint64_t hp_size,
                           uint64_t size, char *err, size_t errlen)
{
    if (has_size && !hugepages) {
        cli_err(err, errlen,
                "%s: invalid value for 'hugepage_size': '%llu' (needs "
                "hugepages=on)",
                opt, (unsigned long long)hp_size);
        return -EINVAL;
    }
    if (has_size && !cli_is_pow2(hp_size)) {
        cli_err(err, errlen,
                "%s: invalid value for 'hugepage_size': '%llu' (not a power of "
                "two)",
                opt, (unsigned long long)hp_size);
        return -EINVAL;
    }
    if (size % PAGE_SIZE_4K || (has_size && size % hp_size)) {
        cli_err(err, errlen,
                "%s: invalid value for 'size': '%llu' (not a multiple of the %s "
                "size)",
                opt, (unsigned long long)size, has_size ? "hugepage" : "4 KiB page");
        return -EINVAL;
    }
    return 0;
}

int cli_memory_parse(const char *value, struct cli_config *cfg, char *err, size_t errlen)
{
    struct cli_memory *mem = &cfg->memory;
    struct optparse_seen seen;
    int r;

    cli_memory_free(mem);
    cli_memory_defaults(mem);
    r = optparse_parse(&memory_spec, value, mem, &seen, err, errlen);
    if (r < 0)
        return r;
    mem->has_hugepage_size = optparse_valued(&memory_spec, &seen, "hugepage_size");
    mem->has_hotplug_size = optparse_valued(&memory_spec, &seen, "hotplug_size");
    mem->has_hotplugged_size = optparse_valued(&memory_spec, &seen, "hotplugged_size");
    r = check_hugepages("--memory", mem->hugepages, mem->has_hugepage_size, mem->hugepage_size,
                        mem->size, err, errlen);
    if (r < 0)
        return r;
    if (mem->mergeable)
        cli_warn(cfg, "--memory: mergeable=on has no effect: guest memory is shared and KSM "
                      "merges only private pages");
    return 0;
}

static int conv_u32_opt(const char *value, void *dst, char *why, size_t whylen)
{
    char buf[32];
    uint64_t v;

    if (strlen(value) >= sizeof(buf))
        return -EINVAL;
    optparse_dequote(value, strlen(value), buf);
    if (optparse_u64(buf, UINT32_MAX, &v) < 0) {
        snprintf(why, whylen, "expected an integer from 0 to 4294967295");
        return -EINVAL;
    }
    *(uint32_t *)dst = (uint32_t)v;
    return 0;
}

#define ZONE_KEY(n, t, m)                                                                   \
    {                                                                                       \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_memory_zone, m), .supported = true, \
        .conv = (t) == OPTPARSE_CUSTOM ? conv_u32_opt : NULL                                \
    }

static const struct optparse_key zone_keys[] = {
    ZONE_KEY("id", OPTPARSE_STR, id),
    ZONE_KEY("size", OPTPARSE_SIZE, size),
    ZONE_KEY("file", OPTPARSE_STR, file),
    ZONE_KEY("shared", OPTPARSE_TOGGLE, shared),
    ZONE_KEY("hugepages", OPTPARSE_TOGGLE, hugepages),
    ZONE_KEY("hugepage_size", OPTPARSE_SIZE, hugepage_size),
    ZONE_KEY("host_numa_node", OPTPARSE_CUSTOM, host_numa_node),
    ZONE_KEY("hotplug_size", OPTPARSE_SIZE, hotplug_size),
    ZONE_KEY("hotplugged_size", OPTPARSE_SIZE, hotplugged_size),
    ZONE_KEY("prefault", OPTPARSE_TOGGLE, prefault),
};

static const struct optparse_spec zone_spec = {
    .opt = "--memory-zone",
    .keys = zone_keys,
    .nkeys = sizeof(zone_keys) / sizeof(zone_keys[0]),
};

void cli_memory_zone_free(struct cli_memory_zone *zone)
{
    free(zone->id);
    free(zone->file);
    zone->id = zone->file = NULL;
}

int cli_memory_zone_parse(const char *value, struct cli_memory_zone *z, char *err, size_t errlen)
{
    struct optparse_seen seen;
    int r;

    memset(z, 0, sizeof(*z));
    z->size = DEFAULT_MEMORY_SIZE;
    r = optparse_parse(&zone_spec, value, z, &seen, err, errlen);
    if (r < 0)
        return r;
    z->has_hugepage_size = optparse_valued(&zone_spec, &seen, "hugepage_size");
    z->has_host_numa_node = optparse_valued(&zone_spec, &seen, "host_numa_node");
    z->has_hotplug_size = optparse_valued(&zone_spec, &seen, "hotplug_size");
    z->has_hotplugged_size = optparse_valued(&zone_spec, &seen, "hotplugged_size");
    if (!z->id) {
        cli_err(err, errlen, "--memory-zone: missing required key 'id'");
        return -EINVAL;
    }
    if (z->file && cli_check_path("--memory-zone", "file", z->file, err, errlen) < 0)
        return -EINVAL;
    if (z->shared && z->file && z->has_host_numa_node) {
        cli_err(err, errlen,
                "--memory-zone: invalid value for 'host_numa_node': '%u' (not "
                "with a shared file-backed zone)",
                z->host_numa_node);
        return -EINVAL;
    }
    if (z->has_hotplugged_size && (!z->has_hotplug_size || z->hotplugged_size > z->hotplug_size)) {
        cli_err(err, errlen,
                "--memory-zone: invalid value for 'hotplugged_size': '%llu' "
                "(needs a hotplug_size at least as large)",
                (unsigned long long)z->hotplugged_size);
        return -EINVAL;
    }
    return check_hugepages("--memory-zone", z->hugepages, z->has_hugepage_size, z->hugepage_size,
                           z->size, err, errlen);
}

static int conv_intlist_u32(const char *value, void *dst, char *why, size_t whylen)
{
    optparse_u32_list_free(dst);
    return optparse_intlist(value, UINT32_MAX, dst, why, whylen);
}

static int conv_intlist_u16(const char *value, void *dst, char *why, size_t whylen)
{
    optparse_u32_list_free(dst);
    return optparse_intlist(value, UINT16_MAX, dst, why, whylen);
}

static int conv_strlist(const char *value, void *dst, char *why, size_t whylen)
{
    optparse_str_list_free(dst);
    return optparse_strlist(value, dst, why, whylen);
}

/* Raw parse target for --numa: distances arrive as tuples and are narrowed afterwards. */
struct numa_raw {
    struct cli_numa n;
    struct optparse_tuple_list distances;
};

static int conv_distances(const char *value, void *dst, char *why, size_t whylen)
{
    optparse_tuple_list_free(dst);
    return optparse_tuples(value, UINT32_MAX, UINT8_MAX, false, dst, why, whylen);
}

#define NUMA_KEY(nm, t, m, sup, c)                                                             \
    {                                                                                          \
        .name = nm, .type = t, OPTPARSE_FIELD(struct numa_raw, m), .supported = sup, .conv = c \
    }

static const struct optparse_key numa_keys[] = {
    NUMA_KEY("guest_numa_id", OPTPARSE_U32, n.guest_numa_id, true, NULL),
    NUMA_KEY("cpus", OPTPARSE_CUSTOM, n.cpus, true, conv_intlist_u32),
    NUMA_KEY("distances", OPTPARSE_CUSTOM, distances, true, conv_distances),
    /* Cloud Hypervisor takes only a --device (VFIO) here; cellvm takes any PCI device's id */
    NUMA_KEY("device_id", OPTPARSE_STR, n.device_id, true, NULL),
    NUMA_KEY("memory_zones", OPTPARSE_CUSTOM, n.memory_zones, true, conv_strlist),
    NUMA_KEY("pci_segments", OPTPARSE_CUSTOM, n.pci_segments, true, conv_intlist_u16),
};

static const struct optparse_spec numa_spec = {
    .opt = "--numa",
    .keys = numa_keys,
    .nkeys = sizeof(numa_keys) / sizeof(numa_keys[0]),
};

void cli_numa_free(struct cli_numa *numa)
{
    optparse_u32_list_free(&numa->cpus);
    optparse_u32_list_free(&numa->pci_segments);
    optparse_str_list_free(&numa->memory_zones);
    free(numa->distances);
    free(numa->device_id);
    numa->distances = NULL;
    numa->device_id = NULL;
    numa->ndistances = 0;
}

int cli_numa_parse(const char *value, struct cli_numa *numa, char *err, size_t errlen)
{
    struct numa_raw raw;
    struct optparse_seen seen;
    size_t i;
    int r;

    memset(&raw, 0, sizeof(raw));
    r = optparse_parse(&numa_spec, value, &raw, &seen, err, errlen);
    *numa = raw.n; /* ownership moves to the caller, who frees on error too */
    if (r < 0)
        goto out;
    r = -EINVAL;
    if (!optparse_valued(&numa_spec, &seen, "guest_numa_id")) {
        cli_err(err, errlen, "--numa: missing required key 'guest_numa_id'");
        goto out;
    }
    numa->has_cpus = optparse_valued(&numa_spec, &seen, "cpus");
    numa->has_memory_zones = optparse_valued(&numa_spec, &seen, "memory_zones");
    numa->has_pci_segments = optparse_valued(&numa_spec, &seen, "pci_segments");
    if (numa->device_id && (numa->has_cpus || numa->has_memory_zones)) {
        cli_err(err, errlen,
                "--numa: invalid value for 'device_id': not together with cpus or "
                "memory_zones");
        goto out;
    }
    if (!numa->device_id && !numa->has_cpus && !numa->has_memory_zones) {
        cli_err(err, errlen, "--numa: node %u needs cpus, memory_zones or device_id",
                numa->guest_numa_id);
        goto out;
    }
    if (raw.distances.n) {
        numa->distances = calloc(raw.distances.n, sizeof(*numa->distances));
        if (!numa->distances) {
            cli_err(err, errlen, "--numa: out of memory");
            r = -ENOMEM;
            goto out;
        }
        for (i = 0; i < raw.distances.n; i++) {
            numa->distances[i].destination = raw.distances.v[i].key;
            numa->distances[i].distance = (uint8_t)raw.distances.v[i].vals.v[0];
        }
        numa->ndistances = raw.distances.n;
    }
    r = 0;
out:
    optparse_tuple_list_free(&raw.distances);
    return r;
}
