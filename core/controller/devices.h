#ifndef CELLVM_CORE_CONTROLLER_DEVICES_H
#define CELLVM_CORE_CONTROLLER_DEVICES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "control.pb-c.h"
#include "core/cli/cli.h"
#include "core/controller/launch.h"
#include "core/controller/respawn.h"
#include "core/controller/rl_group.h"
#include "core/controller/supervise.h"
#include "core/controller/vu_reconnect.h"
#include "core/controller/vsock_relay.h"
#include "devspec/backing.h"
#include "validate.h"
#include "validate_device.h"

/*
 * The VM's devices as the controller sees them: one row per --disk, --net, --vsock and
 * --device, each either a device process the controller starts (cellvm-blockd with its image
 * fd, cellvm-netd with one TAP fd per queue pair, cellvm-vsockd with its listening socket,
 * cellvm-vfiod with the VFIO container and group; each with its end of a vhost-user (vfio-user
 * for vfiod) socketpair and its control channel) or an external vhost-user backend
 * (vhost_user=on,socket=PATH) the controller connects to. Either way the core gets one
 * connected socket per device in an AttachDevice message.
 */

struct dev_kind; /* the per-kind table row in devices.c */
struct console_host;
struct event;

#define DEVICES_MAX_PENDING 8 /* open requests per device; a device owing more gets no more */
#define DEVICES_MAX_ROWS    PB_MAX_ATTACH /* rows of one VM, boot and hot-added together */

/* PCI hotplug (hotplug.c) of a row: where it is between the API request and its end. */
enum dev_hot {
    DEV_HOT_NONE,      /* at boot, or fully added */
    DEV_HOT_STARTING,  /* hot-added: its process is starting, not Ready yet */
    DEV_HOT_ATTACHING, /* hot-added: the core has its connection, DeviceAdded not back yet */
    DEV_HOT_REMOVING,  /* vm.remove-device: the guest was asked to eject it */
    DEV_HOT_ENDING,    /* out of the VM: its process is being ended */
};

struct device {
    const struct dev_kind *kind;
    char id[PB_MAX_ID_LEN + 1];
    char spec[PB_MAX_SPEC_LEN + 1];  /* DeviceConfigure.spec */
    int data_fds[PB_MAX_DEVICE_FDS]; /* image, TAPs, vsock listener, VFIO container, group and
                                      * device: kept for a replacement (respawn.h) */
    size_t ndata;
    int core_sock; /* frontend end of the vhost-user socket; owned until sent to the core */
    int dev_sock;  /* backend end; owned until the child is spawned */
    uint32_t virtio_id, num_queues, queue_size, pci_segment;
    bool external;
    bool iommu;      /* iommu=on: behind the virtio-iommu */
    char fs_tag[37]; /* --fs rows: the mount tag the core puts in the device's config */
    /* --device rows (VFIO): the core gets a vfio-user connection, vfiod the container and
     * group fds as data_fds (closed here once sent: vfiod is not respawned), and the IOMMU
     * group (one --device per group) and the RLIMIT_MEMLOCK vfiod needs. */
    bool vfio_user;
    unsigned vfio_group;
    uint64_t memlock;
    /* Disks in a --rate-limit-group: its id (DeviceConfigure.rate_limit_group; "" if none);
     * the group's region is the last of data_fds (a dup). */
    char rl_group[PB_MAX_ID_LEN + 1];
    /* Open-backing-file policy (disks): backing_files=, the image's directory and identity. */
    struct backing_policy policy;
    char image_dir[PATH_MAX];
    struct child proc;
    struct sv_child svc;
    bool configured, ready;
    /* Net rows: the TAP's ifindex (0: unknown, not watched) and whether the host link is down
     * (the state netd was last told, or will be told once ready). See linkwatch.h. */
    int tap_ifindex;
    bool link_down;
    /* The balloon row: bytes in the balloon as the guest last said (BalloonActual). */
    uint64_t balloon_actual;
    /* CLOCK_MONOTONIC ms the liveness probe now outstanding went out, 0 if none (liveness.h). */
    uint64_t probe_ms;
    /* Requests sent with devices_request() whose closing DeviceStats has not come back yet, and
     * the errno of an Error the device sent while one was open (0 if none). */
    unsigned pending;
    int req_errnum;
    uint8_t tags[DEVICES_MAX_PENDING]; /* the caller's tag of each open request, oldest first */
    /* Vsock rows: the socket file the controller bound ("" if none) and its identity; closing
     * removes it only while it is still that file. The PATH_<port> listeners are the user's. */
    char bound_path[108];
    dev_t bound_dev;
    ino_t bound_ino;
    /* Vsock rows: connects to <socket>_<port> for the daemon (its second data fd is the other
     * end of this channel), as the invoking user. */
    struct vsock_relay relay;
    /* Replacing the process when it dies while the VM runs (respawn.h). */
    struct respawn rs;
    /* External rows: finding the backend again when it goes away (vu_reconnect.h). */
    struct vu_reconnect vr;
    /* Hotplug (hotplug.c): the row's state and the API request its answer closes (0: none);
     * unused: a free row (never used, or its device was removed). */
    enum dev_hot hot;
    uint64_t hot_req;
    uint16_t hot_err_status; /* what a failed hot add answers: 404 (VFIO) or 500, per the API */
    bool hot_removed;        /* ENDING: the guest ejected it (device-removed follows the exit),
                              * rather than a failed add being undone */
    struct event *hot_timer; /* the bound on the step in progress; owned */
    void *hot_owner;         /* the struct api_ctl the timer reports to */
    bool unused;
};

