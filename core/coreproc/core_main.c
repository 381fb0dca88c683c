/*
 * cellvm-core: the process that owns the vCPUs. It is started by the controller with its control
 * channel on the fd named by --channel-fd (and nothing else but stdio); every other resource
 * (/dev/kvm, guest RAM, kernel, initramfs, serial) arrives as fds with the CoreConfig message.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/coreproc/core_jail.h"
#include "core/coreproc/core_layout.h"
#include "core/coreproc/core_migrate.h"
#include "core/vm/vm.h"
#include "core/vm/vm_state.h"
#include "core/vm/vm_thread.h"
#include "ipc/channel.h"
#include "ipc/msg.h"
#include "ipc/startup.h"
#include "validate.h"

#define CORE_MAX_KEEP (PB_MAX_CORE_FDS + PB_MAX_ATTACH)

struct core {
    int chan;                 /* control channel; owned */
    int fds[PB_MAX_CORE_FDS]; /* received fds by arrival order; owned */
    size_t nfds;
    /* AttachDevice messages and their vhost-user sockets (owned until vm_create takes them). */
    Cellvm__Envelope *attach_env[PB_MAX_ATTACH];
    struct vpci_params virtio[PB_MAX_ATTACH];
    size_t nvirtio;
    struct vfio_pci_params vfio[PB_MAX_ATTACH]; /* --device: vfio-user sockets, likewise */
    size_t nvfio;
    Cellvm__Envelope *cfg_env; /* holds the CoreConfig */
    struct core_layout layout; /* guest RAM mappings (owned), NUMA, affinity */
    struct vm *vm;
    bool error_sent;       /* vm_create's failure reported (vm_failed) */
    struct core_jail jail; /* vCPU filter; owned */
    struct core_mig mig;   /* live migration (issue 18), control thread only */
    uint64_t t0;           /* the controller's start (ipc/startup.h), 0 if unknown */
};

/* With -v: the time since the controller started (ipc/startup.h). */
static void mark(const struct core *c, const char *what)
{
    if (c->cfg_env && c->cfg_env->core_config->verbosity)
        startup_note(STDERR_FILENO, "", c->t0, what);
}

/* The validator on the other side accepts printable ASCII only in messages. */
static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}

static int send_simple(int chan, Cellvm__Envelope *env)
{
    return ipc_send_envelope(chan, env, NULL, 0);
}

static void send_error(int chan, int errnum, const char *msg)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Error e = CELLVM__ERROR__INIT;
    char line[PB_MAX_MESSAGE_LEN + 1];

    snprintf(line, sizeof(line), "%s", msg);
    printable(line);
    e.errnum = errnum > 0 && errnum < 4096 ? errnum : EIO;
    e.message = line;
    env.body_case = CELLVM__ENVELOPE__BODY_ERROR;
    env.error = &e;
    (void)send_simple(chan, &env);
}

static int send_hello(int chan)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Hello h = CELLVM__HELLO__INIT;

    h.protocol_version = 1;
    h.role = CELLVM__ROLE__ROLE_CORE;
    h.id = (char *)"core";
    h.pid = (uint32_t)getpid();
    env.body_case = CELLVM__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    return send_simple(chan, &env);
}

static int fd_for(const struct core *c, Cellvm__CoreFd role)
{
    const Cellvm__CoreConfig *cfg = c->cfg_env->core_config;

    for (size_t i = 0; i < cfg->n_fds; i++)
        if (cfg->fds[i] == role)
            return c->fds[i];
    return -1;
}

/* From the frontend thread: an external backend went away; the controller looks for it again
 * and answers with an AttachDevice (reconnect) or stops the VM. */
static void send_lost(void *arg, const char *id, const char *why)
{
    struct core *c = arg;
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceLost dl = CELLVM__DEVICE_LOST__INIT;
    char line[PB_MAX_MESSAGE_LEN + 1];

    snprintf(line, sizeof(line), "%s", why);
    printable(line);
    dl.id = (char *)id;
    dl.reason = line;
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_LOST;
    env.device_lost = &dl;
    (void)send_simple(c->chan, &env);
}

/* From vm_run's thread: a reset nobody asked for through the API, for the controller's
 * vm rebooting/rebooted events. */
