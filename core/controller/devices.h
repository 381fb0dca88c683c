#ifndef CELLVM_CORE_CONTROLLER_DEVICES_H
#define CELLVM_CORE_CONTROLLER_DEVICES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"
#include "core/cli/cli.h"
#include "core/controller/backing.h"
#include "core/controller/launch.h"
#include "core/controller/supervise.h"
#include "validate.h"
#include "validate_device.h"

/*
 * The VM's virtio devices as the controller sees them: one row per --disk, --net and --vsock,
 * each either a device process the controller starts (cellvm-blockd with its image fd,
 * cellvm-netd with one TAP fd per queue pair, cellvm-vsockd with its listening socket; each
 * with its end of a vhost-user socketpair and its control channel) or an external vhost-user
 * backend (vhost_user=on,socket=PATH) the controller connects to. Either way the core gets one
 * connected vhost-user socket per device in an AttachDevice message.
 */

struct dev_kind; /* the per-kind table row in devices.c */

struct device {
    const struct dev_kind *kind;
    char id[PB_MAX_ID_LEN + 1];
    char spec[PB_MAX_SPEC_LEN + 1];  /* DeviceConfigure.spec */
    int data_fds[PB_MAX_DEVICE_FDS]; /* image, TAPs, vsock listener; owned until sent */
    size_t ndata;
    int core_sock; /* frontend end of the vhost-user socket; owned until sent to the core */
    int dev_sock;  /* backend end; owned until the child is spawned */
    uint32_t virtio_id, num_queues, queue_size, pci_segment;
    bool external;
    /* Open-backing-file policy (disks): backing_files=, the image's directory and identity. */
    struct backing_policy policy;
    char image_dir[PATH_MAX];
    struct child proc;
    struct sv_child svc;
    bool configured, ready;
};

struct devices {
    struct device *v; /* owned */
    size_t n;
    Cellvm__SeccompMode seccomp;
    uint32_t verbosity;
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

void devices_close(struct devices *d);

#endif
