#include "sandbox/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/sched.h>
#include <unistd.h>

struct probe {
    const char *name;
    int nr;
};

static const struct probe probes[] = {
    { "open", SYS_openat },   { "exec", SYS_execve },   { "socket-tcp", SYS_socket },
    { "ptrace", SYS_ptrace }, { "mount", SYS_mount },   { "mmap-exec", SYS_mmap },
    { "fork", SYS_clone },    { "clone3", SYS_clone3 }, { "eventfd", SYS_eventfd2 },
};

int sbx_probe_syscall(const char *action)
{
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
        if (!strcmp(probes[i].name, action))
            return probes[i].nr;
    return -EINVAL;
}

/* 0 if the call succeeded (the resource is released again), -errno otherwise. */
static int done(long r)
{
    return r < 0 ? -errno : 0;
}

int sbx_probe(const char *action)
{
    int nr = sbx_probe_syscall(action);
    long r;

    switch (nr) {
    case SYS_openat:
        r = openat(AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
        if (r >= 0)
            close((int)r);
        return done(r);
    case SYS_execve: {
        char *const argv[] = { (char *)"true", NULL };

        return done(execve("/bin/true", argv, argv + 1));
    }
    case SYS_socket:
        r = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (r >= 0)
            close((int)r);
        return done(r);
    case SYS_ptrace:
        return done(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
    case SYS_mount:
        return done(mount("none", "/", "tmpfs", 0, NULL));
    case SYS_mmap: {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED)
            return -errno;
        munmap(p, 4096);
        return 0;
    }
    case SYS_clone:
        /* A raw fork-like clone: glibc's fork() would try clone3 first. */
        r = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
        if (r == 0)
            _exit(0);
        return done(r);
    case SYS_clone3: {
        struct clone_args ca = { .exit_signal = SIGCHLD };

        r = syscall(SYS_clone3, &ca, sizeof(ca));
        if (r == 0)
            _exit(0);
        return done(r);
    }
    case SYS_eventfd2:
        r = eventfd(0, EFD_CLOEXEC);
        if (r >= 0)
            close((int)r);
        return done(r);
    default:
        return -EINVAL;
    }
}