static void send_guest_reset(void *arg, enum vm_reset_cause cause)
{
    struct core *c = arg;
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__GuestReset gr = CELLVM__GUEST_RESET__INIT;

    gr.cause = cause == VM_RESET_WATCHDOG ? CELLVM__GUEST_RESET__CAUSE__CAUSE_WATCHDOG
                                          : CELLVM__GUEST_RESET__CAUSE__CAUSE_GUEST;
    env.body_case = CELLVM__ENVELOPE__BODY_GUEST_RESET;
    env.guest_reset = &gr;
    (void)send_simple(c->chan, &env);
}

/* Before vm_create tears down the device connections: the controller must hear why the core
 * fails before the device processes' exits (their frontend gone) could read as deaths. */
static void vm_failed(void *arg, int r, const char *err)
{
    struct core *c = arg;

    send_error(c->chan, -r, err);
    c->error_sent = true;
}

static int build_vm(struct core *c, char *err, size_t errlen)
{
    const Cellvm__CoreConfig *cfg = c->cfg_env->core_config;
    struct vm_params p = { 0 };
    int keep[CORE_MAX_KEEP + 1]; /* + the VM fd */
    uint64_t hot_gpa[GUEST_MEM_MAX_HOTPLUG], hot_size[GUEST_MEM_MAX_HOTPLUG];
    uint32_t nhot = 0;
    size_t n;
    int r;

    /* A restore makes the RAM vm.resize had added again where the snapshot has it. */
    if (cfg->restore) {
        r = vm_restore_hotplugged(fd_for(c, CELLVM__CORE_FD__CORE_FD_STATE), hot_gpa, hot_size,
                                  GUEST_MEM_MAX_HOTPLUG, &nhot, err, errlen);
        if (r)
            return r;
        for (uint32_t i = 0; i < nhot; i++) {
            c->layout.hot[i].gpa = hot_gpa[i];
            c->layout.hot[i].size = hot_size[i];
        }
        c->layout.nhot = nhot;
    }
    r = core_layout_apply(&c->layout, cfg, c->fds, &p, err, errlen);
    if (r)
        return r;
    mark(c, "core: guest memory mapped");
    p.kvm_fd = fd_for(c, CELLVM__CORE_FD__CORE_FD_KVM);
    /* The VM, its RAM's slots and its irqchip first, on a thread of their own (vm_early_start)
     * while this one jails the process; that thread only waits in the kernel and is joined
     * before any guest or device input is handled. */
    r = vm_early_start(&p.early, p.kvm_fd, &p.mem, err, errlen);
    if (r)
        return r;
    p.boot_vcpus = cfg->cpus->boot_vcpus;
    p.max_vcpus = cfg->cpus->max_vcpus;
    p.threads_per_core = cfg->cpus->threads_per_core;
    p.cores_per_die = cfg->cpus->cores_per_die;
    p.dies_per_package = cfg->cpus->dies_per_package;
    p.packages = cfg->cpus->packages;
    p.max_phys_bits = cfg->cpus->max_phys_bits;
    p.serial_enabled = cfg->serial != CELLVM__SERIAL_MODE__SERIAL_OFF;
    p.serial_in_fd = fd_for(c, CELLVM__CORE_FD__CORE_FD_SERIAL_IN);
    p.serial_out_fd = fd_for(c, CELLVM__CORE_FD__CORE_FD_SERIAL_OUT);
    p.boot.kernel_fd = fd_for(c, CELLVM__CORE_FD__CORE_FD_KERNEL);
    p.boot.initramfs_fd = fd_for(c, CELLVM__CORE_FD__CORE_FD_INITRAMFS);
    p.boot.cmdline = cfg->cmdline;
    p.verbosity = (int)cfg->verbosity;
    p.vcpu_thread_init = core_jail_vcpu_thread;
    p.vcpu_thread_arg = &c->jail;
    p.device_lost = send_lost;
    p.device_lost_arg = c;
    p.pci_segments = cfg->num_pci_segments;
    p.restore = cfg->restore; /* validated: then both snapshot fds are there */
    p.watchdog = cfg->watchdog;
    p.iommu = cfg->iommu; /* validated: segments exist and are not 0, the width is 12..64 */
    p.iommu_segments = cfg->iommu_segments;
    p.niommu_segments = (uint32_t)cfg->n_iommu_segments;
    p.iommu_address_width = (uint8_t)cfg->iommu_address_width;
    p.guest_reset = send_guest_reset;
    p.guest_reset_arg = c;
    p.failed = vm_failed;
    p.failed_arg = c;
    p.migrate = cfg->migrate; /* validated: then the socket is there */
    p.migrate_fd = fd_for(c, CELLVM__CORE_FD__CORE_FD_MIGRATION);
    p.restore_state_fd = fd_for(c, CELLVM__CORE_FD__CORE_FD_STATE);
    p.restore_ram_fd = fd_for(c, CELLVM__CORE_FD__CORE_FD_MEMORY_RANGES);
    if (cfg->smbios) { /* validated: strings printable and bounded, uuid 0 or 16 bytes */
        const char *sn = cfg->smbios->serial_number;

        p.smbios.serial_number = sn && *sn ? sn : NULL;
        p.smbios.uuid = cfg->smbios->uuid.len == SMBIOS_UUID_LEN ? cfg->smbios->uuid.data : NULL;
        p.smbios.oem_strings = (const char *const *)cfg->smbios->oem_strings;
        p.smbios.noem_strings = cfg->smbios->n_oem_strings;
    }
    p.virtio = c->virtio;
    p.nvirtio = (uint32_t)c->nvirtio;
    p.vfio = c->vfio;
    p.nvfio = (uint32_t)c->nvfio;
    /* Everything is received and RAM mapped; the only other thread installs the slots. */
    for (size_t i = 0; i < c->nvirtio && c->nfds + i < CORE_MAX_KEEP; i++)
        keep[c->nfds + i] = c->virtio[i].sock;
    for (size_t i = 0; i < c->nvfio && c->nfds + c->nvirtio + i < CORE_MAX_KEEP; i++)
        keep[c->nfds + c->nvirtio + i] = c->vfio[i].sock;
    memcpy(keep, c->fds, c->nfds * sizeof(keep[0]));
    n = c->nfds + c->nvirtio + c->nvfio;
    keep[n++] = vm_early_fd(p.early);
    vm_state_json_init(); /* getrandom, which the jail does not allow */
    r = core_jail_enter(&c->jail, cfg->seccomp, c->chan, keep, n, cfg->cpus->max_vcpus, err,
                        errlen);
    if (r) {
        vm_early_free(p.early);
        return r;
    }
    mark(c, "core: jailed (namespaces, capabilities, seccomp)");
    /* vm_create owns the sockets from here, on failure too. */
    c->nvirtio = 0;
    c->nvfio = 0;
    return vm_create(&c->vm, &p, err, errlen);
}