/* devices_request() tag of the controller's own liveness probes (liveness.h); the API's are
 * small numbers. */
#define DEVICES_TAG_LIVENESS 0xffu

/* A device's answer to devices_request(tag): errnum 0 or the positive errno of the Error it sent
 * before the closing DeviceStats; st is valid for the call only. */
typedef void (*devices_reply_fn)(void *arg, struct device *dv, uint8_t tag, int errnum,
                                 const Cellvm__DeviceStats *st);

struct devices {
    struct device *v; /* owned, room for DEVICES_MAX_ROWS; rows never move */
    size_t n;         /* rows in use or freed by a removal (unused) */
    /* --rate-limit-group regions, made when a member opens */
    struct rl_groups rl_groups;
    Cellvm__SeccompMode seccomp;
    uint32_t verbosity;
    /* A live migration's destination (issue 18): disks open their image unlocked (the source
     * holds the locks until the switch; migration.c takes them then). */
    bool defer_image_lock;
    devices_reply_fn on_reply; /* set by the request's owner (the API); NULL drops answers */
    void *reply_arg;
    struct sv_child *core;   /* set by devices_attach: where reconnections go; borrowed */
    struct evmon *evmon;     /* device-respawned/-disconnected events; borrowed, or NULL */
    struct spawner *spawner; /* --landlock: processes start through it; borrowed, or NULL */
    /* The VM's network namespace for its processes (launch.h); borrowed, or NULL. */
    const struct sbx_netns *netns;
    /* The VM is being stopped while the VMM stays (vm_stop.h): an exit is neither respawned
     * nor the VMM's end; on_gone(gone_arg) is told of each. */
    bool stopping;
    void (*on_gone)(void *arg);
    void *gone_arg;
    /* Hotplug (hotplug.c): a hot-added row's process is Ready (st < 0) or a hot row's process
     * exited with wait status st. */
    void (*on_hot)(void *arg, struct device *dv, int st);
    void *hot_arg;
    /* --console: what the controller opened for it (console_host.h), set before devices_open;
     * the console row gets dups. Borrowed; NULL: no console row. */
    const struct console_host *console;
    /* liveness.h: its timer (owned), the supervisor it drains, when it last ran. */
    struct event *ev_live;
    struct supervisor *live_sv;
    uint64_t live_ms;
};

