/*
 * unix-cat: a minimal client for `--serial socket=PATH`.
 *
 *   unix-cat [--send TEXT] [--timeout SEC] PATH
 *
 * Connects to the unix stream socket PATH (retrying until it exists, the VMM may still be
 * starting), writes TEXT if given, then copies everything it reads to stdout until the peer
 * closes. Exit 0 on a clean end of stream, 1 on an error or when the timeout passes first.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define RETRY_NS (10 * 1000 * 1000)

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int connect_until(const char *path, double deadline)
{
    const struct timespec nap = { 0, RETRY_NS };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "unix-cat: %s: path too long\n", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0) {
            perror("unix-cat: socket");
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        close(fd);
        if ((errno != ENOENT && errno != ECONNREFUSED) || now() >= deadline) {
            fprintf(stderr, "unix-cat: connect %s: %s\n", path, strerror(errno));
            return -1;
        }
        nanosleep(&nap, NULL);
    }
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "send", required_argument, NULL, 's' },
        { "timeout", required_argument, NULL, 't' },
        { 0 },
    };
    const char *send_text = NULL;
    double timeout = 30, deadline;
    char buf[4096];
    int o, fd, ret = 1;

    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            send_text = optarg;
            break;
        case 't':
            timeout = strtod(optarg, NULL);
            break;
        default:
            return 1;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: unix-cat [--send TEXT] [--timeout SEC] PATH\n");
        return 1;
    }
    deadline = now() + timeout;
    fd = connect_until(argv[optind], deadline);
    if (fd < 0)
        return 1;
    if (send_text && write_all(fd, send_text, strlen(send_text)) < 0) {
        perror("unix-cat: write");
        goto out;
    }
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int left_ms = (int)((deadline - now()) * 1000), ready;
        ssize_t n;

        ready = left_ms > 0 ? poll(&p, 1, left_ms) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            fprintf(stderr, "unix-cat: no end of stream after %.0f s\n", timeout);
            goto out;
        }
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("unix-cat: read");
            goto out;
        }
        if (n == 0)
            break;
        if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
            perror("unix-cat: stdout");
            goto out;
        }
    }
    ret = 0;
out:
    close(fd);
    return ret;
}
