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
#include "core/cli/cli_devices.h"
#include "core/cli/cli_host.h"
#include "core/controller/controller.h"
#include "core/controller/core_msg.h"
#include "core/controller/hotplug.h"
#include "core/controller/landlock_ctl.h"
#include "core/controller/migration.h"
#include "core/controller/vfio_host.h"
#include "core/controller/snapshot.h"
#include "core/controller/vm_stop.h"
#include "ipc/channel.h"
#include "ipc/startup.h"
#include "validate.h"

/* With -v: how long since exec (ipc/startup.h). */
static void startup_mark(const struct controller *ctl, const char *what)
{
    if (ctl->cfg.verbosity)
        startup_note(ctl->log_fd >= 0 ? ctl->log_fd : STDERR_FILENO, "cellvm: ", ctl->t0, what);
}

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

/* hotplug_method=virtio-mem: one sealed memfd per region (the default memory's, or each
 * zone's with a hotplug_size), with its memory's page size. */
static int open_vmem(struct controller *ctl, size_t n)
{
    const struct cli_config *c = &ctl->cfg;
    int r = 0;

    if (c->memory.hotplug_method != CLI_HOTPLUG_VIRTIO_MEM)
        return 0;
    if (!c->nzones && c->memory.has_hotplug_size) {
        r = resources_create_ram(c->memory.hotplug_size,
                                 core_msg_page_size(c->memory.hugepages,
                                                    c->memory.has_hugepage_size,
                                                    c->memory.hugepage_size),
                                 &ctl->res.vmem_fd[0], ctl->err, n);
        if (!r)
            ctl->res.vmem_zone[ctl->res.nvmem++] = 0;
    }
    for (size_t i = 0; !r && i < c->nzones && ctl->res.nvmem < RESOURCES_MAX_ZONES; i++) {
        const struct cli_memory_zone *z = &c->zones[i];

        if (!z->has_hotplug_size)
            continue;
        r = resources_create_ram(
            z->hotplug_size,
            core_msg_page_size(z->hugepages, z->has_hugepage_size, z->hugepage_size),
            &ctl->res.vmem_fd[ctl->res.nvmem], ctl->err, n);
        if (!r)
            ctl->res.vmem_zone[ctl->res.nvmem++] = (uint32_t)i;
    }
    return r;
}

