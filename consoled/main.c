/*
 * cellvm-consoled: the virtio-console device process. The device-process runtime (devproc_main)
 * owns the command line, the control channel and the vhost-user socket; this file gets the host
 * side of the console, enters the jail and serves the receive and transmit queues from the
 * runtime's control loop (consoled/console.c does the rings; nothing here blocks).
 *
 * Where the host side comes from:
 *   - from the controller (DeviceConfigure): fds[0] takes the guest's output, fds[1] (when
 *     sent) gives its input; the controller opened them (the file, the pty master, its own
 *     terminal, /dev/null) and owns the terminal's mode;
 *   - standalone: --console tty (this process's stdout and, when it is a terminal, stdin),
 *     null, or file=PATH opened here before the jail. The jailed daemon never opens a path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consoled/console.h"
#include "consoled/console_spec.h"
#include "device-procs/devproc.h"
#include "device-procs/devproc_util.h"
#include "sandbox/jail.h"

#define VIRTIO_ID_CONSOLE     3
#define VIRTIO_F_VERSION_1    32
#define VIRTIO_CONSOLE_F_SIZE 0
#define CONSOLED_CONFIG_SIZE  12 /* cols, rows, max_nr_ports, emerg_wr (virtio 1.2, 5.3.4) */
#define CONSOLED_MAX_KEEP     8
#define VHOST_USER_PF_CONFIG  (1ull << 9)

struct consoled {
    struct devproc_ops ops;
    struct con_dev con;
    int out_fd, in_fd; /* the host side; owned here, closed in main; -1 if none */
    uint16_t cols, rows;
    struct devproc *dp;                             /* borrowed from prepare */
    struct event *ev_rxk, *ev_txk, *ev_in, *ev_out; /* owned while in use */
    bool have_spec;
};

static int fd_mode_ok(int fd, bool write, char *err, size_t errlen)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0)
        return devproc_err(err, errlen, -errno, "--console: fd: %s", strerror(errno));
    if ((fl & O_ACCMODE) == (write ? O_RDONLY : O_WRONLY))
        return devproc_err(err, errlen, -EBADF, "--console: %s fd is not open for %s",
                           write ? "output" : "input", write ? "writing" : "reading");
    return 0;
}

/* Standalone tty: a terminal or a pipe on stdout is opened again, so that O_NONBLOCK is this
   process's alone (a reader that stalls must not stall the loop); anything else is used as it
   is (a file never makes a write wait, and keeps its offset). */
static int own_stdout(int *out)
{
    struct stat st;
    const char *name = isatty(STDOUT_FILENO) ? ttyname(STDOUT_FILENO) : NULL;
    int fd = name ? open(name, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK) : -1;

    if (fd < 0 && fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode))
        fd = open("/proc/self/fd/1", O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -errno;
    *out = fd;
    return 0;
}

