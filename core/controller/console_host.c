#include "core/controller/console_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void console_host_init(struct console_host *h)
{
    memset(h, 0, sizeof(*h));
    h->mode = CLI_CONSOLE_OFF;
    h->out_fd = h->in_fd = h->pty_slave = -1;
}

/* A terminal on stdout is opened again: a file description of consoled's own, whose
   O_NONBLOCK does not reach the controller's stdout. Anything else is duplicated. */
static int tty_out(void)
{
    struct stat st;
    const char *name = isatty(STDOUT_FILENO) ? ttyname(STDOUT_FILENO) : NULL;
    int fd = name ? open(name, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK) : -1;

    if (fd >= 0)
        return fd;
    /* A pipe too (a reader that stalls must not stall consoled); a file keeps its offset. */
    if (fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode)) {
        fd = open("/proc/self/fd/1", O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0)
            return fd;
    }
    return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
}

static int open_tty(struct console_host *h, bool stdin_raw, char *err, size_t errlen)
{
    struct termios raw;

    h->out_fd = tty_out();
    if (h->out_fd < 0) {
        snprintf(err, errlen, "--console tty: no usable stdout: %s", strerror(errno));
        return -errno;
    }
    /* Input only from a terminal: a pipe or /dev/null on stdin would feed the guest an end. */
    if (!isatty(STDIN_FILENO))
        return 0;
    h->in_fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
    if (h->in_fd < 0) {
        snprintf(err, errlen, "--console tty: stdin: %s", strerror(errno));
        return -errno;
    }
    if (!stdin_raw && tcgetattr(STDIN_FILENO, &h->saved) == 0) {
        raw = h->saved;
        cfmakeraw(&raw);
        raw.c_oflag |= OPOST | ONLCR; /* keep the VMM's own log lines readable */
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
            h->tty_raw = true;
    }
    return 0;
}

static int open_pty(struct console_host *h, char *err, size_t errlen)
{
    struct termios raw;
    const char *name;
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(name = ptsname(m)) ||
        strlen(name) >= sizeof(h->pty_path)) {
        int e = errno ? errno : ENAMETOOLONG;

        snprintf(err, errlen, "--console pty: cannot allocate a pty: %s", strerror(e));
        if (m >= 0)
            close(m);
        return -e;
    }
    snprintf(h->pty_path, sizeof(h->pty_path), "%s", name);
    h->out_fd = m;
    h->pty_slave = open(h->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (h->pty_slave < 0) {
        snprintf(err, errlen, "--console pty: %s: %s", h->pty_path, strerror(errno));
        return -errno;
    }
    /* Raw on the slave side so the guest's bytes arrive unchanged for whoever opens it. */
    if (tcgetattr(h->pty_slave, &raw) == 0) {
        cfmakeraw(&raw);
        tcsetattr(h->pty_slave, TCSANOW, &raw);
    }
    if (fcntl(m, F_SETFL, O_NONBLOCK) < 0 || (h->in_fd = fcntl(m, F_DUPFD_CLOEXEC, 3)) < 0) {
        snprintf(err, errlen, "--console pty: %s", strerror(errno));
        return -errno;
    }
    fprintf(stderr, "cellvm: console: pty %s\n", h->pty_path);
    return 0;
}

int console_host_open(struct console_host *h, const struct cli_console *c, bool stdin_raw,
                      char *err, size_t errlen)
{
    h->mode = c->mode;
    switch (c->mode) {
    case CLI_CONSOLE_OFF:
        return 0;
    case CLI_CONSOLE_NULL:
        h->out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (h->out_fd < 0) {
            snprintf(err, errlen, "--console null: /dev/null: %s", strerror(errno));
            return -errno;
        }
        return 0;
    case CLI_CONSOLE_TTY:
        return open_tty(h, stdin_raw, err, errlen);
    case CLI_CONSOLE_PTY:
        return open_pty(h, err, errlen);
    case CLI_CONSOLE_FILE:
        h->out_fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
        if (h->out_fd < 0) {
            snprintf(err, errlen, "--console file=%s: %s", c->path, strerror(errno));
            return -errno;
        }
        return 0;
    case CLI_CONSOLE_SOCKET:
        break;
    }
    snprintf(err, errlen,
             "--console: invalid value for 'socket': socket mode is for --serial only");
    return -EINVAL;
}

int console_host_spec(const struct console_host *h, const struct cli_console *c, char *buf,
                      size_t len)
{
    int n;

    switch (h->mode) {
    case CLI_CONSOLE_FILE:
        if (strchr(c->path, '"'))
            return -EINVAL;
        n = snprintf(buf, len, "file=\"%s\"", c->path);
        break;
    case CLI_CONSOLE_TTY:
        n = snprintf(buf, len, "tty");
        break;
    case CLI_CONSOLE_PTY:
        n = snprintf(buf, len, "pty");
        break;
    default:
        n = snprintf(buf, len, "null");
        break;
    }
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void console_host_close(struct console_host *h)
{
    close_fd(&h->out_fd);
    close_fd(&h->in_fd);
    close_fd(&h->pty_slave);
    if (h->tty_raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &h->saved);
    h->tty_raw = false;
}
