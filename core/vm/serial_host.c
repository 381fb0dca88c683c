#include "core/vm/serial_host.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/platform.h"
#include "core/vm/kvm_ioctl.h"
#include "core/vm/vm_thread.h"

static void host_set_irq(void *opaque, int level)
{
    struct serial_host *sh = opaque;
    int r = kvm_irq_line(sh->vm_fd, IRQ_SERIAL_COM1, level);

    if (r < 0)
        log_warn(sh->log, "serial: KVM_IRQ_LINE: %s", strerror(-r));
}

/* uart.lock held. A full non-blocking pipe or a closed reader loses what is left, as a real
 * line would. */
static void out_write(struct serial_host *sh, const uint8_t *buf, size_t n)
{
    while (n) {
        ssize_t w = write(sh->out_fd, buf, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        n -= (size_t)w;
    }
}

static void flush_locked(struct serial_host *sh)
{
    out_write(sh, sh->obuf, sh->olen);
    sh->olen = 0;
}

static void host_tx(void *opaque, uint8_t byte)
{
    struct serial_host *sh = opaque;

    if (sh->out_fd < 0)
        return;
    if (!sh->buffered) {
        out_write(sh, &byte, 1);
        return;
    }
    sh->obuf[sh->olen++] = byte;
    if (byte == '\n' || sh->olen == sizeof(sh->obuf))
        flush_locked(sh);
}

void serial_host_set_buffered(struct serial_host *sh, bool on)
{
    pthread_mutex_lock(&sh->uart.lock);
    if (!on)
        flush_locked(sh);
    sh->buffered = on;
    pthread_mutex_unlock(&sh->uart.lock);
}

void serial_host_flush(struct serial_host *sh)
{
    pthread_mutex_lock(&sh->uart.lock);
    if (sh->olen)
        flush_locked(sh);
    pthread_mutex_unlock(&sh->uart.lock);
}

void serial_host_tick(void *arg)
{
    serial_host_flush(arg);
}

int serial_host_init(struct serial_host *sh, int vm_fd, int in_fd, int out_fd,
                     const struct log *log)
{
    struct serial_io io = { .set_irq = host_set_irq, .tx = host_tx, .opaque = sh };
    int r;

    memset(sh, 0, sizeof(*sh));
    sh->vm_fd = vm_fd;
    sh->in_fd = in_fd;
    sh->out_fd = out_fd;
    sh->log = log;
    sh->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sh->stop_fd < 0)
        return -errno;
    r = serial_init(&sh->uart, &io);
    if (r < 0) {
        close(sh->stop_fd);
        sh->stop_fd = -1;
    }
    return r;
}

void serial_host_destroy(struct serial_host *sh)
{
    serial_host_stop_input(sh);
    serial_host_flush(sh);
    serial_destroy(&sh->uart);
    if (sh->stop_fd >= 0)
        close(sh->stop_fd);
    sh->stop_fd = -1;
}

static void *reader_main(void *arg)
{
    struct serial_host *sh = arg;
    sigset_t all;
    uint8_t buf[SERIAL_RX_FIFO];

    /* Process-directed signals belong to the main thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = sh->in_fd, .events = POLLIN },
            { .fd = sh->stop_fd, .events = POLLIN },
        };
        size_t space = serial_rx_wait_space(&sh->uart, &sh->stop);
        ssize_t n;

        if (!space)
            break;
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[1].revents)
            break;
        n = read(sh->in_fd, buf, space < sizeof(buf) ? space : sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            log_info(sh->log, "serial: input closed (%s)", n ? strerror(errno) : "EOF");
            break;
        }
        serial_rx_push(&sh->uart, buf, (size_t)n);
    }
    return NULL;
}

int serial_host_start_input(struct serial_host *sh)
{
    int r;

    if (sh->in_fd < 0 || sh->reader_running)
        return 0;
    pthread_mutex_lock(&sh->uart.lock);
    sh->stop = false;
    pthread_mutex_unlock(&sh->uart.lock);
    r = vm_thread_start(&sh->reader, reader_main, sh);
    if (r)
        return r;
    sh->reader_running = true;
    return 0;
}

void serial_host_stop_input(struct serial_host *sh)
{
    uint64_t one = 1, drain;

    if (!sh->reader_running)
        return;
    serial_wake(&sh->uart, &sh->stop);
    while (write(sh->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
    pthread_join(sh->reader, NULL);
    sh->reader_running = false;
    while (read(sh->stop_fd, &drain, sizeof(drain)) < 0 && errno == EINTR)
        ;
}
