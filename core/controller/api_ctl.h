/* The controller's side of the REST API: it owns the --api-socket listener, starts and watches
 * cellvm-api, and answers its validated ApiRequests with the VM lifecycle Cloud Hypervisor has
 * (no VM, Created, Running, Paused, Shutdown). The VM itself is booted and stopped through the
 * controller's callbacks. */
#ifndef CELLVM_CORE_CONTROLLER_API_CTL_H
#define CELLVM_CORE_CONTROLLER_API_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "control.pb-c.h"
#include "core/cli/cli.h"
#include "core/controller/devices.h"
#include "core/controller/event_monitor.h"
#include "core/controller/launch.h"
#include "core/controller/supervise.h"

struct mig_connect;

struct api_ctl_ops {
    /* Boots the VM the controller's configuration describes; the answer comes later
     * (api_ctl_vm_ready or api_ctl_boot_failed). 0, or -errno with err when it is refused. */
    int (*boot)(void *arg, char *err, size_t errlen);
    /* The running core, or NULL. */
    struct sv_child *(*core)(void *arg);
    /* Stops the VM's processes, the VMM staying; api_ctl_vm_ended follows. 0 or -errno. */
    int (*stop)(void *arg);
};

enum api_vm { API_VM_NONE, API_VM_CREATED, API_VM_RUNNING, API_VM_PAUSED, API_VM_SHUTDOWN };

struct event;

/* How long a device process may take to answer: counters are answered without the devices
 * still silent after API_COUNTERS_MS; a resize not answered after API_RESIZE_MS fails. */
#define API_COUNTERS_MS    500
#define API_RESIZE_MS      10000
#define API_COUNTERS_NAMES 10

/* One device's counters as its DeviceStats gave them, under Cloud Hypervisor's names. */
struct api_dev_counters {
    bool got;
    size_t n;                 /* names and values used */
    const char *const *names; /* a const table of api_dev.c */
    uint64_t v[API_COUNTERS_NAMES];
};

struct api_ctl {
    bool enabled;           /* --api-socket given; set by the caller after parsing */
    struct child proc;      /* cellvm-api */
    struct sv_child svc;    /* its supervision */
    int listen_fd;          /* the API socket; owned until handed to cellvm-api */
    char *unlink_path;      /* a path= socket we bound, removed at exit; owned */
    struct cli_config *cfg; /* the controller's configuration, replaced by vm.create; borrowed */
    const struct api_ctl_ops *ops;
    void *arg;
    struct evmon *evmon; /* --event-monitor; borrowed, or NULL */
    enum api_vm state;
    bool configured;
    bool vm_stopping;    /* vm.shutdown/vm.delete asked the core to stop */
    bool delete_after;   /* ... and the VM is forgotten once it has */
    uint64_t boot_id;    /* vm.boot, answered when the core is Ready, 0 if none */
    uint64_t stop_id;    /* the request answered when the core has stopped, 0 if none */
    uint64_t control_id; /* the request waiting for VmControlDone, 0 if none */
    Cellvm__ApiEndpoint control_ep;
    struct devices *devs; /* the VM's device rows (set by the caller); borrowed */
    bool landlocked;      /* --landlock restricted the controller: EACCES answers say so */
    uint64_t resize_id;   /* vm.resize-disk waiting for its device, 0 if none */
    struct device *resize_dev;
    uint64_t vm_resize_id;   /* vm.resize waiting for the core (resize.c), 0 if none */
    uint32_t vm_resize_cpus; /* ... and the vCPU count it asked for (0: none) */
    uint64_t vm_resize_ram;  /* ... and the RAM size it asked for (0: none; resize.c) */
    uint64_t mem_added;      /* bytes of RAM hot-added since the VM booted (resize.c) */
    /* virtio-mem (resize_vmem.c): the vm.resize-zone waiting for the core (0: none), the zone
     * (index in cfg->zones) and its desired_ram; vm_resize_vmem: vm.resize's RAM step went to
     * the core as a VirtioMemResize. */
    uint64_t vm_resize_zone_id;
    uint32_t vm_resize_zone;
    uint64_t vm_resize_zone_ram;
    bool vm_resize_vmem;
    uint64_t counters_id; /* vm.counters waiting for device answers, 0 if none */
    size_t counters_owed;
    struct api_dev_counters *ctr;          /* one per device row while counters_id; owned */
    struct event *ev_resize, *ev_counters; /* the answer bounds above; owned */
    int *net_fds; /* TAP fds vm.add-net handed over, listed in cfg->nets[].fds; owned */
    size_t n_net_fds;
    /* Snapshot and restore (issue 18, snapshot.c). */
    uint64_t snapshot_id; /* vm.snapshot waiting for the core's SnapshotDone, 0 if none */
    int snapshot_dir;     /* its destination directory; owned, or -1 */
    bool restoring;       /* the VM being booted comes from a snapshot: it ends Paused */
    int restore_fd[2];    /* state.json and memory-ranges for the core; owned, or -1 */
    /* Live migration (issue 18, migration.c). */
    uint64_t mig_id;              /* send- or receive-migration waiting for its end, 0 if none */
    bool mig_source;              /* ... a send-migration */
    bool mig_local;               /* ... with local=true: guest memory went as fds */
    bool mig_released;            /* the source released its disks' image locks at the switch */
    bool mig_incoming;            /* the VM being built is a migration's destination */
    struct mig_connect *mig_conn; /* source: the connect to destination_url in progress; owned */
    int mig_fd;           /* destination: the source's connection until the core has it; owned */
    int mig_listen;       /* destination: the receiver_url listener; owned, or -1 */
    char *mig_path;       /* its socket file, removed once a source connected; owned */
    struct event *mig_ev; /* the listener's event; owned */
    int mig_memfd[8];     /* destination of a local migration: the zones' fds (MIG_MAX_MEMFDS) */
    uint32_t nmig_memfd;  /* ... owned until the boot takes them (migration_memfd.c) */
    /* vm.add-pmem on a booted VM (issue 20, hotplug_pmem.c): the request waiting for the
     * core's DeviceAdded (0: none), its device id, the bound on that wait (owned). */
    uint64_t pmem_req;
    char pmem_id[65];
    struct event *ev_pmem;
};

