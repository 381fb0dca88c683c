#ifndef CELLVM_DEVICE_PROCS_DEVPROC_H
#define CELLVM_DEVICE_PROCS_DEVPROC_H

/*
 * The device-process runtime: devproc_main() parses the command line, receives the device
 * configuration (standalone options or the controller's Configure message on fd 3), enters the
 * jail and serves vhost-user on a libevent loop. A device (blockd, netd, vsockd) supplies an ops
 * table and its own context; every callback runs on the control-loop thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"
#include "device-procs/devproc_jail.h"
#include "device-procs/virtq.h"

struct devproc;

struct devproc_ops {
    const char *name;        /* QEMU's backend type for --print-capabilities and logs: "block" */
    const char *spec_option; /* long option carrying the device spec: "disk", "net", "vsock" */
    uint32_t virtio_id;      /* virtio device id (2 = blk) */
    uint64_t features;       /* device feature bits incl. VIRTIO_F_VERSION_1, EVENT_IDX,
                                 INDIRECT_DESC; the runtime adds VHOST_USER_F_PROTOCOL_FEATURES */
    uint16_t max_queues;     /* GET_QUEUE_NUM; queues beyond it are refused */
    /* Protocol features the device wants on top of the runtime's base set (REPLY_ACK, MQ,
       CONFIGURE_MEM_SLOTS, INFLIGHT_SHMFD, RESET_DEVICE); CONFIG and BACKEND_REQ only make
       sense with get_config. */
    uint64_t protocol_features;
    uint32_t config_size; /* bytes of device config space, <= VHOST_USER_MAX_CONFIG */
    /* Keep the guest memory fds the frontend sends (devmem_host_file) rather than closing them
       once mapped: only for a device that gives guest pages back (the balloon punches holes). */
    bool keep_mem_fds;

    /*
     * The device spec (the value of --<spec_option>, or Configure.spec). In standalone mode
     * fds is NULL and nfds 0: the device opens what it needs itself, before the jail. From the
     * controller, fds[] holds Configure's fds in order; the device takes the ones it keeps by
     * setting fds[i] = -1, and the runtime closes the rest. 0 or -errno with err filled.
     */
    int (*parse_spec)(void *dev, const char *opt, const char *val, int *fds, size_t nfds, char *err,
                      size_t errlen);
    /*
     * From the controller only, after parse_spec: the spec's bw_* and ops_* buckets belong to the
     * --rate-limit-group `group`, whose shared state is the memfd fd (Configure's last fd; the
     * runtime closes it afterwards, a mapping of it stays valid). Devices without it refuse
     * such a Configure. 0 or -errno with err filled. Optional.
     */
    int (*rate_limit_group)(void *dev, const char *group, int fd, char *err, size_t errlen);
    /* From the controller only, before parse_spec: the VM is a live migration's destination
     * (issue 18), whose source still holds the image locks: open without locking (the
     * controller takes them on its dup of the description at the switch). Devices without it
     * refuse such a Configure. Optional. */
    void (*defer_image_lock)(void *dev);
    /* Called once before the jail, after the spec: the device may keep dp (for
       devproc_config_changed and friends) and do setup that needs privilege. Optional. */
    int (*prepare)(void *dev, struct devproc *dp, char *err, size_t errlen);

    /* Device config space [off, off + len), already bounds-checked against config_size. */
    int (*get_config)(void *dev, uint8_t *buf, uint32_t off, uint32_t len);
    /* A write from the frontend; flags is VHOST_USER_CONFIG_WRITABLE (guest) or _MIGRATION.
       Refuse (-EPERM) writes to read-only fields unless flags says migration. Optional. */
    int (*set_config)(void *dev, const uint8_t *buf, uint32_t off, uint32_t len, uint32_t flags);

    /* Features the frontend acked (SET_FEATURES), before any queue starts. Optional. */
    int (*set_features)(void *dev, uint64_t features);
    /*
     * The ring is set up and enabled: addresses translated, last_avail_idx set, kick and call fds
     * in vq. The device starts serving it (usually its own thread) and must check it once without
     * waiting for a kick. vq stays valid until stop_queue returns.
     */
    int (*start_queue)(void *dev, uint16_t idx, struct virtq *vq);
    /*
     * Returns only when the queue's thread no longer touches the ring and every request it popped
     * has been pushed (or the ring is broken), so GET_VRING_BASE can report last_avail_idx.
     * Called for GET_VRING_BASE, SET_VRING_ENABLE(0), memory table changes (the queue is started
     * again afterwards with the same state), fd changes, reset and disconnect.
     */
    int (*stop_queue)(void *dev, uint16_t idx);
    /* Back to the state after parse_spec: negotiated features and queues forgotten. Optional. */
    void (*reset)(void *dev);

    /*
     * Replaces the runtime's interim jail when set (netd enters sandbox/'s sbx_enter): called
     * once, single-threaded, after prepare and before the loop exists, with the fds the runtime
     * needs kept (listener, connection, control channel, its eventfd); the device adds its own.
     * 0 or -errno with err filled. Optional.
     */
    int (*jail)(void *dev, enum devproc_seccomp mode, const int *keep, size_t nkeep, char *err,
                size_t errlen);

    /* A device-specific control message (Resize, LinkState, BalloonTarget) from the controller.
       Optional. */
    int (*control)(void *dev, struct devproc *dp, const Cellvm__Envelope *msg);
    /*
     * vhost-user DEVICE_STATE (issue 18), both or neither (the feature is offered only with
     * both): the device's own state that neither the rings nor the config space hold, with
     * every queue stopped. save_state writes at most cap bytes to buf and returns their count
     * or -errno. load_state gets the payload a save_state of the same device type produced
     * with the same acked features (framing, version and checksum checked by the runtime); it
     * validates every field and returns 0, or -errno with the device left as it was. Optional.
     */
    int (*save_state)(void *dev, uint8_t *buf, size_t cap);
    int (*load_state)(void *dev, const uint8_t *buf, size_t len);

    /* Per-queue counters beyond the virtq's own, and rusage, for a Stats request. Optional. */
    void (*stats)(void *dev, Cellvm__DeviceStats *st);
};