/* The AttachDevice messages that follow the configuration, one vhost-user socket (virtio) or
 * vfio-user socket (--device) each. */
static int receive_devices(struct core *c, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        Cellvm__Envelope *env = NULL;
        const Cellvm__AttachDevice *a;
        const char *why = NULL;
        int fd[1] = { -1 };
        size_t nfds = 0;
        int r = ipc_recv_envelope(c->chan, &env, fd, 1, &nfds, &why);

        if (r) {
            fprintf(stderr, "bad device from the controller: %s\n", why ? why : strerror(-r));
            return r;
        }
        if (env->body_case != CELLVM__ENVELOPE__BODY_ATTACH_DEVICE) {
            ipc_close_fds(fd, nfds);
            ipc_free_envelope(env);
            fprintf(stderr, "expected %u devices after the configuration\n", count);
            return -EPROTO;
        }
        a = env->attach_device;
        c->attach_env[i] = env;
        if (a->vfio_user) {
            c->vfio[c->nvfio++] = (struct vfio_pci_params){
                .id = a->id, .sock = fd[0], .pci_segment = (uint16_t)a->pci_segment
            };
            continue;
        }
        c->virtio[c->nvirtio] = (struct vpci_params){
            .id = a->id,
            .virtio_id = (uint16_t)a->virtio_id,
            .num_queues = (uint16_t)a->num_queues,
            .queue_size = (uint16_t)a->queue_size,
            .sock = fd[0],
            .external = a->external,
            .pci_segment = (uint16_t)a->pci_segment,
            .fs_tag = a->virtio_id == 26 ? a->fs_tag : NULL,
            .iommu = a->iommu,
        };
        c->nvirtio++;
    }
    return 0;
}

/* An API request on the running VM (pause, resume, power button, reboot, NMI); answered
 * VmControlDone once the request is queued for vm_run (reboot, NMI) or done (the others). */
