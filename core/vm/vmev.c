#include "core/vm/vmev.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int vmev_init(struct vmev *ev)
{
    atomic_init(&ev->pending, 0);
    atomic_init(&ev->halted, false);
    ev->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return ev->efd < 0 ? -errno : 0;
}

void vmev_destroy(struct vmev *ev)
{
    if (ev->efd >= 0)
        close(ev->efd);
    ev->efd = -1;
}

void vmev_post(struct vmev *ev, unsigned int bits)
{
    uint64_t one = 1;
    int saved = errno; /* may run in a signal handler */

    if (bits & (VMEV_POWEROFF | VMEV_REBOOT | VMEV_STOP | VMEV_ERROR | VMEV_PAUSE | VMEV_NMI))
        atomic_store(&ev->halted, true);
    atomic_fetch_or(&ev->pending, bits);
    /* EAGAIN only when the counter is saturated, which still wakes the reader. */
    while (write(ev->efd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
    errno = saved;
}

unsigned int vmev_take(struct vmev *ev)
{
    uint64_t cnt;

    while (read(ev->efd, &cnt, sizeof(cnt)) < 0 && errno == EINTR)
        ;
    return atomic_exchange(&ev->pending, 0);
}

unsigned int vmev_wait(struct vmev *ev, int timeout_ms)
{
    struct pollfd pfd = { .fd = ev->efd, .events = POLLIN };
    unsigned int bits = vmev_take(ev);

    if (bits)
        return bits;
    /* An event, a plain wake-up, the timeout or a signal: the caller looks again. */
    if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        return 0;
    return vmev_take(ev);
}

bool vmev_halted(struct vmev *ev)
{
    return atomic_load(&ev->halted);
}

void vmev_resume(struct vmev *ev)
{
    atomic_store(&ev->halted, false);
}