/*
 * Runs the device process; returns the process exit status (0 after SIGTERM/SIGINT/Shutdown).
 *
 *   DEV --socket-path PATH --<spec_option> SPEC   listen on PATH, one frontend at a time,
 *                                                 accept the next after a disconnect
 *   DEV --fd N --<spec_option> SPEC               serve the connected socket N (exit on EOF)
 *   DEV --print-capabilities                      QEMU's vhost-user JSON, then exit
 *   DEV --control-fd 3 --fd N                     started by the controller: Hello on fd 3,
 *                                                 wait for Configure, jail, Ready, serve
 *   --seccomp=on|log|off                          interim jail's filter action (default log)
 */
int devproc_main(int argc, char **argv, const struct devproc_ops *ops, void *dev);

/*
 * Tells the frontend the config space changed (BACKEND_REQ CONFIG_CHANGE_MSG) when BACKEND_REQ
 * and CONFIG were negotiated; 0 if it was sent or nothing is connected / negotiated, -errno if
 * the send failed. Control-loop thread only.
 */
int devproc_config_changed(struct devproc *dp);

/*
 * Sends a device-specific message (BalloonActual) to the controller; 0 or -ENOTCONN standalone,
 * -errno if the send failed. Control-loop thread only.
 */
int devproc_send_control(struct devproc *dp, Cellvm__Envelope *env);

/*
 * Asks the controller to open a backing file (QCOW2 chains). Blocks for the answer on the
 * control channel; on success *fd is an O_CLOEXEC fd the caller owns. -ENOTCONN standalone
 * (open it yourself before the jail), -errno from the controller's Error otherwise.
 */
int devproc_open_backing_file(struct devproc *dp, const char *path, bool read_only, int *fd);

/*
 * Marks the device as needing a reset (a broken ring); logged and reported to the controller.
 * Safe from any thread.
 */
void devproc_needs_reset(struct devproc *dp, uint16_t queue, int err);

/*
 * A device without data-path threads (rngd) serves a queue from the control loop: cb(fd, what,
 * arg) runs there each time fd is readable (level-triggered) until devproc_unwatch(). Only
 * while serving (start_queue and later), control-loop thread only. The callback bounds its own
 * work and, to come back for the rest, writes to the fd (a kick eventfd) instead of looping.
 * devproc_watch: 0 with *ev, or -errno. devproc_unwatch: frees *ev (NULL is fine), sets NULL.
 */
struct event;
typedef void (*devproc_watch_fn)(int fd, short what, void *arg);
int devproc_watch(struct devproc *dp, int fd, devproc_watch_fn cb, void *arg, struct event **ev);
/* The same for fd becoming writable (consoled's output to a host side that was full). */
int devproc_watch_write(struct devproc *dp, int fd, devproc_watch_fn cb, void *arg,
                        struct event **ev);
void devproc_unwatch(struct event **ev);

#endif
