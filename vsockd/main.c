/* cellvm-vsockd: the virtio-vsock device process with Cloud Hypervisor's hybrid unix-socket
 * protocol. The device-process runtime (devproc_main) owns the command line, the jail and the
 * vhost-user socket; this file turns a --vsock spec into the host socket and the device model,
 * and starts the data-plane thread when the frontend starts a ring. Queues: rx 0, tx 1; the
 * event queue (transport reset) stays with the frontend, as with QEMU's vhost-user-vsock.
 *
 * From the controller, DeviceConfigure carries option "vsock", the spec with the socket path
 * as the user gave it (its file name names the PATH_<port> sockets) and optionally one fd: a
 * listening AF_UNIX stream socket already bound to that path, then the controller's end of the
 * connect channel (vconn.h): guests reach <socket>_<port> through the controller, which
 * connects as the invoking user. Without fds (standalone) the process binds the path itself
 * and forks its connector (connector.h), both before the jail; the jail then holds no host
 * directory at all.
 *
 * Transport reset. The event queue is the frontend's: cellvm's core keeps it (core/vm,
 * virtio_pci_vu.c) the way QEMU's vhost-user-vsock does: it lets the guest set it up and post
 * its buffers and never hands it to this process. A guest-initiated reset, a reboot or a
 * frontend that disconnects resets the device (vsockd_reset below drops every stream, and the
 * guest forgets its own). When this process is replaced while the guest keeps its state (a
 * respawn, an external backend reconnected, a restored snapshot or a migration's destination,
 * issue 18), the new process starts with no streams, so the core, once the rings run again,
 * posts one VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (le32 id 0) so that the guest resets its sockets
 * and re-reads guest_cid, as QEMU does after a migration (core/vm/virtio_pci_rc.c). Nothing in
 * this process has to change for that. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device-procs/devproc.h"
#include "device-procs/devproc_util.h"
#include "devspec/devspec.h"
#include "sandbox/jail.h"
#include "vsockd/connector.h"
#include "vsockd/host_unix.h"
#include "vsockd/vconn.h"
#include "vsockd/vsock.h"
#include "vsockd/worker.h"

#define VIRTIO_ID_VSOCK        19
#define VIRTIO_F_VERSION_1     32
#define VIRTIO_RING_F_INDIRECT 28
#define VIRTIO_RING_F_EVENT    29
#define VHOST_USER_PF_CONFIG   (1ull << 9)
#define VSOCKD_CONFIG_SIZE     8 /* struct virtio_vsock_config: le64 guest_cid */
#define VSOCKD_MAX_KEEP        16

struct vsockd {
    struct vsock_dev *dev; /* owned */
    struct vsock_worker w;
    bool worker_ready;
    uint64_t cid;
    char *host_dir;    /* owned: the socket directory, absolute: where the connector looks */
    char *host_name;   /* owned: the socket's file name: the connector reaches <name>_<port> */
    bool standalone;   /* no controller: fork a connector before the jail */
    struct vconn conn; /* to whoever connects for us; used by the data-plane thread only */
};

/* "dir/name" -> dir and name; a bare name lives in ".". */
static int split_path(const char *path, char **dir, char **name)
{
    const char *slash = strrchr(path, '/');

    *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    *name = strdup(slash ? slash + 1 : path);
    if (!*dir || !*name)
        return -ENOMEM;
    return **name ? 0 : -EINVAL;
}

