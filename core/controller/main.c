/*
 * cellvm: the controller. It parses the command line, does the privileged opens (/dev/kvm, guest
 * RAM, kernel, initramfs, serial, log file), starts cellvm-core with nothing but its control
 * channel, hands it those fds in the CoreConfig message, and supervises it to the end.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cli/cli.h"
#include "core/cli/cli_host.h"
#include "core/controller/controller.h"
#include "core/controller/hotplug.h"
#include "core/controller/vfio_host.h"
#include "core/controller/vm_stop.h"
#include "ipc/channel.h"
#include "validate.h"

/* What the core is told, and the fds it gets, in the same order. */
struct core_msg {
    Cellvm__Envelope env;
    Cellvm__CoreConfig cfg;
    Cellvm__CpuConfig cpus;
    Cellvm__MemoryConfig mem;
    Cellvm__CpuAffinity aff[PB_MAX_VCPUS];
    Cellvm__CpuAffinity *affp[PB_MAX_VCPUS];
    Cellvm__CoreFd roles[PB_MAX_CORE_FDS];
    int fds[PB_MAX_CORE_FDS];
    Cellvm__MemoryZone zone[PB_MAX_ZONES];
    Cellvm__MemoryZone *zonep[PB_MAX_ZONES];
    Cellvm__NumaNode node[PB_MAX_NUMA_NODES];
    Cellvm__NumaNode *nodep[PB_MAX_NUMA_NODES];
    uint32_t node_zones[PB_MAX_NUMA_NODES][PB_MAX_ZONES];
    Cellvm__NumaDistance dist[PB_MAX_NUMA_NODES][PB_MAX_NUMA_NODES];
    Cellvm__NumaDistance *distp[PB_MAX_NUMA_NODES][PB_MAX_NUMA_NODES];
};

_Static_assert(RESOURCES_MAX_ZONES == PB_MAX_ZONES, "one fd per zone");
_Static_assert(CLI_MAX_GUEST_ZONES <= PB_MAX_ZONES, "the CLI refuses what the core cannot take");
_Static_assert(CLI_MAX_NUMA_ID < PB_MAX_NUMA_NODES, "the CLI refuses ids the core cannot take");

static enum serial_mode serial_mode_of(enum cli_console_mode m)
{
    switch (m) {
    case CLI_CONSOLE_OFF:
        return SERIAL_MODE_OFF;
    case CLI_CONSOLE_NULL:
        return SERIAL_MODE_NULL;
    case CLI_CONSOLE_PTY:
        return SERIAL_MODE_PTY;
    case CLI_CONSOLE_TTY:
        return SERIAL_MODE_TTY;
    case CLI_CONSOLE_FILE:
        return SERIAL_MODE_FILE;
    case CLI_CONSOLE_SOCKET:
        return SERIAL_MODE_SOCKET;
    }
    return SERIAL_MODE_NULL;
}

static void add_fd(struct core_msg *m, Cellvm__CoreFd role, int fd)
{
    if (fd < 0)
        return;
    m->roles[m->cfg.n_fds] = role;
    m->fds[m->cfg.n_fds++] = fd;
}

static void fill_cpus(struct core_msg *m, const struct cli_cpus *c)
{
    uint32_t max = c->max ? c->max : c->boot;

    cellvm__cpu_config__init(&m->cpus);
    m->cpus.boot_vcpus = c->boot;
    m->cpus.max_vcpus = max;
    if (c->has_topology) {
        m->cpus.threads_per_core = c->topology.threads_per_core;
        m->cpus.cores_per_die = c->topology.cores_per_die;
        m->cpus.dies_per_package = c->topology.dies_per_package;
        m->cpus.packages = c->topology.packages;
    } else {
        /* Cloud Hypervisor's default: one package, one die, every vCPU a core. */
        m->cpus.threads_per_core = 1;
        m->cpus.cores_per_die = max;
        m->cpus.dies_per_package = 1;
        m->cpus.packages = 1;
    }
    m->cpus.max_phys_bits = c->max_phys_bits;
    for (size_t i = 0; i < c->affinity.n && i < PB_MAX_VCPUS; i++) {
        cellvm__cpu_affinity__init(&m->aff[i]);
        m->aff[i].vcpu = c->affinity.v[i].key;
        m->aff[i].host_cpus = c->affinity.v[i].vals.v;
        m->aff[i].n_host_cpus = c->affinity.v[i].vals.n;
        m->affp[i] = &m->aff[i];
    }
    m->cpus.affinity = m->affp;
    m->cpus.n_affinity = c->affinity.n < PB_MAX_VCPUS ? c->affinity.n : PB_MAX_VCPUS;
}