static int open_standalone(struct consoled *d, const struct con_spec *s, char *err, size_t errlen)
{
    int r;

    switch (s->mode) {
    case CON_MODE_NULL:
        return 0;
    case CON_MODE_FILE:
        d->out_fd = open(s->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
        if (d->out_fd < 0)
            return devproc_err(err, errlen, -errno, "--console file=%s: %s", s->file,
                               strerror(errno));
        return 0;
    case CON_MODE_TTY:
        r = own_stdout(&d->out_fd);
        if (r)
            return devproc_err(err, errlen, r, "--console tty: no usable stdout: %s", strerror(-r));
        /* Input only from a terminal: a pipe or /dev/null would feed the guest an end. */
        if (isatty(STDIN_FILENO))
            d->in_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        return 0;
    case CON_MODE_PTY:
        break;
    }
    return devproc_err(err, errlen, -EINVAL, "%s",
                       "--console pty: only under cellvm, which allocates the pty (use tty or "
                       "file=)");
}

static int consoled_parse_spec(void *dev, const char *opt, const char *val, int *fds, size_t nfds,
                               char *err, size_t errlen)
{
    struct consoled *d = dev;
    struct con_spec s;
    int r;

    if (strcmp(opt, "console") != 0)
        return devproc_err(err, errlen, -EINVAL, "unknown device option --%s", opt);
    if (d->have_spec)
        return devproc_err(err, errlen, -EINVAL, "%s", "one --console per process");
    r = con_spec_parse(val, &s, err, errlen);
    if (r)
        return r;
    if (fds) {
        /* From the controller: what it opened, never a path. null: nothing at all. */
        if (nfds > 2 || (s.mode != CON_MODE_NULL && nfds < 1))
            r = devproc_err(err, errlen, -EINVAL, "--console %s: %zu fds, want 1 or 2",
                            con_mode_name(s.mode), nfds);
        if (!r && nfds >= 1)
            r = fd_mode_ok(fds[0], true, err, errlen);
        if (!r && nfds == 2)
            r = fd_mode_ok(fds[1], false, err, errlen);
        if (!r && nfds >= 1) {
            d->out_fd = fds[0];
            fds[0] = -1;
        }
        if (!r && nfds == 2) {
            d->in_fd = fds[1];
            fds[1] = -1;
        }
    } else {
        r = open_standalone(d, &s, err, errlen);
    }
    if (!r) {
        fprintf(stderr, "cellvm-consoled: console %s%s%s (%s)\n", con_mode_name(s.mode),
                s.file ? " " : "", s.file ? s.file : "",
                d->in_fd >= 0 ? "input and output" : "output only");
        d->have_spec = true;
    }
    con_spec_free(&s);
    return r;
}

static int consoled_prepare(void *dev, struct devproc *dp, char *err, size_t errlen)
{
    struct consoled *d = dev;
    struct winsize ws;

    d->dp = dp;
    if (!d->have_spec)
        return devproc_err(err, errlen, -EINVAL, "%s",
                           "--console is needed (null, tty or file=PATH)");
    /* The size of the terminal (tty, pty) at start, from whichever end is one. */
    if ((d->out_fd >= 0 && isatty(d->out_fd) && ioctl(d->out_fd, TIOCGWINSZ, &ws) == 0) ||
        (d->in_fd >= 0 && isatty(d->in_fd) && ioctl(d->in_fd, TIOCGWINSZ, &ws) == 0)) {
        d->cols = ws.ws_col;
        d->rows = ws.ws_row;
    }
    d->con.out_fd = d->out_fd;
    d->con.in_fd = d->in_fd;
    return 0;
}

static int consoled_jail(void *dev, enum devproc_seccomp mode, const int *keep, size_t nkeep,
                         char *err, size_t errlen)
{
    struct consoled *d = dev;
    int fds[CONSOLED_MAX_KEEP];
    size_t k = 0;
    struct sbx_config cfg = { .profile = SBX_PROFILE_CONSOLED };

    for (size_t i = 0; i < nkeep && k + 2 < CONSOLED_MAX_KEEP; i++)
        fds[k++] = keep[i];
    if (d->out_fd >= 0)
        fds[k++] = d->out_fd;
    if (d->in_fd >= 0)
        fds[k++] = d->in_fd;
    cfg.keep_fds = fds;
    cfg.nkeep = k;
    cfg.seccomp = devproc_sbx_seccomp(mode);
    return sbx_enter(&cfg, err, errlen);
}

static int consoled_get_config(void *dev, uint8_t *buf, uint32_t off, uint32_t len)
{
    struct consoled *d = dev;
    uint8_t c[CONSOLED_CONFIG_SIZE] = { (uint8_t)d->cols, (uint8_t)(d->cols >> 8), (uint8_t)d->rows,
                                        (uint8_t)(d->rows >> 8), 1 /* max_nr_ports */ };

    memcpy(buf, c + off, len); /* bounds checked by the runtime */
    return 0;
}

static void broken(struct consoled *d, struct virtq *vq)
{
    devproc_unwatch(&d->ev_rxk);
    devproc_unwatch(&d->ev_txk);
    devproc_unwatch(&d->ev_in);
    devproc_needs_reset(d->dp, vq->index, vq->broken ? vq->broken : -EIO);
}

static void on_out(int fd, short what, void *arg);

static void flush(struct consoled *d)
{
    int r;

    if (d->out_fd < 0)
        return;
    if (con_flush(&d->con) == 0) {
        devproc_unwatch(&d->ev_out);
        return;
    }
    if (d->ev_out)
        return;
    r = devproc_watch_write(d->dp, d->out_fd, on_out, d, &d->ev_out);
    if (r) { /* cannot wait for it: what waits is dropped, the next bytes try again */
        d->con.st.dropped += d->con.len;
        d->con.head = d->con.len = 0;
    }
}

static void on_out(int fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg);
}

static void run_tx(struct consoled *d)
{
    static const uint64_t one = 1;

    switch (con_tx_pass(&d->con)) {
    case CON_PASS_MORE:
        /* Back after the loop has served everything else: the kick is our own doorbell. */
        if (write(d->con.txq->kick_fd, &one, sizeof(one)) != sizeof(one))
            fprintf(stderr, "cellvm-consoled: cannot requeue the rest: %s\n", strerror(errno));
        break;
    case CON_PASS_BROKEN:
        broken(d, d->con.txq);
        break;
    default:
        break;
    }
    flush(d);
}

static void on_in(int fd, short what, void *arg);

static void run_rx(struct consoled *d)
{
    switch (con_rx_once(&d->con)) {
    case CON_PASS_NO_BUF:
    case CON_PASS_INPUT_END:
        devproc_unwatch(&d->ev_in); /* back on the next receiveq kick, or never */
        return;
    case CON_PASS_BROKEN:
        broken(d, d->con.rxq);
        return;
    default:
        if (!d->ev_in && devproc_watch(d->dp, d->in_fd, on_in, d, &d->ev_in))
            fprintf(stderr, "cellvm-consoled: cannot watch the console input\n");
        return;
    }
}

static void on_in(int fd, short what, void *arg)
{
    struct consoled *d = arg;

    (void)fd;
    (void)what;
    if (d->con.rxq)
        run_rx(d);
}