static int setup(struct vsockd *v, const struct cli_vsock *cv, int *fds, size_t nfds, char *err,
                 size_t errlen)
{
    struct vsock_cfg cfg = { .guest_cid = cv->cid, .listen_fd = -1 };
    char *dir = NULL, *name = NULL;
    int r;

    r = split_path(cv->socket, &dir, &name);
    if (r < 0) {
        r = devproc_err(err, errlen, r, "--vsock: socket=%s: not a socket path", cv->socket);
        goto out;
    }
    if (nfds > 0) {
        cfg.listen_fd = fds[0];
        fds[0] = -1;
        /* The controller's listener: accept must never block the data-plane thread. */
        if (fcntl(cfg.listen_fd, F_SETFL, O_NONBLOCK) < 0) {
            r = devproc_err(err, errlen, -errno, "--vsock: listener fd: %s", strerror(errno));
            close(cfg.listen_fd);
            goto out;
        }
    } else {
        r = host_listen(cv->socket, &cfg.listen_fd);
        if (r < 0) {
            r = devproc_err(err, errlen, r, "--vsock: socket=%s: %s", cv->socket, strerror(-r));
            goto out;
        }
    }
    v->host_dir = realpath(dir, NULL);
    if (!v->host_dir) {
        r = devproc_err(err, errlen, -errno, "--vsock: socket=%s: %s", cv->socket, strerror(errno));
        close(cfg.listen_fd);
        goto out;
    }
    cfg.uds_dir = dir;
    cfg.uds_name = name;
    cfg.connect = vconn_connect;
    cfg.connect_arg = &v->conn;
    v->standalone = fds == NULL;
    if (nfds > 1) {
        vconn_set(&v->conn, fds[1], VCONN_CONTROLLER);
        fds[1] = -1;
    }
    v->host_name = name;
    name = NULL;
    r = vsock_dev_new(&cfg, &v->dev); /* takes the listener in every case */
    if (r < 0)
        r = devproc_err(err, errlen, r, "--vsock: %s", strerror(-r));
    v->cid = cv->cid;
out:
    free(dir);
    free(name);
    return r;
}

static int vsockd_parse_spec(void *devp, const char *opt, const char *val, int *fds, size_t nfds,
                             char *err, size_t errlen)
{
    struct vsockd *v = devp;
    struct cli_vsock cv;
    int r;

    if (strcmp(opt, "vsock") != 0)
        return devproc_err(err, errlen, -EINVAL, "unknown device option --%s", opt);
    if (v->dev)
        return devproc_err(err, errlen, -EINVAL, "%s", "one --vsock per process");
    r = cli_vsock_parse(val, &cv, err, errlen);
    if (r == 0)
        r = setup(v, &cv, fds, nfds, err, errlen);
    cli_vsock_free(&cv);
    return r;
}

static int vsockd_prepare(void *devp, struct devproc *dp, char *err, size_t errlen)
{
    struct vsockd *v = devp;
    int r;

    if (!v->dev)
        return devproc_err(err, errlen, -EINVAL, "%s", "--vsock cid=N,socket=PATH is required");
    r = vsock_worker_init(&v->w, v->dev, dp);
    if (r < 0)
        return devproc_err(err, errlen, r, "%s", "out of memory");
    v->worker_ready = true;
    return 0;
}

/* sandbox/'s jail with the vsockd profile and nothing mounted: host sockets are reached through
   the controller or, standalone, the connector forked here, which stays outside. */
static int vsockd_jail(void *devp, enum devproc_seccomp mode, const int *keep, size_t nkeep,
                       char *err, size_t errlen)
{
    struct vsockd *v = devp;
    int fds[VSOCKD_MAX_KEEP];
    size_t k = 0;
    int r, fd;
    struct sbx_config cfg = { .profile = SBX_PROFILE_VSOCKD };

    if (v->standalone) {
        r = vconn_spawn(v->host_dir, v->host_name, devproc_sbx_seccomp(mode), &fd);
        if (r < 0)
            return devproc_err(err, errlen, r, "connector: %s", strerror(-r));
        vconn_set(&v->conn, fd, VCONN_CONNECTOR);
    }
    for (size_t i = 0; i < nkeep && k < VSOCKD_MAX_KEEP; i++)
        fds[k++] = keep[i];
    k += vsock_dev_fds(v->dev, fds + k, VSOCKD_MAX_KEEP - k);
    if (k < VSOCKD_MAX_KEEP)
        fds[k++] = v->w.stop_fd;
    if (k < VSOCKD_MAX_KEEP && v->conn.fd >= 0)
        fds[k++] = v->conn.fd;
    if (k == VSOCKD_MAX_KEEP)
        return devproc_err(err, errlen, -EMFILE, "%s", "jail: too many fds to keep");
    cfg.keep_fds = fds;
    cfg.nkeep = k;
    cfg.seccomp = devproc_sbx_seccomp(mode);
    return sbx_enter(&cfg, err, errlen);
}