/* Hugepage size of memory asked for with hugepages=on: the given one or 2 MiB. */
static uint64_t huge_size(bool hugepages, bool has_size, uint64_t size)
{
    return hugepages ? (has_size ? size : 2ull << 20) : 0;
}

static void fill_zones(struct controller *ctl, struct core_msg *m)
{
    const struct cli_config *c = &ctl->cfg;

    for (size_t i = 0; i < ctl->res.nzones; i++) {
        const struct cli_memory_zone *z = &c->zones[i];
        Cellvm__MemoryZone *mz = &m->zone[i];

        cellvm__memory_zone__init(mz);
        mz->id = z->id;
        mz->size = z->size;
        mz->fd_index = (uint32_t)m->cfg.n_fds;
        mz->file_backed = ctl->res.zone_file_backed[i];
        mz->has_host_numa_node = z->has_host_numa_node;
        mz->host_numa_node = z->host_numa_node;
        mz->prefault = z->prefault;
        mz->hugepages = z->hugepages;
        mz->hugepage_size = huge_size(z->hugepages, z->has_hugepage_size, z->hugepage_size);
        m->zonep[i] = mz;
        m->mem.size += z->size;
        add_fd(m, CELLVM__CORE_FD__CORE_FD_MEMORY, ctl->res.zone_fd[i]);
    }
    m->mem.zones = m->zonep;
    m->mem.n_zones = ctl->res.nzones;
}

static uint32_t zone_index(const struct cli_config *c, const char *id)
{
    for (size_t i = 0; i < c->nzones; i++)
        if (!strcmp(c->zones[i].id, id))
            return (uint32_t)i;
    return UINT32_MAX; /* cli_validate refused it already */
}

/* cli_validate checked everything pb_validate_core_config will check again. */
static void fill_numa(const struct cli_config *c, struct core_msg *m)
{
    for (size_t i = 0; i < c->nnuma && i < PB_MAX_NUMA_NODES; i++) {
        const struct cli_numa *n = &c->numa[i];
        Cellvm__NumaNode *node = &m->node[i];

        cellvm__numa_node__init(node);
        node->guest_numa_id = n->guest_numa_id;
        if (n->device_id)
            node->device_id = n->device_id;
        node->cpus = n->cpus.v;
        node->n_cpus = n->cpus.n;
        for (size_t j = 0; j < n->memory_zones.n && j < PB_MAX_ZONES; j++)
            m->node_zones[i][j] = zone_index(c, n->memory_zones.v[j]);
        node->zones = m->node_zones[i];
        node->n_zones = n->memory_zones.n < PB_MAX_ZONES ? n->memory_zones.n : PB_MAX_ZONES;
        for (size_t j = 0; j < n->ndistances && j < PB_MAX_NUMA_NODES; j++) {
            cellvm__numa_distance__init(&m->dist[i][j]);
            m->dist[i][j].destination = n->distances[j].destination;
            m->dist[i][j].distance = n->distances[j].distance;
            m->distp[i][j] = &m->dist[i][j];
        }
        node->distances = m->distp[i];
        node->n_distances = n->ndistances < PB_MAX_NUMA_NODES ? n->ndistances : PB_MAX_NUMA_NODES;
        m->nodep[i] = node;
    }
    m->cfg.numa_nodes = m->nodep;
    m->cfg.n_numa_nodes = c->nnuma < PB_MAX_NUMA_NODES ? c->nnuma : PB_MAX_NUMA_NODES;
}

