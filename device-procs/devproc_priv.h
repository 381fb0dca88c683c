#ifndef CELLVM_DEVICE_PROCS_DEVPROC_PRIV_H
#define CELLVM_DEVICE_PROCS_DEVPROC_PRIV_H

/* The device-process context, shared by devproc.c (loop, args) and devproc_ctl.c (control). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "device-procs/devproc.h"
#include "device-procs/devproc_jail.h"
#include "device-procs/vu_backend.h"

struct event_base;
struct event;

struct devproc {
    const struct devproc_ops *ops;
    void *dev;
    struct vu_backend *vu; /* owned */
    int listen_fd;         /* owned: --socket-path listener, -1 otherwise */
    int conn_fd;           /* owned: the current frontend connection, -1 if none */
    int ctl_fd;            /* owned: control channel to the controller (or, standalone, the
                              --control-socket connection being served), -1 if none */
    int ctl_listen_fd;     /* owned: standalone --control-socket listener, -1 otherwise */
    int notify_fd;         /* owned: eventfd device threads poke (needs_reset) */
    char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    enum devproc_seccomp seccomp;
    struct event_base *base; /* owned, like every event below */
    struct event *ev_listen, *ev_conn, *ev_ctl, *ev_notify, *ev_term, *ev_int, *ev_ctl_listen;
    struct event *ev_xfer; /* owned: the DEVICE_STATE pipe while a transfer moves bytes */
    int xfer_fd;           /* borrowed from dp->vu: the fd ev_xfer watches, -1 if none */
    uint32_t reset_queue;  /* atomics: last needs_reset report */
    int32_t reset_err;
    int exit_code;
    uint64_t t0;  /* the controller's start (ipc/startup.h), 0 standalone */
    bool verbose; /* the controller's -v: start-up phases on stderr */
};

/* Control channel: Hello, then the Configure handshake (blocking). 0 or -errno. */
int devproc_ctl_hello(struct devproc *dp);
int devproc_ctl_configure(struct devproc *dp, char *err, size_t errlen);
int devproc_ctl_ready(struct devproc *dp);
/* Reports a fatal setup error to the controller (best effort). */
void devproc_ctl_error(struct devproc *dp, int errnum, const char *msg);
/* Handles one control message while serving; -errno ends the loop. */
int devproc_ctl_handle(struct devproc *dp);
/* DeviceEvent to the controller (best effort, no-op standalone). */
void devproc_ctl_event(struct devproc *dp, int kind, uint32_t queue, int errnum);

#endif