static void vm_control(struct core *c, Cellvm__VmControl__Op op)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VmControlDone done = CELLVM__VM_CONTROL_DONE__INIT;
    int r;

    switch (op) {
    case CELLVM__VM_CONTROL__OP__OP_PAUSE:
        r = vm_pause(c->vm);
        break;
    case CELLVM__VM_CONTROL__OP__OP_RESUME:
        r = vm_resume(c->vm);
        break;
    case CELLVM__VM_CONTROL__OP__OP_POWER_BUTTON:
        vm_power_button(c->vm);
        r = 0;
        break;
    case CELLVM__VM_CONTROL__OP__OP_REBOOT:
        vm_reboot(c->vm); /* the guest-initiated path: vCPUs and devices reset in vm_run */
        r = 0;
        break;
    case CELLVM__VM_CONTROL__OP__OP_NMI:
        vm_nmi(c->vm);
        r = 0;
        break;
    default:
        r = -EOPNOTSUPP;
        break;
    }
    done.op = op;
    done.errnum = r < 0 && -r < 4096 ? -r : 0;
    env.body_case = CELLVM__ENVELOPE__BODY_VM_CONTROL_DONE;
    env.vm_control_done = &done;
    (void)send_simple(c->chan, &env);
}

/* From the frontend thread: how the reconnection of a replaced device process went. */
static void send_reconnected(void *arg, const char *id, int err)
{
    struct core *c = arg;
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceReconnected dr = CELLVM__DEVICE_RECONNECTED__INIT;

    dr.id = (char *)id;
    dr.errnum = err < 0 && -err < 4096 ? -err : 0;
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_RECONNECTED;
    env.device_reconnected = &dr;
    (void)send_simple(c->chan, &env);
}

static void send_added(struct core *c, const char *id, int r, const char *msg, uint32_t seg,
                       unsigned slot)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceAdded da = CELLVM__DEVICE_ADDED__INIT;
    char line[PB_MAX_MESSAGE_LEN + 1];

    snprintf(line, sizeof(line), "%s", r ? msg : "");
    printable(line);
    da.id = (char *)id;
    da.errnum = r < 0 && -r < 4096 ? -r : 0;
    da.message = line;
    da.pci_segment = seg;
    da.slot = r ? 0 : slot;
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_ADDED;
    env.device_added = &da;
    (void)send_simple(c->chan, &env);
}

static void send_ejected(void *arg, const char *id)
{
    struct core *c = arg;
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceEjected de = CELLVM__DEVICE_EJECTED__INIT;

    de.id = (char *)id;
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_EJECTED;
    env.device_ejected = &de;
    (void)send_simple(c->chan, &env);
}

/* vm.add-*: a new device (issue 16), synchronous here; answered DeviceAdded. */
static void hot_add(struct core *c, const Cellvm__AttachDevice *a, int fd)
{
    struct vpci_params vp = {
        .id = a->id,
        .virtio_id = (uint16_t)a->virtio_id,
        .num_queues = (uint16_t)a->num_queues,
        .queue_size = (uint16_t)a->queue_size,
        .sock = fd,
        .external = a->external,
        .pci_segment = (uint16_t)a->pci_segment,
        .fs_tag = a->virtio_id == 26 ? a->fs_tag : NULL,
        .iommu = a->iommu,
    };
    struct vfio_pci_params fp = { .id = a->id,
                                  .sock = fd,
                                  .pci_segment = (uint16_t)a->pci_segment };
    struct vm_hot_add h = { .virtio = a->vfio_user ? NULL : &vp,
                            .vfio = a->vfio_user ? &fp : NULL };
    char err[256] = "";
    unsigned slot = 0;
    int r = vm_hot_add(c->vm, &h, &slot, err, sizeof(err));

    if (r)
        fprintf(stderr, "cellvm-core: %s\n", err);
    send_added(c, a->id, r, err, a->pci_segment, slot);
}

/* vm.add-pmem (issue 20): fd is the file (validated: exactly one), taken over; answered
 * DeviceAdded like any hot-added device. */
static void add_pmem(struct core *c, const Cellvm__PmemDevice *d, int fd)
{
    const struct vm_pmem_hot p = { .id = d->id,
                                   .fd = fd,
                                   .size = d->size,
                                   .discard_writes = d->discard_writes,
                                   .pci_segment = (uint16_t)d->pci_segment };
    char err[256] = "";
    unsigned slot = 0;
    int r = vm_pmem_hot_add(c->vm, &p, &slot, err, sizeof(err));

    if (r)
        fprintf(stderr, "cellvm-core: %s\n", err);
    send_added(c, d->id, r, err, d->pci_segment, slot);
}