static void build_core_msg(struct controller *ctl, struct core_msg *m)
{
    const struct cli_config *c = &ctl->cfg;

    cellvm__envelope__init(&m->env);
    cellvm__core_config__init(&m->cfg);
    cellvm__memory_config__init(&m->mem);
    fill_cpus(m, &c->cpus);
    m->mem.size = c->memory.size;
    m->mem.thp = c->memory.thp;
    m->mem.hugepages = c->memory.hugepages;
    m->mem.hugepage_size =
        huge_size(c->memory.hugepages, c->memory.has_hugepage_size, c->memory.hugepage_size);
    m->mem.prefault = c->memory.prefault;
    /* ACPI memory hotplug's area (cli_validate: no zones, 1 TiB at most), whole pages. */
    if (c->memory.has_hotplug_size && c->memory.hotplug_method == CLI_HOTPLUG_ACPI)
        m->mem.hotplug_size = c->memory.hotplug_size & ~0xfffull;
    m->cfg.cpus = &m->cpus;
    m->cfg.memory = &m->mem;
    m->cfg.cmdline = c->payload.cmdline ? c->payload.cmdline : (char *)"";
    switch (ctl->serial.mode) {
    case SERIAL_MODE_OFF:
        m->cfg.serial = CELLVM__SERIAL_MODE__SERIAL_OFF;
        break;
    case SERIAL_MODE_NULL:
        m->cfg.serial = CELLVM__SERIAL_MODE__SERIAL_NULL;
        break;
    default:
        m->cfg.serial = CELLVM__SERIAL_MODE__SERIAL_STREAM;
        break;
    }
    m->cfg.seccomp = c->seccomp == CLI_SECCOMP_FALSE ? CELLVM__SECCOMP_MODE__SECCOMP_OFF
                     : c->seccomp == CLI_SECCOMP_LOG ? CELLVM__SECCOMP_MODE__SECCOMP_LOG
                                                     : CELLVM__SECCOMP_MODE__SECCOMP_ON;
    m->cfg.verbosity = c->verbosity > 4 ? 4 : c->verbosity;
    m->cfg.fds = m->roles;
    add_fd(m, CELLVM__CORE_FD__CORE_FD_KVM, ctl->res.kvm);
    add_fd(m, CELLVM__CORE_FD__CORE_FD_MEMORY, ctl->res.memfd);
    fill_zones(ctl, m);
    fill_numa(c, m);
    add_fd(m, CELLVM__CORE_FD__CORE_FD_KERNEL, ctl->res.kernel);
    add_fd(m, CELLVM__CORE_FD__CORE_FD_INITRAMFS, ctl->res.initramfs);
    add_fd(m, CELLVM__CORE_FD__CORE_FD_SERIAL_IN, ctl->serial.core_in);
    add_fd(m, CELLVM__CORE_FD__CORE_FD_SERIAL_OUT, ctl->serial.core_out);
    m->cfg.attach_count = (uint32_t)ctl->devs.n;
    m->cfg.num_pci_segments = c->platform.num_pci_segments;
    m->env.body_case = CELLVM__ENVELOPE__BODY_CORE_CONFIG;
    m->env.core_config = &m->cfg;
}