void devices_init(struct devices *d);

/* Opens every data fd, creates the socketpairs and connects to external backends. 0 or -errno
 * with one line in err. */
int devices_open(struct devices *d, const struct cli_config *cfg, char *err, size_t errlen);

/* Starts one process per non-external device and watches it (stage 1: stopped after the
 * core). 0 or -errno with err. */
int devices_spawn(struct devices *d, struct supervisor *sv, char *err, size_t errlen);

/* Sends the core one AttachDevice per device and drops the controller's copy of each core
 * socket. 0 or -errno. */
int devices_attach(struct devices *d, struct sv_child *core);
/* Sends the core dv's AttachDevice with its vhost-user connection fd (kept by the caller, which
 * closes it); reconnect: a replacement for a connection the core lost. 0 or -errno. */
int devices_send_attach(struct sv_child *core, struct device *dv, int fd, bool reconnect);

/* Hotplug: sends the core dv's AttachDevice (hotplug) with its connection, which is closed here
 * either way. 0 or -errno. */
int devices_send_hot_attach(struct sv_child *core, struct device *dv);

/* The started, ready device process with this id, or NULL (external backends have none; a
 * vfiod answers no requests: VFIO devices have no resize and no counters, as in CH). */
struct device *devices_find(struct devices *d, const char *id);

/*
 * Sends `req` (a Resize or NULL) and then a StatsRequest. The control channel is ordered, so
 * the DeviceStats that answers the StatsRequest closes the exchange: an Error before it is the
 * refusal of `req`, which then does not stop the VM. The answer comes to d->on_reply from the
 * controller's loop with `tag`; nothing here waits. 0 or -errno.
 */
int devices_request(struct device *dv, const Cellvm__Envelope *req, uint8_t tag);
/* Answers every request dv still owes with EIO (its process is gone or being stopped), so no
 * API call waits on a device that will not reply. */
void devices_fail_pending(struct devices *d, struct device *dv);

/* Records the host link state of a net row's TAP and, when it changed and the device is ready,
 * sends it a LinkState. 0 or -errno. */
int devices_set_link(struct device *dv, bool up);

/* Hotplug: a row for entry `index` of the configuration's disks (kind 0), nets (1), vsock
 * (2, index 0), devices (3), user devices (4) or virtio-fs (5), opened as devices_open does (a free row is used
 * again). 0 with *out, or -errno with err and no row taken. */
int devices_open_one(struct devices *d, const struct cli_config *cfg, unsigned kind, size_t index,
                     struct device **out, char *err, size_t errlen);
/* Starts and watches the process of one row (devices_spawn for a hot-added row). 0 or -errno
 * with err. */
int devices_spawn_one(struct devices *d, struct supervisor *sv, struct device *dv, char *err,
                      size_t errlen);
/* Rebuilds the balloon row's spec from cfg->balloon (a vm.resize changed its size: a
 * replacement starts with it). 0 or -ENAMETOOLONG. */
int devices_balloon_spec(struct device *dv, const struct cli_config *cfg);

/* The row (in use) with this id, whatever its kind and state, or NULL. */
struct device *devices_row(struct devices *d, const char *id);
/* Closes every fd the row holds (its process must be gone and unwatched) and frees it. */
void devices_release(struct device *dv);

/* Starts dv's process with dv->dev_sock (closed here once the child holds it) and its
 * control channel in dv->proc. 0 or -errno with err. */
int devices_start_process(struct device *dv, char *err, size_t errlen);

void devices_close(struct devices *d);

/* The guest has ended (the core reported its exit): every net device's process is asked to
 * stop and the controller's TAP fds close now, so the kernel removes a TAP cellvm created
 * (RCU grace periods, 15 ms and more) while the other processes stop, before their network
 * namespaces' teardown, which contends with it for the same locks. */
void devices_stop_net(struct devices *d);

#endif
