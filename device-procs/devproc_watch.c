/*
 * Device work on the control loop: a device whose data path is too small to deserve a thread
 * (rngd) has its kick fd watched by the loop that already exists, which saves the thread's
 * syscalls in its profile. Its callbacks must stay short: bound the work per call and poke the
 * fd again (an eventfd write) to come back after the loop has served everything else.
 */
#include "device-procs/devproc.h"

#include <errno.h>
#include <event2/event.h>

#include "device-procs/devproc_priv.h"

static int watch(struct devproc *dp, int fd, short what, devproc_watch_fn cb, void *arg,
                 struct event **out)
{
    struct event *ev;

    if (!dp->base || fd < 0)
        return -EINVAL;
    ev = event_new(dp->base, fd, what | EV_PERSIST, cb, arg);
    if (!ev)
        return -ENOMEM;
    if (event_add(ev, NULL) < 0) {
        event_free(ev);
        return -ENOMEM;
    }
    *out = ev;
    return 0;
}

int devproc_watch(struct devproc *dp, int fd, devproc_watch_fn cb, void *arg, struct event **out)
{
    return watch(dp, fd, EV_READ, cb, arg, out);
}

int devproc_watch_write(struct devproc *dp, int fd, devproc_watch_fn cb, void *arg,
                        struct event **out)
{
    return watch(dp, fd, EV_WRITE, cb, arg, out);
}

void devproc_unwatch(struct event **ev)
{
    if (*ev)
        event_free(*ev);
    *ev = NULL;
}
