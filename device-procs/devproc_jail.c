#include "device-procs/devproc_jail.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "device-procs/devproc_sys.h"
#include "sandbox/bpf.h"

/* The fallback for devices without a jail hook (devproc_jail.h): sandbox/rules_interim.c's
 * allowlist, precompiled (sandbox/bpf.h), loaded for every thread. */
static int load_filter(enum devproc_seccomp mode)
{
    enum sbx_seccomp m = mode == DEVPROC_SECCOMP_KILL ? SBX_SECCOMP_ON : SBX_SECCOMP_LOG;
    const struct sock_filter *prog;
    uint16_t n;
    int r;

    r = sbx_bpf_get_interim(m, &prog, &n);
    return r ? r : sbx_bpf_load(prog, n);
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
