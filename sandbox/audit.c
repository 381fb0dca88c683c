#include "sandbox/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/bpf.h"

/* Bounds on one look: kmsg records are at most 8 KiB (PRINTK_MESSAGE_MAX); the ring holds a
 * few thousand. */
#define MAX_RECORDS 8192
#define RECORD_MAX  8192

int sbx_audit_open(void)
{
    int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (lseek(fd, 0, SEEK_END) < 0) {
        int r = -errno;

        close(fd);
        return r;
    }
    return fd;
}

/* The syscall of a seccomp record for pid in one kmsg record, or -1. */
static int parse_record(const char *rec, pid_t pid)
{
    char key[32];
    const char *p;
    long nr;

    if (!strstr(rec, "type=1326"))
        return -1;
    snprintf(key, sizeof(key), " pid=%d ", (int)pid);
    if (!strstr(rec, key))
        return -1;
    p = strstr(rec, " syscall=");
    if (!p)
        return -1;
    nr = strtol(p + 9, NULL, 10);
    return nr >= 0 && nr < 4096 ? (int)nr : -1;
}

static int scan(int fd, pid_t pid, int *found)
{
    char *rec = malloc(RECORD_MAX);

    if (!rec)
        return -ENOMEM;
    for (int i = 0; i < MAX_RECORDS; i++) {
        ssize_t n = read(fd, rec, RECORD_MAX - 1);
        int nr;

        if (n < 0 && errno == EPIPE)
            continue; /* records overwritten under us: go on with the next */
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        rec[n] = '\0';
        nr = parse_record(rec, pid);
        if (nr >= 0)
            *found = nr;
    }
    free(rec);
    return 0;
}

int sbx_audit_syscall(int fd, pid_t pid, int wait_ms)
{
    int found = -1, r;

    if (fd < 0)
        return -EBADF;
    /* kauditd prints the record asynchronously, possibly after the parent saw the death. */
    for (int waited = 0;; waited += 20) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        r = scan(fd, pid, &found);
        if (r)
            return r;
        if (found >= 0)
            return found;
        if (waited >= wait_ms)
            return -ENOENT;
        (void)poll(&pfd, 1, 20);
    }
}

const char *sbx_syscall_name(int nr, char *buf, size_t len)
{
    const char *name = sbx_bpf_syscall_name(nr);

    snprintf(buf, len, "%s", name ? name : "?");
    return buf;
}