void api_ctl_init(struct api_ctl *a, struct cli_config *cfg, const struct api_ctl_ops *ops,
                  void *arg);

/* Answers request `id`; `error` NULL on success, rs NULL for an empty body. */
void api_ctl_respond(struct api_ctl *a, uint64_t id, uint32_t status, const char *error,
                     Cellvm__ApiResponse *rs);

/* Takes the disk, net, vsock, device or user device `dev_id` out of the configuration (a hot
 * add that failed, a removal that completed): api_cfg_remove_device(), and the TAP fds
 * vm.add-net gave for that net are closed. 0 or -ENOENT. */
int api_ctl_remove_device(struct api_ctl *a, const char *dev_id);

/* Binds path= (or takes fd=) of --api-socket. 0 or -errno with err. */
int api_ctl_open(struct api_ctl *a, char *err, size_t errlen);

/* Starts cellvm-api and watches it (stopped last, stage 2). 0 or -errno with err. */
int api_ctl_start(struct api_ctl *a, struct supervisor *sv, char *err, size_t errlen);

/* The VM was booted from the command line. */
void api_ctl_vm_booted(struct api_ctl *a);

/* The core is Ready: a pending vm.boot is answered. */
void api_ctl_vm_ready(struct api_ctl *a);

/* A message from the core the API waits for (VmControlDone): true when consumed. */
bool api_ctl_core_message(struct api_ctl *a, const Cellvm__Envelope *env);

/* The VM's processes have stopped after an API stop: answers the request, VM state Shutdown
 * (or none after vm.delete). */
void api_ctl_vm_ended(struct api_ctl *a);

/* The pending vm.boot failed and whatever it started has stopped: answered 500 with why, the
 * VM is Created again. */
void api_ctl_boot_failed(struct api_ctl *a, const char *why);

/* The VMM is ending: the events Cloud Hypervisor writes then (vm shutdown, vm deleted, vmm
 * shutdown) for the VM state it ends in. */
void api_ctl_vmm_ended(struct api_ctl *a);

/* vm.boot of the configuration there is (vm.restore's second half). */
void api_ctl_boot(struct api_ctl *a, uint64_t id);

/* The configuration vm.create or a restore brings replaces the current one, keeping what the
 * command line said about the VMM itself (API socket, event monitor, seccomp, logging); tmp is
 * taken over. */
void api_ctl_adopt_config(struct api_ctl *a, struct cli_config *tmp);

void api_ctl_close(struct api_ctl *a);

#endif