/* vm.remove-device: the guest is asked; DeviceEjected follows its eject (or comes now with an
 * errnum). */
static void hot_remove(struct core *c, const char *id)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceEjected de = CELLVM__DEVICE_EJECTED__INIT;
    int r = vm_hot_remove(c->vm, id);

    if (!r)
        return;
    de.id = (char *)id;
    de.errnum = -r;
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_EJECTED;
    env.device_ejected = &de;
    (void)send_simple(c->chan, &env);
}

/* vm.resize (issue 17): answered VmResizeDone. */
static void resize(struct core *c, const Cellvm__VmResize *m)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VmResizeDone done = CELLVM__VM_RESIZE_DONE__INIT;
    char err[256] = "";
    int r = m->desired_vcpus ? vm_resize_vcpus(c->vm, m->desired_vcpus, err, sizeof(err)) : 0;

    printable(err);
    done.errnum = r < 0 && -r < 4096 ? -r : 0;
    done.message = err;
    env.body_case = CELLVM__ENVELOPE__BODY_VM_RESIZE_DONE;
    env.vm_resize_done = &done;
    (void)send_simple(c->chan, &env);
}

/* vm.resize desired_ram (issue 17): fd is the new RAM's memfd (validated: exactly one),
 * taken over by vm_add_memory; answered MemoryAdded. */
static void add_memory(struct core *c, const Cellvm__AddMemory *m, int fd)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__MemoryAdded done = CELLVM__MEMORY_ADDED__INIT;
    char err[256] = "";
    uint64_t gpa = 0;
    int r = vm_add_memory(c->vm, fd, m->size, &gpa, err, sizeof(err));

    if (r)
        fprintf(stderr, "cellvm-core: memory hotplug: %s\n", err);
    printable(err);
    done.errnum = r < 0 && -r < 4096 ? -r : r ? EIO : 0;
    done.message = err;
    done.gpa = r ? 0 : gpa;
    done.size = r ? 0 : m->size;
    env.body_case = CELLVM__ENVELOPE__BODY_MEMORY_ADDED;
    env.memory_added = &done;
    (void)send_simple(c->chan, &env);
}

/* vm.resize / vm.resize-zone with virtio-mem (issue 17): answered VirtioMemResized. */
static void virtio_mem_resize(struct core *c, const Cellvm__VirtioMemResize *m)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VirtioMemResized done = CELLVM__VIRTIO_MEM_RESIZED__INIT;
    char err[256] = "";
    int r = vm_vmem_resize(c->vm, m->index, m->requested_size, err, sizeof(err));

    printable(err);
    done.errnum = r < 0 && -r < 4096 ? -r : 0;
    done.message = err;
    env.body_case = CELLVM__ENVELOPE__BODY_VIRTIO_MEM_RESIZED;
    env.virtio_mem_resized = &done;
    (void)send_simple(c->chan, &env);
}

/* AttachDevice while running: the controller replaced a device process, or found an external
 * backend again (issue 19), or hot-adds a device (issue 16). */
static void reattach(struct core *c, const Cellvm__AttachDevice *a, int fd)
{
    char err[256] = "";
    int r;

    if (a->hotplug) {
        hot_add(c, a, fd);
        return;
    }
    if (a->reconnect && a->vfio_user) { /* a new vfiod: synchronous, here */
        r = vm_vfio_reconnect(c->vm, a->id, fd, err, sizeof(err));
        if (r)
            fprintf(stderr, "cellvm-core: %s\n", err);
        send_reconnected(c, a->id, r);
        return;
    }
    r = a->reconnect ? vm_reconnect_device(c->vm, a->id, fd, send_reconnected, c) : -EPROTO;
    if (!a->reconnect)
        close(fd);
    if (r)
        send_reconnected(c, a->id, r);
}

/* vm.snapshot (issue 18): fds are state.json and memory-ranges (validated: exactly two), closed
 * here once written; answered SnapshotDone. */
static void snapshot(struct core *c, int *fds)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__SnapshotDone done = CELLVM__SNAPSHOT_DONE__INIT;
    char err[256] = "";
    int r = vm_snapshot(c->vm, fds[0], fds[1], err, sizeof(err));

    ipc_close_fds(fds, 2);
    if (r)
        fprintf(stderr, "cellvm-core: %s\n", err);
    printable(err);
    done.errnum = r < 0 && -r < 4096 ? -r : r ? EIO : 0;
    done.message = err;
    env.body_case = CELLVM__ENVELOPE__BODY_SNAPSHOT_DONE;
    env.snapshot_done = &done;
    (void)send_simple(c->chan, &env);
}

