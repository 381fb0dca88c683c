#include "core/controller/serial.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void serial_init(struct serial_backend *s)
{
    memset(s, 0, sizeof(*s));
    s->mode = SERIAL_MODE_OFF;
    s->core_in = s->core_out = s->relay = s->listener = s->client = -1;
}

static int open_tty(struct serial_backend *s, char *err, size_t errlen)
{
    s->core_out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (s->core_out < 0) {
        snprintf(err, errlen, "--serial tty: no usable stdout: %s", strerror(errno));
        return -errno;
    }
    /* Input only from a terminal: a pipe or /dev/null on stdin would feed the guest EOF. */
    if (isatty(STDIN_FILENO)) {
        struct termios raw;

        s->core_in = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        if (s->core_in >= 0 && tcgetattr(STDIN_FILENO, &s->saved) == 0) {
            raw = s->saved;
            cfmakeraw(&raw);
            raw.c_oflag |= OPOST | ONLCR; /* keep our own log lines readable */
            if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
                s->tty_raw = true;
        }
    }
    return 0;
}

static int open_pty(struct serial_backend *s, char *err, size_t errlen)
{
    struct termios raw;
    char *name;
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), sl;

    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(name = ptsname(m))) {
        snprintf(err, errlen, "--serial pty: cannot allocate a pty: %s", strerror(errno));
        if (m >= 0)
            close(m);
        return -EIO;
    }
    /* Raw on the slave side so the guest's bytes arrive unchanged for whoever opens it. */
    sl = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (sl >= 0) {
        if (tcgetattr(sl, &raw) == 0) {
            cfmakeraw(&raw);
            tcsetattr(sl, TCSANOW, &raw);
        }
        close(sl);
    }
    fprintf(stderr, "cellvm: serial: pty %s\n", name);
    s->core_in = m;
    s->core_out = fcntl(m, F_DUPFD_CLOEXEC, 3);
    return s->core_out < 0 ? -errno : 0;
}

static int open_socket(struct serial_backend *s, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int sv[2];

    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "--serial: invalid value for 'socket': path too long");
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    s->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listener < 0 || bind(s->listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(s->listener, 1) < 0) {
        snprintf(err, errlen, "--serial socket=%s: %s", path, strerror(errno));
        return -errno;
    }
    s->socket_path = strdup(path);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    s->relay = sv[0];
    s->core_in = sv[1];
    s->core_out = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
    fcntl(s->relay, F_SETFL, O_NONBLOCK);
    return s->core_out < 0 ? -errno : 0;
}

int serial_open(struct serial_backend *s, enum serial_mode mode, const char *path, char *err,
                size_t errlen)
{
    s->mode = mode;
    switch (mode) {
    case SERIAL_MODE_OFF:
    case SERIAL_MODE_NULL:
        return 0;
    case SERIAL_MODE_TTY:
        return open_tty(s, err, errlen);
    case SERIAL_MODE_PTY:
        return open_pty(s, err, errlen);
    case SERIAL_MODE_FILE:
        s->core_out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
        if (s->core_out < 0) {
            snprintf(err, errlen, "--serial file=%s: %s", path, strerror(errno));
            return -errno;
        }
        return 0;
    case SERIAL_MODE_SOCKET:
        return open_socket(s, path, err, errlen);
    }
    return -EINVAL;
}

/* Forwards what is readable on `from` to `to` (if any), dropping what `to` cannot take now. */
static int pump(int from, int to)
{
    char buf[4096];
    ssize_t n = read(from, buf, sizeof(buf));

    if (n <= 0)
        return n == 0 || (errno != EAGAIN && errno != EINTR) ? -1 : 0;
    if (to >= 0)
        (void)!write(to, buf, (size_t)n);
    return 0;
}

static void on_client(evutil_socket_t fd, short what, void *arg)
{
    struct serial_backend *s = arg;

    (void)fd;
    (void)what;
    if (pump(s->client, s->relay) < 0) {
        event_free(s->ev_client);
        s->ev_client = NULL;
        close_fd(&s->client);
    }
}

static void on_relay(evutil_socket_t fd, short what, void *arg)
{
    struct serial_backend *s = arg;

    (void)fd;
    (void)what;
    if (pump(s->relay, s->client) < 0)
        event_del(s->ev_relay);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
    struct serial_backend *s = arg;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    (void)what;
    if (c < 0)
        return;
    /* One client at a time: a new connection replaces the old one, as a console would. */
    if (s->ev_client)
        event_free(s->ev_client);
    close_fd(&s->client);
    s->client = c;
    s->ev_client = event_new(event_get_base(s->ev_listener), c, EV_READ | EV_PERSIST, on_client, s);
    if (s->ev_client)
        event_add(s->ev_client, NULL);
}

int serial_attach(struct serial_backend *s, struct event_base *base)
{
    if (s->mode != SERIAL_MODE_SOCKET)
        return 0;
    s->ev_listener = event_new(base, s->listener, EV_READ | EV_PERSIST, on_accept, s);
    s->ev_relay = event_new(base, s->relay, EV_READ | EV_PERSIST, on_relay, s);
    if (!s->ev_listener || !s->ev_relay)
        return -ENOMEM;
    event_add(s->ev_listener, NULL);
    event_add(s->ev_relay, NULL);
    return 0;
}

void serial_release_core_fds(struct serial_backend *s)
{
    close_fd(&s->core_in);
    close_fd(&s->core_out);
}

void serial_close(struct serial_backend *s)
{
    if (s->ev_client)
        event_free(s->ev_client);
    if (s->ev_relay)
        event_free(s->ev_relay);
    if (s->ev_listener)
        event_free(s->ev_listener);
    s->ev_client = s->ev_relay = s->ev_listener = NULL;
    serial_release_core_fds(s);
    close_fd(&s->relay);
    close_fd(&s->client);
    close_fd(&s->listener);
    if (s->socket_path)
        unlink(s->socket_path);
    free(s->socket_path);
    s->socket_path = NULL;
    if (s->tty_raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &s->saved);
    s->tty_raw = false;
}