static int open_everything(struct controller *ctl)
{
    const struct cli_config *c = &ctl->cfg;
    size_t n = sizeof(ctl->err);
    uint64_t huge =
        huge_size(c->memory.hugepages, c->memory.has_hugepage_size, c->memory.hugepage_size);
    int r;

    if (c->log_file && ctl->log_fd < 0) { /* opened once: a second vm.boot keeps it */
        ctl->log_fd = open(c->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (ctl->log_fd < 0) {
            snprintf(ctl->err, n, "--log-file: cannot open '%s': %s", c->log_file, strerror(errno));
            return -errno;
        }
    }
    /* The payload before /dev/kvm: a vm.boot of a missing or wrong kernel is refused with
     * that reason, before any process starts. */
    r = resources_open_ro("--kernel", c->payload.kernel, &ctl->res.kernel, ctl->err, n);
    if (!r)
        r = resources_check_kernel(ctl->res.kernel, c->payload.kernel, ctl->err, n);
    if (!r && c->payload.initramfs)
        r = resources_open_ro("--initramfs", c->payload.initramfs, &ctl->res.initramfs, ctl->err,
                              n);
    /* --device paths too: a path that is no usable PCI device is refused the same way. */
    if (!r)
        r = vfio_host_check(c, ctl->err, n);
    if (!r)
        r = resources_open_kvm(&ctl->res.kvm, ctl->err, n);
    if (!r && !c->nzones)
        r = resources_create_ram(c->memory.size, huge, &ctl->res.memfd, ctl->err, n);
    for (size_t i = 0; !r && i < c->nzones && i < RESOURCES_MAX_ZONES; i++) {
        const struct cli_memory_zone *z = &c->zones[i];
        struct resources_zone rz = {
            .id = z->id,
            .size = z->size,
            .file = z->file,
            .shared = z->shared,
            .hugepage_size = huge_size(z->hugepages, z->has_hugepage_size, z->hugepage_size),
        };

        r = resources_open_zone(&rz, &ctl->res.zone_fd[i], &ctl->res.zone_file_backed[i], ctl->err,
                                n);
        if (!r)
            ctl->res.nzones++;
    }
    /* Info, not warning: most hosts keep shmem THP off and the VM works either way. */
    if (!r && c->verbosity && c->memory.thp && !huge && resources_shmem_thp_off())
        fprintf(stderr, "cellvm: info: --memory thp=on has no effect: this host keeps "
                        "transparent huge pages off shared memory, so guest RAM uses 4 KiB pages "
                        "(echo advise > /sys/kernel/mm/transparent_hugepage/shmem_enabled)\n");
    if (!r)
        r = serial_open(&ctl->serial, serial_mode_of(c->serial.mode), c->serial.path, ctl->err, n);
    if (!r)
        r = devices_open(&ctl->devs, c, ctl->err, n);
    return r;
}

/* The host facts cli_check_host compares the command line with. */
static int check_host(struct controller *ctl)
{
    uint64_t nodes[CLI_HOST_MAX_NODES / 64];
    long ncpus = sysconf(_SC_NPROCESSORS_CONF);
    struct cli_host host = { .ncpus = ncpus > 0 ? (uint32_t)ncpus : 1, .nodes = nodes };
    size_t setsize = CPU_ALLOC_SIZE(host.ncpus);
    cpu_set_t *allowed = CPU_ALLOC(host.ncpus);
    int r;

    if (allowed && sched_getaffinity(0, setsize, allowed) == 0) {
        host.allowed = allowed;
        host.allowed_size = setsize;
    }
    resources_host_nodes(nodes, sizeof(nodes) / sizeof(nodes[0]));
    r = cli_check_host(&ctl->cfg, &host, ctl->err, sizeof(ctl->err));
    if (allowed)
        CPU_FREE(allowed);
    return r;
}

static struct controller *ctl_of(struct sv_child *c)
{
    return c->arg;
}

static void core_fail(struct sv_child *c, const char *what)
{
    struct controller *ctl = ctl_of(c);

    if (ctl->api.boot_id && !c->sv->stopping) {
        /* A vm.boot the core could not carry out (the kernel, guest RAM, KVM): the answer to
         * it, and the VMM keeps serving. */
        vm_stop_begin(ctl, what);
        return;
    }
    sv_report(c->sv, "cellvm: error: %s\n", what);
    sv_set_status(c->sv, 1);
    sv_stop(c->sv);
}

/* After the core's Hello: its configuration, then one AttachDevice per virtio device. */
static void configure_core(struct sv_child *c, const Cellvm__Hello *h)
{
    struct controller *ctl = ctl_of(c);
    char why[160];
    int e;

    if (h->role != CELLVM__ROLE__ROLE_CORE || (pid_t)h->pid != ctl->core.self_pid) {
        core_fail(c, "core process introduced itself wrongly");
        sv_kill(c);
        return;
    }
    e = sv_send(c, &ctl->msg->env, ctl->msg->fds, ctl->msg->cfg.n_fds);
    if (!e)
        e = devices_attach(&ctl->devs, c);
    /* The core holds them now; keeping the kernel or serial open here would only leak. */
    serial_release_core_fds(&ctl->serial);
    if (e) {
        snprintf(why, sizeof(why), "cannot configure the core: %s", strerror(-e));
        core_fail(c, why);
        sv_kill(c);
        return;
    }
    ctl->core_state = CORE_WAIT_READY;
}

static void core_message(struct sv_child *c, Cellvm__Envelope *env, int *fds, size_t nfds)
{
    struct controller *ctl = ctl_of(c);

    ipc_close_fds(fds, nfds); /* the core sends no fds */
    if (api_ctl_core_message(&ctl->api, env))
        return;
    switch (env->body_case) {
    case CELLVM__ENVELOPE__BODY_HELLO:
        if (ctl->core_state == CORE_WAIT_HELLO) {
            configure_core(c, env->hello);
            return;
        }
        break;
    case CELLVM__ENVELOPE__BODY_READY:
        if (ctl->core_state == CORE_WAIT_READY) {
            ctl->core_state = CORE_RUNNING;
            evmon_event(&ctl->evmon, "vm", "booted");
            api_ctl_vm_ready(&ctl->api);
            return;
        }
        break;
    case CELLVM__ENVELOPE__BODY_ERROR:
        core_fail(c, env->error->message);
        return;
    case CELLVM__ENVELOPE__BODY_DEVICE_RECONNECTED:
        respawn_on_reconnected(&ctl->devs, env->device_reconnected->id,
                               env->device_reconnected->errnum);
        return;
    case CELLVM__ENVELOPE__BODY_DEVICE_LOST:
        vu_reconnect_on_lost(&ctl->devs, env->device_lost->id, env->device_lost->reason);
        return;
    case CELLVM__ENVELOPE__BODY_DEVICE_ADDED:
        hotplug_on_added(&ctl->api, env->device_added);
        return;
    case CELLVM__ENVELOPE__BODY_DEVICE_EJECTED:
        hotplug_on_ejected(&ctl->api, env->device_ejected);
        return;
    case CELLVM__ENVELOPE__BODY_EXIT_STATUS:
        if (vm_stop_active(ctl)) {
            /* vm.shutdown through the API: the VMM stays to serve it. */
            ctl->core_state = CORE_DONE;
            c->stop_sent = true;
            return;
        }
        if (env->exit_status->reason == CELLVM__EXIT_STATUS__REASON__REASON_ERROR) {
            sv_report(c->sv, "cellvm: error: %s\n", env->exit_status->message);
            sv_set_status(c->sv, 1);
        } else {
            sv_set_status(c->sv, 0);
        }
        ctl->core_state = CORE_DONE;
        c->stop_sent = true; /* it is stopping already */
        sv_stop(c->sv);
        return;
    default:
        break;
    }
    sv_report(c->sv, "cellvm: %s\n", "unexpected control message from the core ignored");
}

static void core_exit(struct sv_child *c, int st)
{
    struct controller *ctl = ctl_of(c);

    if (vm_stop_active(ctl)) {
        vm_stop_step(ctl);
        return;
    }
    if (ctl->api.boot_id && !c->sv->stopping) {
        char msg[256];

        /* Died before it was Ready, through vm.boot: that boot fails, the VMM stays. */
        sv_describe_death(c->sv, c, st, msg, sizeof(msg));
        vm_stop_begin(ctl, msg);
        return;
    }
    if (ctl->core_state != CORE_DONE && !c->sv->have_status) {
        char msg[256];

        sv_describe_death(c->sv, c, st, msg, sizeof(msg));
        core_fail(c, msg);
    }
    sv_stop(c->sv);
}

static void core_stop(struct sv_child *c)
{
    struct controller *ctl = ctl_of(c);

    /* Before its configuration the core cannot act on a Shutdown. */
    if (ctl->core_state == CORE_WAIT_HELLO || sv_send_shutdown(c)) {
        sv_kill(c);
        sv_set_status(c->sv, 1);
    }
}

static const struct sv_child_ops core_ops = {
    .on_message = core_message,
    .on_exit = core_exit,
    .on_stop = core_stop,
};

/* Opens the VM's resources and starts its core and device processes under ctl->sv. */
static int boot_vm(struct controller *ctl)
{
    static struct core_msg msg; /* large; lives for the process, filled once */
    char exe[PATH_MAX], chan_arg[16];
    char *argv[] = { (char *)"cellvm-core", (char *)"--channel-fd", chan_arg, NULL };
    int r;

    evmon_event(&ctl->evmon, "vm", "booting");
    r = check_host(ctl);
    if (!r)
        r = open_everything(ctl);
    if (r)
        return r;
    if (serial_attach(&ctl->serial, ctl->base)) {
        snprintf(ctl->err, sizeof(ctl->err), "cannot set up the event loop");
        return -ENOMEM;
    }
    r = child_exe_path("cellvm-core", exe, sizeof(exe));
    if (r) {
        snprintf(ctl->err, sizeof(ctl->err), "cannot locate cellvm-core: %s", strerror(-r));
        return r;
    }
    snprintf(chan_arg, sizeof(chan_arg), "%d", LAUNCH_CHANNEL_FD);
    build_core_msg(ctl, &msg);
    ctl->msg = &msg;
    r = child_spawn(&ctl->core, exe, argv);
    if (r) {
        snprintf(ctl->err, sizeof(ctl->err), "cannot start %.200s: %s", exe, strerror(-r));
        return r;
    }
    ctl->core_state = CORE_WAIT_HELLO;
    r = sv_add(&ctl->sv, &ctl->core_svc, &ctl->core, &core_ops, ctl, 0);
    if (r) {
        snprintf(ctl->err, sizeof(ctl->err), "cannot watch the core: %s", strerror(-r));
        kill(ctl->core.pid, SIGKILL);
        waitpid(ctl->core.pid, NULL, 0); /* nobody else would reap it */
        ctl->core.pid = 0;
        return r;
    }
    ctl->core_watched = true;
    /* On failure whatever started is stopped in order by the caller. */
    r = devices_spawn(&ctl->devs, &ctl->sv, ctl->err, sizeof(ctl->err));
    for (size_t i = 0; !r && i < ctl->devs.n; i++)
        evmon_device(&ctl->evmon, "device-added", ctl->devs.v[i].id);
    if (!r && linkwatch_start(&ctl->lw, ctl->base, &ctl->devs))
        fprintf(stderr, "cellvm: warning: host link changes will not reach the guest\n");
    return r;
}

/* vm.boot: answered later, by the core's Ready or, when the boot fails at any point, once
 * whatever started has stopped again (vm_stop.h); the VMM keeps serving either way. */
static int api_boot(void *arg, char *err, size_t errlen)
{
    struct controller *ctl = arg;

    (void)err;
    (void)errlen;
    if (boot_vm(ctl))
        vm_stop_begin(ctl, ctl->err);
    return 0;
}

/* vm.shutdown, vm.delete: the VM's processes stop, the VMM stays; answered at the end. */
static int api_stop(void *arg)
{
    struct controller *ctl = arg;

    if (vm_stop_active(ctl) || ctl->sv.stopping)
        return -EBUSY;
    vm_stop_begin(ctl, NULL);
    return 0;
}

static void devices_gone(void *arg)
{
    vm_stop_step(arg);
}

static struct sv_child *api_core(void *arg)
{
    struct controller *ctl = arg;

    return ctl->core.pid > 0 && ctl->core_state == CORE_RUNNING ? &ctl->core_svc : NULL;
}

static const struct api_ctl_ops api_ops = { .boot = api_boot, .core = api_core, .stop = api_stop };

static int run_vm(struct controller *ctl)
{
    int log_out = ctl->log_fd >= 0 ? ctl->log_fd : STDERR_FILENO;
    int r = 0;

    ctl->base = event_base_new();
    if (!ctl->base) {
        snprintf(ctl->err, sizeof(ctl->err), "cannot set up the event loop");
        return -ENOMEM;
    }
    sv_init(&ctl->sv, ctl->base, log_out);
    ctl->sv_inited = true;
    ctl->sv.evmon = &ctl->evmon;
    r = evmon_open(&ctl->evmon, &ctl->cfg.event_monitor, ctl->err, sizeof(ctl->err));
    if (r)
        return r;
    evmon_event(&ctl->evmon, "vmm", "starting");
    if (ctl->api.enabled) {
        r = api_ctl_open(&ctl->api, ctl->err, sizeof(ctl->err));
        if (!r)
            r = api_ctl_start(&ctl->api, &ctl->sv, ctl->err, sizeof(ctl->err));
    }
    /* Without --kernel the VM comes through the API (vm.create, vm.boot). */
    if (!r && ctl->cfg.payload.kernel) {
        r = boot_vm(ctl);
        if (!r)
            api_ctl_vm_booted(&ctl->api);
    }
    if (r) {
        /* Whatever started is stopped in order, then the error is reported. */
        sv_stop(&ctl->sv);
        sv_run(&ctl->sv);
        api_ctl_vmm_ended(&ctl->api);
        return r;
    }
    r = sv_run(&ctl->sv);
    api_ctl_vmm_ended(&ctl->api);
    return r;
}

int main(int argc, char **argv)
{
    struct controller ctl = { .log_fd = -1 };
    int status = 1;

    resources_init(&ctl.res);
    serial_init(&ctl.serial);
    devices_init(&ctl.devs);
    child_init(&ctl.core, "core");
    evmon_init(&ctl.evmon);
    linkwatch_init(&ctl.lw);
    api_ctl_init(&ctl.api, &ctl.cfg, &api_ops, &ctl);
    ctl.api.evmon = &ctl.evmon;
    ctl.api.devs = &ctl.devs; /* vm.resize-disk, vm.counters */
    ctl.devs.evmon = &ctl.evmon;
    ctl.devs.on_gone = devices_gone;
    ctl.devs.gone_arg = &ctl;
    if (cli_parse(argc, argv, &ctl.cfg, ctl.err, sizeof(ctl.err))) {
        fprintf(stderr, "cellvm: error: %s\n", ctl.err);
        goto out;
    }
    switch (ctl.cfg.action) {
    case CLI_ACTION_HELP:
        cli_print_help(stdout);
        status = 0;
        goto out;
    case CLI_ACTION_VERSION:
        cli_print_version(stdout);
        status = 0;
        goto out;
    case CLI_ACTION_USAGE:
        cli_print_help(stderr);
        status = 2;
        goto out;
    case CLI_ACTION_RUN:
        break;
    }
    for (unsigned i = 0; i < ctl.cfg.nwarnings; i++)
        fprintf(stderr, "cellvm: warning: %s\n", ctl.cfg.warnings[i]);
    ctl.api.enabled = ctl.cfg.api_socket.present;
    if (!ctl.cfg.payload.kernel && !ctl.api.enabled) {
        fprintf(stderr, "cellvm: error: --kernel or --api-socket is required\n");
        goto out;
    }
    umask(077); /* as Cloud Hypervisor: sockets and files we create are ours alone */
    status = run_vm(&ctl);
    if (status < 0) {
        fprintf(stderr, "cellvm: error: %s\n", ctl.err);
        status = 1;
    }
out:
    vm_stop_close(&ctl);
    if (ctl.sv_inited)
        sv_destroy(&ctl.sv);
    serial_close(&ctl.serial);
    linkwatch_close(&ctl.lw);
    devices_close(&ctl.devs);
    api_ctl_close(&ctl.api);
    evmon_close(&ctl.evmon);
    child_close(&ctl.core);
    resources_close(&ctl.res);
    if (ctl.base)
        event_base_free(ctl.base);
    if (ctl.log_fd >= 0)
        close(ctl.log_fd);
    cli_config_free(&ctl.cfg);
    return status;
}