static int vsockd_get_config(void *devp, uint8_t *buf, uint32_t off, uint32_t len)
{
    struct vsockd *v = devp;
    uint64_t cid = htole64(v->cid);

    return devproc_config_read(&cid, sizeof(cid), off, buf, len);
}

static int vsockd_start_queue(void *devp, uint16_t idx, struct virtq *vq)
{
    struct vsockd *v = devp;

    if (idx > VSOCK_QUEUE_TX || !v->worker_ready)
        return -EINVAL;
    vsock_worker_stop(&v->w);
    v->w.vq[idx] = vq;
    return vsock_worker_start(&v->w);
}

static int vsockd_stop_queue(void *devp, uint16_t idx)
{
    struct vsockd *v = devp;

    if (idx > VSOCK_QUEUE_TX || !v->worker_ready)
        return -EINVAL;
    vsock_worker_stop(&v->w);
    v->w.vq[idx] = NULL;
    return vsock_worker_start(&v->w);
}

static void vsockd_reset(void *devp)
{
    struct vsockd *v = devp;

    if (v->worker_ready) {
        vsock_worker_stop(&v->w);
        v->w.vq[0] = v->w.vq[1] = NULL;
    }
    if (v->dev)
        vsock_reset(v->dev);
}

/*
 * DEVICE_STATE (issue 18), rings stopped: the guest CID, checked on load (the new process must
 * answer to the address the guest knows), and how many streams were open. Streams do not move:
 * their host ends belong to this process, so the new one starts with none, and the core posts
 * TRANSPORT_RESET on the event queue it keeps when the rings run again, so the guest drops
 * its ends too. Counters are not carried (vsockd exports none through vm.counters).
 */
struct vsockd_state {
    uint64_t cid;
    uint32_t streams;
    uint32_t reserved;
};

static int vsockd_save_state(void *devp, uint8_t *buf, size_t cap)
{
    struct vsockd *v = devp;
    struct vsockd_state st = { .cid = v->cid, .streams = v->dev ? vsock_conn_count(v->dev) : 0 };

    if (cap < sizeof(st))
        return -E2BIG;
    memcpy(buf, &st, sizeof(st));
    return (int)sizeof(st);
}

static int vsockd_load_state(void *devp, const uint8_t *buf, size_t len)
{
    struct vsockd *v = devp;
    struct vsockd_state st;

    if (len != sizeof(st))
        return -EINVAL;
    memcpy(&st, buf, sizeof(st));
    if (st.reserved)
        return -EINVAL;
    if (st.cid != v->cid) {
        fprintf(stderr, "cellvm-vsockd: device state of guest cid %llu, this device is cid %llu\n",
                (unsigned long long)st.cid, (unsigned long long)v->cid);
        return -EINVAL;
    }
    fprintf(stderr,
            "cellvm-vsockd: state loaded: cid %llu; %u stream(s) of the saved device dropped "
            "(the guest gets a transport reset)\n",
            (unsigned long long)st.cid, st.streams);
    return 0;
}

static const struct devproc_ops vsockd_ops = {
    .name = "vsock",
    .spec_option = "vsock",
    .virtio_id = VIRTIO_ID_VSOCK,
    .features =
        1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT | 1ull << VIRTIO_RING_F_EVENT,
    .max_queues = 2,
    .protocol_features = VHOST_USER_PF_CONFIG,
    .config_size = VSOCKD_CONFIG_SIZE,
    .parse_spec = vsockd_parse_spec,
    .prepare = vsockd_prepare,
    .get_config = vsockd_get_config,
    .start_queue = vsockd_start_queue,
    .stop_queue = vsockd_stop_queue,
    .reset = vsockd_reset,
    .jail = vsockd_jail,
    .save_state = vsockd_save_state,
    .load_state = vsockd_load_state,
};

int main(int argc, char **argv)
{
    struct vsockd v = { .dev = NULL };
    int status;

    vconn_init(&v.conn);
    status = devproc_main(argc, argv, &vsockd_ops, &v);
    vsockd_reset(&v);
    if (v.worker_ready)
        vsock_worker_destroy(&v.w);
    vsock_dev_free(v.dev);
    vconn_close(&v.conn);
    free(v.host_dir);
    free(v.host_name);
    return status;
}