static void on_rx_kick(int fd, short what, void *arg)
{
    struct consoled *d = arg;

    (void)fd;
    (void)what;
    if (!d->con.rxq)
        return;
    virtq_kick_drain(d->con.rxq);
    /* New buffers: watch the input again (it waits while the guest offers none). */
    if (!d->ev_in && d->in_fd >= 0 && !d->con.in_eof &&
        devproc_watch(d->dp, d->in_fd, on_in, d, &d->ev_in))
        fprintf(stderr, "cellvm-consoled: cannot watch the console input\n");
}

static void on_tx_kick(int fd, short what, void *arg)
{
    struct consoled *d = arg;

    (void)fd;
    (void)what;
    if (!d->con.txq)
        return;
    virtq_kick_drain(d->con.txq);
    run_tx(d);
}

static int consoled_start_queue(void *dev, uint16_t idx, struct virtq *vq)
{
    struct consoled *d = dev;
    int r;

    if (idx > CON_TXQ)
        return -EINVAL;
    if (vq->kick_fd < 0) {
        fprintf(stderr, "cellvm-consoled: a polled queue (no kick fd) is not supported\n");
        return -EINVAL;
    }
    r = devproc_watch(d->dp, vq->kick_fd, idx == CON_RXQ ? on_rx_kick : on_tx_kick, d,
                      idx == CON_RXQ ? &d->ev_rxk : &d->ev_txk);
    if (r)
        return r;
    if (idx == CON_TXQ) {
        d->con.txq = vq;
        run_tx(d); /* chains may be waiting already (a reconnect, a replaced daemon) */
        return 0;
    }
    d->con.rxq = vq;
    if (d->in_fd >= 0 && !d->con.in_eof) {
        r = devproc_watch(d->dp, d->in_fd, on_in, d, &d->ev_in);
        if (r)
            fprintf(stderr, "cellvm-consoled: cannot watch the console input: %s\n", strerror(-r));
    }
    return 0;
}

/* Everything runs on the control loop, so no chain is half done when this is called. */
static int consoled_stop_queue(void *dev, uint16_t idx)
{
    struct consoled *d = dev;

    if (idx == CON_RXQ) {
        devproc_unwatch(&d->ev_rxk);
        devproc_unwatch(&d->ev_in);
        d->con.rxq = NULL;
    } else if (idx == CON_TXQ) {
        devproc_unwatch(&d->ev_txk);
        d->con.txq = NULL;
    } else {
        return -EINVAL;
    }
    return 0;
}

/* Also on disconnect and at the end (before the runtime frees its loop): the output watch goes
   too; bytes still buffered are written when the next transmit pass flushes. */
static void consoled_reset(void *dev)
{
    struct consoled *d = dev;

    consoled_stop_queue(dev, CON_RXQ);
    consoled_stop_queue(dev, CON_TXQ);
    devproc_unwatch(&d->ev_out);
}

static void consoled_stats(void *dev, Cellvm__DeviceStats *st)
{
    struct consoled *d = dev;

    for (size_t i = 0; i < st->n_queues; i++)
        if (st->queues[i]->index == CON_TXQ)
            st->queues[i]->errors += d->con.st.out_errors;
}

int main(int argc, char **argv)
{
    struct consoled d;
    int status;

    memset(&d, 0, sizeof(d));
    d.out_fd = d.in_fd = -1;
    if (con_init(&d.con)) {
        fprintf(stderr, "console: out of memory\n");
        return 1;
    }
    d.ops = (struct devproc_ops){
        .name = "console",
        .spec_option = "console",
        .virtio_id = VIRTIO_ID_CONSOLE,
        .features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT_DESC |
                    1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_CONSOLE_F_SIZE,
        .max_queues = 2,
        .protocol_features = VHOST_USER_PF_CONFIG,
        .config_size = CONSOLED_CONFIG_SIZE,
        .parse_spec = consoled_parse_spec,
        .prepare = consoled_prepare,
        .get_config = consoled_get_config,
        .jail = consoled_jail,
        .start_queue = consoled_start_queue,
        .stop_queue = consoled_stop_queue,
        .reset = consoled_reset,
        .stats = consoled_stats,
    };
    status = devproc_main(argc, argv, &d.ops, &d);
    consoled_reset(&d);
    if (d.out_fd >= 0 && d.con.len)
        con_flush(&d.con);
    fprintf(stderr,
            "cellvm-consoled: tx_chains=%llu tx_bytes=%llu written=%llu dropped=%llu "
            "write_failures=%llu rx_chains=%llu rx_bytes=%llu\n",
            (unsigned long long)d.con.st.tx_chains, (unsigned long long)d.con.st.tx_bytes,
            (unsigned long long)d.con.st.written, (unsigned long long)d.con.st.dropped,
            (unsigned long long)d.con.st.out_errors, (unsigned long long)d.con.st.rx_chains,
            (unsigned long long)d.con.st.rx_bytes);
    if (d.out_fd >= 0)
        close(d.out_fd);
    if (d.in_fd >= 0)
        close(d.in_fd);
    con_destroy(&d.con);
    return status;
}