/* The received fd of this role, taken out of c->fds (the caller owns it now), or -1. */
static int take_fd(struct core *c, Cellvm__CoreFd role)
{
    const Cellvm__CoreConfig *cfg = c->cfg_env->core_config;

    for (size_t i = 0; i < cfg->n_fds && i < c->nfds; i++)
        if (cfg->fds[i] == role) {
            int fd = c->fds[i];

            c->fds[i] = -1;
            return fd;
        }
    return -1;
}

/* Until the channel or the guest's hotplug eject fd is readable: 1 for the channel, 0 after an
 * eject was handled. */
static int wait_control(struct core *c)
{
    struct pollfd p[2] = { { .fd = c->chan, .events = POLLIN },
                           { .fd = vm_hotplug_fd(c->vm), .events = POLLIN } };

    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return 1; /* the read that follows reports the channel's state */
        if (p[1].revents) {
            vm_hotplug_ejects(c->vm, send_ejected, c);
            return 0;
        }
        if (p[0].revents)
            return 1;
    }
}

/* Watches the control channel while the vCPUs run: Shutdown, or the controller going away,
 * stops the VM. */
static void *control_thread(void *arg)
{
    struct core *c = arg;

    c->mig = (struct core_mig){ .chan = c->chan, .vm = c->vm };
    if (c->cfg_env->core_config->migrate) {
        /* vm.receive-migration: Complete comes before anything else matters. */
        core_migrate_finish(&c->mig, take_fd(c, CELLVM__CORE_FD__CORE_FD_MIGRATION));
        if (c->mig.stop) {
            vm_request_stop(c->vm);
            return NULL;
        }
    }
    for (;;) {
        Cellvm__Envelope *env;
        int fds[2];
        size_t nfds;
        const char *why = NULL;
        int r;

        if (!wait_control(c))
            continue;
        r = ipc_recv_envelope(c->chan, &env, fds, 2, &nfds, &why);

        /* A bad message is dropped; anything else means the channel is gone. */
        if (r && r != -EINVAL && r != -EBADMSG && r != -EMSGSIZE) {
            vm_request_stop(c->vm);
            return NULL;
        }
        if (r) {
            fprintf(stderr, "control message rejected: %s\n", why);
            continue;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_SHUTDOWN) {
            ipc_free_envelope(env);
            vm_request_stop(c->vm);
            return NULL;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_VM_SNAPSHOT) {
            snapshot(c, fds);
            ipc_free_envelope(env);
            continue;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_VM_MIGRATE) {
            core_migrate_send(&c->mig, env->vm_migrate, fds[0]); /* validated: one fd */
            ipc_free_envelope(env);
            if (c->mig.stop) {
                vm_request_stop(c->vm);
                return NULL;
            }
            continue;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_VM_CONTROL) {
            vm_control(c, env->vm_control->op);
            ipc_free_envelope(env);
            continue;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_VFIO_DETACH) {
            /* Answered like a reconnection: the controller waits for it to reopen the group. */
            send_reconnected(c, env->vfio_detach->id, vm_vfio_detach(c->vm, env->vfio_detach->id));
            ipc_free_envelope(env);
            continue;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_ATTACH_DEVICE) {
            reattach(c, env->attach_device, fds[0]); /* validated: exactly one fd */
            ipc_free_envelope(env);
            continue;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_VM_RESIZE) {
            resize(c, env->vm_resize);
            ipc_free_envelope(env);
            continue;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_ADD_MEMORY) {
            add_memory(c, env->add_memory, fds[0]); /* validated: exactly one fd */
            ipc_free_envelope(env);
            continue;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_ADD_PMEM) {
            add_pmem(c, env->add_pmem->pmem, fds[0]); /* validated: exactly one fd */
            ipc_free_envelope(env);
            continue;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_VIRTIO_MEM_RESIZE) {
            virtio_mem_resize(c, env->virtio_mem_resize);
            ipc_free_envelope(env);
            continue;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_DEVICE_REMOVE) {
            hot_remove(c, env->device_remove->id);
            ipc_free_envelope(env);
            continue;
        }
        fprintf(stderr, "unexpected control message %d ignored\n", (int)env->body_case);
        ipc_free_envelope(env);
    }
}