static int open_everything(struct controller *ctl)
{
    const struct cli_config *c = &ctl->cfg;
    size_t n = sizeof(ctl->err);
    uint64_t huge = core_msg_page_size(c->memory.hugepages, c->memory.has_hugepage_size,
                                       c->memory.hugepage_size);
    int local_fd[RESOURCES_MAX_ZONES];
    size_t nlocal = 0;
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
    /* A local migration's destination maps the source's RAM (checked against this config). */
    if (!r)
        nlocal = migration_take_memfds(&ctl->api, local_fd, RESOURCES_MAX_ZONES);
    if (nlocal && !c->nzones)
        ctl->res.memfd = local_fd[0];
    for (size_t i = 0; nlocal && i < c->nzones && i < nlocal; i++) {
        ctl->res.zone_fd[i] = local_fd[i];
        ctl->res.zone_file_backed[i] = fcntl(local_fd[i], F_GET_SEALS) < 0;
        ctl->res.nzones++;
    }
    if (!r && !nlocal && !c->nzones)
        r = resources_create_ram(c->memory.size, huge, &ctl->res.memfd, ctl->err, n);
    for (size_t i = 0; !r && !nlocal && i < c->nzones && i < RESOURCES_MAX_ZONES; i++) {
        const struct cli_memory_zone *z = &c->zones[i];
        struct resources_zone rz = {
            .id = z->id,
            .size = z->size,
            .file = z->file,
            .shared = z->shared,
            .hugepage_size =
                core_msg_page_size(z->hugepages, z->has_hugepage_size, z->hugepage_size),
            .restoring = ctl->api.restoring,
        };

        r = resources_open_zone(&rz, &ctl->res.zone_fd[i], &ctl->res.zone_file_backed[i], ctl->err,
                                n);
        if (!r)
            ctl->res.nzones++;
    }
    if (!r)
        r = open_vmem(ctl, n);
    /* The core names each pmem device: the ids vm.info shows (_pmem0, ...), as a vm.boot
     * through the API gives them before it starts anything. */
    if (!r && c->npmem && cli_fill_device_ids(&ctl->cfg)) {
        snprintf(ctl->err, n, "out of memory");
        r = -ENOMEM;
    }
    for (size_t i = 0; !r && i < c->npmem && i < RESOURCES_MAX_PMEM; i++) {
        const struct resources_pmem rp = { .file = c->pmem[i].file,
                                           .has_size = c->pmem[i].has_size,
                                           .size = c->pmem[i].size,
                                           .discard_writes = c->pmem[i].discard_writes };

        r = resources_open_pmem(&rp, &ctl->res.pmem_fd[i], &ctl->res.pmem_size[i], ctl->err, n);
        if (!r)
            ctl->res.npmem++;
    }
    /* Info, not warning: most hosts keep shmem THP off and the VM works either way. */
    if (!r && c->verbosity && c->memory.thp && !huge && resources_shmem_thp_off())
        fprintf(stderr, "cellvm: info: --memory thp=on has no effect: this host keeps "
                        "transparent huge pages off shared memory, so guest RAM uses 4 KiB pages "
                        "(echo advise > /sys/kernel/mm/transparent_hugepage/shmem_enabled)\n");
    if (!r)
        r = serial_open(&ctl->serial, serial_mode_of(c->serial.mode), c->serial.path, ctl->err, n);
    if (!r)
        r = console_host_open(&ctl->console, &c->console, ctl->serial.tty_raw, ctl->err, n);
    if (!r && c->console.mode == CLI_CONSOLE_PTY) {
        /* vm.info names the pty in console.file, as Cloud Hypervisor does. */
        free(ctl->cfg.console.path);
        ctl->cfg.console.path = strdup(ctl->console.pty_path);
    }
    ctl->devs.console = &ctl->console;
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
    restore_fds_sent(&ctl->api);
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
            startup_mark(ctl, "the core is ready: every device connected, vCPUs start");
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
    case CELLVM__ENVELOPE__BODY_GUEST_RESET:
        /* Done already (the core logged why): Cloud Hypervisor's pair of events for a
         * reboot, as for vm.reboot. */
        evmon_event(&ctl->evmon, "vm", "rebooting");
        evmon_event(&ctl->evmon, "vm", "rebooted");
        return;
    case CELLVM__ENVELOPE__BODY_EXIT_STATUS:
        devices_stop_net(&ctl->devs);
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
        r = landlock_ctl_check(ctl);
    if (!r)
        r = open_everything(ctl);
    if (r)
        return r;
    startup_mark(ctl, "guest memory, kernel and device resources opened");
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
    core_msg_build(ctl, &msg);
    ctl->msg = &msg;
    ctl->core.spawner = ctl->landlocked ? &ctl->spawner : NULL;
    /* Made at the first vm.boot and kept while the VMM runs: a VM booted after vm.delete starts
     * in it again, once the earlier VM's processes have all exited. Without it (not root, or the
     * kernel refused) each process gets a namespace of its own, as the spawner's do under
     * --landlock. */
    r = ctl->landlocked ? -EPERM : sbx_netns_make(&ctl->netns);
    if (r == -ENOTRECOVERABLE) {
        snprintf(ctl->err, sizeof(ctl->err), "back to the host's network namespace: failed");
        return r;
    }
    if (r == 0) {
        ctl->core.netns = &ctl->netns;
        ctl->devs.netns = &ctl->netns;
    }
    r = child_spawn(&ctl->core, exe, argv);
    if (r) {
        snprintf(ctl->err, sizeof(ctl->err), "cannot start %.200s: %s", exe, strerror(-r));
        return r;
    }
    startup_mark(ctl, "cellvm-core started");
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
    if (!r && ctl->devs.n)
        startup_mark(ctl, "device processes started");
    for (size_t i = 0; !r && i < ctl->devs.n; i++)
        evmon_device(&ctl->evmon, "device-added", ctl->devs.v[i].id);
    if (!r && linkwatch_start(&ctl->lw, ctl->base, &ctl->devs))
        fprintf(stderr, "cellvm: warning: host link changes will not reach the guest\n");
    /* The VM is configured and everything it needs is open: --landlock restricts the
     * controller from here on (landlock_ctl.h). */
    if (!r)
        r = landlock_ctl_apply(ctl);
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

/* --restore source_url=...: the VM of the snapshot, booted (restored) as if given on the
 * command line, which may say nothing else about the VM. 0, or -1 with the error printed. */
static int restore_cli(struct controller *ctl)
{
    char *url = ctl->cfg.restore.source_url;
    bool prefault = ctl->cfg.restore.prefault;
    struct restore_net_fds v[CLI_RESTORE_MAX_NETS];
    int fds[CLI_RESTORE_MAX_NETS * 8];
    struct restore_nets nets = { .v = v, .fds = fds };
    int r;

    /* net_fds=[id@[fd,...],...]: inherited TAP fds, kept by this process like --net fd=. */
    for (size_t i = 0; i < ctl->cfg.restore.nnets; i++) {
        const struct cli_restore_net *n = &ctl->cfg.restore.nets[i];

        v[nets.n].id = n->id;
        v[nets.n++].num_fds = n->fds.n;
        for (size_t j = 0; j < n->fds.n; j++)
            fds[nets.nfds++] = (int)n->fds.v[j];
    }

    if (ctl->cfg.payload.kernel || ctl->cfg.ndisks || ctl->cfg.nnets) {
        fprintf(stderr, "cellvm: error: --restore takes the VM from the snapshot's config.json: "
                        "give it with --api-socket, logging and seccomp options only\n");
        return -1;
    }
    ctl->cfg.restore.source_url = NULL; /* the configuration is replaced below */
    r = restore_load(&ctl->api, url, prefault, &nets, ctl->err, sizeof(ctl->err));
    free(url);
    if (r) {
        fprintf(stderr, "cellvm: error: --restore: %s\n", ctl->err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct controller ctl = { .log_fd = -1, .t0 = startup_begin() };
    int status = 1;

    resources_init(&ctl.res);
    serial_init(&ctl.serial);
    console_host_init(&ctl.console);
    devices_init(&ctl.devs);
    child_init(&ctl.core, "core");
    spawner_init(&ctl.spawner);
    sbx_netns_init(&ctl.netns);
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
    startup_mark(&ctl, "command line parsed");
    ctl.api.enabled = ctl.cfg.api_socket.present;
    if (ctl.cfg.restore.present && restore_cli(&ctl))
        goto out;
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
    console_host_close(&ctl.console);
    api_ctl_close(&ctl.api);
    evmon_close(&ctl.evmon);
    child_close(&ctl.core);
    spawner_close(&ctl.spawner);
    sbx_netns_close(&ctl.netns);
    resources_close(&ctl.res);
    if (ctl.base)
        event_base_free(ctl.base);
    if (ctl.log_fd >= 0)
        close(ctl.log_fd);
    cli_config_free(&ctl.cfg);
    return status;
}
