/*
 * SET_DEVICE_STATE_FD and CHECK_DEVICE_STATE in the backend (split from vu_backend.c): the
 * device's save_state framed into a blob and written to the frontend's pipe, or a blob read
 * from it, checked and handed to load_state, only while every ring is stopped. The pipe is
 * non-blocking; whatever it does not take or hold at once is moved by vu_backend_xfer_pump
 * when the owner's loop sees it ready. A transfer that fails, and a blob that is refused, are
 * answered by CHECK_DEVICE_STATE; the connection and the device go on as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device-procs/vu_backend_priv.h"
#include "device-procs/vu_devstate.h"

/* Pipe reads or writes per pump: a full 1 MiB blob in 64 KiB pipe loads fits well inside. */
#define XFER_STEPS 32

/* The features the device itself runs with: not bit 30, and not LOG_ALL, which a migration's
 * source has on while it saves and its destination never has while it loads. */
static uint64_t device_features(const struct vu_backend *b)
{
    return b->features &
           ~((1ull << VHOST_USER_F_PROTOCOL_FEATURES) | (1ull << VHOST_USER_F_LOG_ALL));
}

static void finish(struct vu_backend *b, int r, const char *why)
{
    struct vub_xfer *x = &b->xfer;

    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
    if (r && !x->result) {
        x->result = r;
        x->why = why;
    }
    free(x->buf);
    x->buf = NULL;
}

void vub_xfer_abort(struct vu_backend *b)
{
    finish(b, 0, NULL);
    b->xfer = (struct vub_xfer){ .fd = -1 };
}

static void apply_load(struct vu_backend *b)
{
    struct vub_xfer *x = &b->xfer;
    const uint8_t *payload;
    const char *why = NULL;
    uint32_t plen;
    int r;

    if (!vu_backend_suspended(b)) {
        finish(b, -EBUSY, "a ring was started during the load");
        return;
    }
    r = vu_devstate_open(x->buf, x->pos, (uint16_t)b->ops->virtio_id, device_features(b), &payload,
                         &plen, &why);
    if (!r) {
        r = b->ops->load_state(b->dev, payload, plen);
        why = "refused by the device";
    }
    if (!r)
        fprintf(stderr, "%s: device state loaded (%zu bytes)\n", b->ops->name, x->pos);
    finish(b, r, why);
}

void vu_backend_xfer_pump(struct vu_backend *b)
{
    struct vub_xfer *x = &b->xfer;

    for (int i = 0; i < XFER_STEPS && x->fd >= 0; i++) {
        ssize_t n;

        if (!x->load && x->pos == x->len) {
            fprintf(stderr, "%s: device state saved (%zu bytes)\n", b->ops->name, x->len);
            finish(b, 0, NULL); /* the frontend sees EOF */
            return;
        }
        if (x->load)
            n = read(x->fd, x->buf + x->pos, VU_DEVSTATE_MAX + 1 - x->pos);
        else
            n = write(x->fd, x->buf + x->pos, x->len - x->pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            finish(b, -errno, x->load ? "reading the state pipe" : "writing the state pipe");
            return;
        }
        if (x->load && n == 0) {
            apply_load(b);
            return;
        }
        if (n == 0) {
            finish(b, -EIO, "the state pipe takes no bytes");
            return;
        }
        x->pos += (size_t)n;
        if (x->load && x->pos > VU_DEVSTATE_MAX) {
            finish(b, -EFBIG, "the state is larger than 1 MiB");
            return;
        }
    }
}

int vu_backend_xfer_fd(const struct vu_backend *b, bool *write)
{
    *write = !b->xfer.load;
    return b->xfer.fd;
}

/* Takes fd over and starts the transfer; a failure is kept for CHECK_DEVICE_STATE. */
static int start(struct vu_backend *b, const struct vu_device_state *ds, int *fd)
{
    struct vub_xfer *x = &b->xfer;
    int fl, n;

    if (ds->phase != VHOST_USER_TRANSFER_STATE_PHASE_STOPPED ||
        ds->direction > VHOST_USER_TRANSFER_STATE_LOAD)
        return -EINVAL;
    if (!vu_backend_suspended(b))
        return -EBUSY;
    fl = fcntl(*fd, F_GETFL);
    if (fl < 0 || fcntl(*fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    x->buf = malloc(VU_DEVSTATE_MAX + 1);
    if (!x->buf)
        return -ENOMEM;
    x->fd = *fd;
    *fd = -1;
    x->load = ds->direction == VHOST_USER_TRANSFER_STATE_LOAD;
    if (!x->load) {
        n = b->ops->save_state(b->dev, x->buf + VU_DEVSTATE_HDR, VU_DEVSTATE_MAX - VU_DEVSTATE_HDR);
        if (n < 0 || n > (int)(VU_DEVSTATE_MAX - VU_DEVSTATE_HDR)) {
            finish(b, n < 0 ? n : -EFBIG, "the device could not save its state");
            return 0;
        }
        vu_devstate_seal(x->buf, (uint16_t)b->ops->virtio_id, device_features(b), (uint32_t)n);
        x->len = VU_DEVSTATE_HDR + (size_t)n;
    }
    vu_backend_xfer_pump(b);
    return 0;
}

int vub_state_request(struct vu_backend *b, struct vu_msg *m, int *fds, uint32_t *reply_size)
{
    struct vub_xfer *x = &b->xfer;
    int r;

    if (!vub_has_pf(b, VHOST_USER_PROTOCOL_F_DEVICE_STATE))
        return -EPROTO;
    if (m->hdr.request == VHOST_USER_SET_DEVICE_STATE_FD) {
        vub_xfer_abort(b);
        x->started = true;
        r = start(b, &m->p.dstate, &fds[0]);
        if (r) {
            x->result = r;
            x->why = r == -EBUSY ? "rings are running" : "cannot start the transfer";
            fprintf(stderr, "%s: SET_DEVICE_STATE_FD refused: %s (%s)\n", b->ops->name, x->why,
                    strerror(-r));
        }
        /* Our answer never carries an fd of our own: the frontend's pipe is used. */
        m->p.u64 = VHOST_USER_DEVICE_STATE_NOFD | (r ? 1u : 0u);
        *reply_size = 8;
        return 0;
    }
    /* CHECK_DEVICE_STATE: the frontend is done with its end, so what is left moves now. */
    if (!x->started) {
        x->result = -ENOENT;
        x->why = "no transfer to check";
    }
    vu_backend_xfer_pump(b);
    if (x->fd >= 0)
        finish(b, -EPIPE, "the transfer did not finish");
    if (x->result)
        fprintf(stderr, "%s: device state transfer failed: %s (%s)\n", b->ops->name, x->why,
                strerror(-x->result));
    m->p.u64 = x->result ? 1 : 0;
    *reply_size = 8;
    vub_xfer_abort(b);
    return 0;
}