static void send_exit(int chan, Cellvm__ExitStatus__Reason reason, int code, const char *msg)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__ExitStatus st = CELLVM__EXIT_STATUS__INIT;

    st.reason = reason;
    st.code = code;
    st.message = (char *)msg;
    env.body_case = CELLVM__ENVELOPE__BODY_EXIT_STATUS;
    env.exit_status = &st;
    (void)send_simple(chan, &env);
}

static int run(struct core *c)
{
    Cellvm__Envelope ready = CELLVM__ENVELOPE__INIT;
    Cellvm__Ready rd = CELLVM__READY__INIT;
    char err[256] = "";
    const char *why = NULL;
    pthread_t ctl;
    int r;

    r = send_hello(c->chan);
    if (r)
        return r;
    r = ipc_recv_envelope(c->chan, &c->cfg_env, c->fds, PB_MAX_CORE_FDS, &c->nfds, &why);
    if (r) {
        fprintf(stderr, "bad configuration from the controller: %s\n", why);
        return r;
    }
    if (c->cfg_env->body_case != CELLVM__ENVELOPE__BODY_CORE_CONFIG) {
        fprintf(stderr, "expected the core configuration first\n");
        return -EPROTO;
    }
    mark(c, "core: configuration received");
    r = receive_devices(c, c->cfg_env->core_config->attach_count);
    if (r)
        return r;
    r = build_vm(c, err, sizeof(err));
    if (r) {
        if (!c->error_sent)
            send_error(c->chan, -r, err);
        return r;
    }
    mark(c, "core: VM built (kernel loaded, devices connected)");
    ready.body_case = CELLVM__ENVELOPE__BODY_READY;
    ready.ready = &rd;
    r = send_simple(c->chan, &ready);
    if (r)
        return r;
    r = vm_thread_start(&ctl, control_thread, c);
    if (r)
        return r;
    mark(c, "core: vCPUs start");
    r = vm_run(c->vm, err, sizeof(err));
    if (r == VM_RESULT_POWEROFF)
        send_exit(c->chan, CELLVM__EXIT_STATUS__REASON__REASON_POWEROFF, 0, "guest powered off");
    else if (r == VM_RESULT_STOPPED)
        send_exit(c->chan, CELLVM__EXIT_STATUS__REASON__REASON_SHUTDOWN, 0, "stopped");
    else
        send_exit(c->chan, CELLVM__EXIT_STATUS__REASON__REASON_ERROR, 1, err);
    /* The control thread uses the VM: end its read (it sees end of stream) and wait for it
     * before the caller destroys the VM. */
    shutdown(c->chan, SHUT_RD);
    pthread_join(ctl, NULL);
    return r < 0 ? r : 0;
}

static int parse_args(int argc, char **argv, int *chan)
{
    static const struct option opts[] = {
        { "channel-fd", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    int o;

    *chan = -1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        long v;

        if (o != 'c')
            return -EINVAL;
        errno = 0;
        v = strtol(optarg, &end, 10);
        if (errno || *end || v < 3 || v > 1024)
            return -EINVAL;
        *chan = (int)v;
    }
    return *chan >= 0 && optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
    struct core c = { .chan = -1, .t0 = startup_origin() };
    int r;

    if (parse_args(argc, argv, &c.chan)) {
        fprintf(stderr, "usage: cellvm-core --channel-fd N (started by cellvm, not by hand)\n");
        return 2;
    }
    /* A peer that closes its end (a migration stream, a pipe a vhost-user backend answered
     * DEVICE_STATE with) is -EPIPE from write, never the end of the VM. */
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < PB_MAX_CORE_FDS; i++)
        c.fds[i] = -1;
    core_layout_init(&c.layout);
    core_jail_init(&c.jail);
    r = run(&c);
    if (c.vm)
        vm_destroy(c.vm);
    core_layout_release(&c.layout);
    core_jail_release(&c.jail);
    for (size_t i = 0; i < c.nvirtio; i++)
        close(c.virtio[i].sock);
    for (size_t i = 0; i < c.nvfio; i++)
        close(c.vfio[i].sock);
    for (size_t i = 0; i < PB_MAX_ATTACH; i++)
        ipc_free_envelope(c.attach_env[i]);
    ipc_close_fds(c.fds, c.nfds);
    ipc_free_envelope(c.cfg_env);
    close(c.chan);
    return r < 0 ? 1 : 0;
}
