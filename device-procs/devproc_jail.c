#include "device-procs/devproc_jail.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "device-procs/devproc_sys.h"

/* The fallback for devices without a jail hook (devproc_jail.h). What a device process does
 * once serving: I/O on fds it holds, guest memory mappings, its threads, io_uring,
 * timekeeping. No open, no exec, no new sockets. */
static const char *const allowed[] = {
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "recvmsg",
    "sendmsg",
    "recvfrom",
    "sendto",
    "accept",
    "accept4",
    "close",
    "dup",
    "fcntl",
    "lseek",
    "fstat",
    "newfstatat",
    "statx",
    "munmap",
    "madvise",
    "brk",
    "mremap",
    "futex",
    "set_robust_list",
    "rseq",
    "poll",
    "ppoll",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "eventfd2",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "exit",
    "exit_group",
    "getpid",
    "gettid",
    "tgkill",
    "clock_gettime",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "getrusage",
    "getrandom",
    "sched_yield",
    "sched_getaffinity",
    "timerfd_create",
    "timerfd_settime",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "fallocate",
    "fdatasync",
    "fsync",
    "memfd_create",
    "ftruncate",
    "shutdown",
    "getsockopt",
    "setsockopt",
    "ioctl",
    "prctl",
    "pipe2",
    "uname",
    /* libevent checks for setuid execution when it creates its base */
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "restart_syscall",
};

static int add(scmp_filter_ctx ctx, const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);

    return nr == __NR_SCMP_ERROR ? 0 : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int load_filter(enum devproc_seccomp mode)
{
    uint32_t dflt = mode == DEVPROC_SECCOMP_KILL ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_LOG;
    scmp_filter_ctx ctx = seccomp_init(dflt);
    int r = 0;

    if (!ctx)
        return -ENOMEM;
    for (size_t i = 0; !r && i < sizeof(allowed) / sizeof(allowed[0]); i++)
        r = add(ctx, allowed[i]);
    /* Guest memory and inflight buffers: never executable. */
    if (!r)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    if (!r)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    /* Threads only; clone3's flags are invisible to seccomp, so glibc must fall back. */
    if (!r)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    if (!r)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    /* Library probes for files fail softly. */
    if (!r)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(openat), 0);
    if (!r)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (!r)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    return r;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;
    int r = 0;

    if (fd < 0)
        return -errno;
    n = write(fd, text, strlen(text));
    if (n < 0)
        r = -errno;
    close(fd);
    return r;
}

/* One uid and gid mapped onto ourselves: root inside, no privilege outside. */
static int enter_userns(void)
{
    char map[64];
    uid_t uid = geteuid();
    gid_t gid = getegid();
    int r;

    if (unshare(CLONE_NEWUSER) < 0)
        return -errno;
    r = write_file("/proc/self/setgroups", "deny");
    if (!r) {
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
        r = write_file("/proc/self/uid_map", map);
    }
    if (!r) {
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
        r = write_file("/proc/self/gid_map", map);
    }
    return r;
}

int devproc_jail(enum devproc_seccomp mode, char *err, size_t errlen)
{
    int r;

    r = enter_userns();
    if (r)
        fprintf(stderr, "jail: no user namespace (%s); continuing without\n", strerror(-r));
    if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0)
        fprintf(stderr, "jail: no mount/ipc/uts/net namespaces (%s); continuing without\n",
                strerror(errno));
    /* After the map writes: with dumpable off the /proc/self map files become unwritable. */
    r = devproc_sys_set_dumpable(0);
    if (!r)
        r = devproc_sys_no_new_privs();
    if (r) {
        snprintf(err, errlen, "prctl: %s", strerror(-r));
        return r;
    }
    if (mode == DEVPROC_SECCOMP_OFF)
        return 0;
    r = load_filter(mode);
    if (r)
        snprintf(err, errlen, "seccomp: %s", strerror(-r));
    return r;
}
