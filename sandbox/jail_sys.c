#include "sandbox/jail_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int sbx_sys_set_dumpable(bool on)
{
    return prctl(PR_SET_DUMPABLE, on ? 1 : 0, 0, 0, 0) < 0 ? -errno : 0;
}

int sbx_sys_set_no_new_privs(void)
{
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

int sbx_sys_set_pdeathsig(int sig)
{
    return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) < 0 ? -errno : 0;
}

int sbx_sys_mount_tmpfs(const char *dir)
{
    /* Private first, so nothing below propagates back to the host's mount tree. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -errno;
    if (mount("cellvm-root", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=16k,nr_inodes=32,mode=0755") < 0)
        return -errno;
    return 0;
}

int sbx_sys_bind(const char *src, const char *dst, bool writable)
{
    unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC;

    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        return -errno;
    if (mount(NULL, dst, NULL, fl | (writable ? 0 : MS_RDONLY), NULL) < 0)
        return -errno;
    return 0;
}

int sbx_sys_pivot_into(const char *dir)
{
    if (chdir(dir) < 0)
        return -errno;
    /* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only
     * the new root (the trick of pivot_root(2)'s notes), with no directory to clean up. */
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        if (umount2(".", MNT_DETACH) < 0)
            return -errno;
    } else if (errno == EINVAL) {
        /* The host's root is the initramfs (rootfs), which pivot_root refuses: move the new
         * root over it and chroot, as switch_root does. The rootfs below stays unreachable:
         * chroot and mount are gone with the capabilities and the filter. */
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
            return -errno;
    } else {
        return -errno;
    }
    if (chdir("/") < 0)
        return -errno;
    if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0)
        return -errno;
    return 0;
}

int sbx_sys_become(uid_t uid, gid_t gid)
{
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return -errno;
    return 0;
}

static int write_map(pid_t pid, const char *file, unsigned id)
{
    char path[64], text[32];
    int fd, n, r = 0;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    n = snprintf(text, sizeof(text), "0 %u 1", id);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (write(fd, text, (size_t)n) != n)
        r = errno ? -errno : -EIO;
    close(fd);
    return r;
}

int sbx_sys_unshare_mapped(int flags, uid_t uid, gid_t gid)
{
    pid_t self = getpid(), pid;
    int p[2], status = 0, r = 0;
    char go = 1;

    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        r = -errno;
        close(p[0]);
        close(p[1]);
        return r;
    }
    if (pid == 0) {
        /* The helper stays outside, with the privilege to map ids other than its own; it
         * gets a byte once the parent's namespace exists, EOF if unshare failed. */
        close(p[1]);
        if (read(p[0], &go, 1) != 1)
            _exit(1);
        _exit(write_map(self, "uid_map", uid) || write_map(self, "gid_map", gid) ? 1 : 0);
    }
    close(p[0]);
    if (unshare(flags) < 0)
        r = -errno;
    else if (write(p[1], &go, 1) != 1)
        r = -EIO;
    close(p[1]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return r ? r : -errno;
    if (!r && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        r = -EPERM;
    return r;
}

static int capget_now(struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3])
{
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

    return syscall(SYS_capget, &h, d) < 0 ? -errno : 0;
}

int sbx_sys_has_setpcap(void)
{
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    int r = capget_now(d);

    if (r)
        return r;
    return (d[CAP_SETPCAP / 32].effective >> (CAP_SETPCAP % 32)) & 1;
}

int sbx_sys_caps_empty(bool bounds)
{
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    int r = capget_now(d);

    if (r)
        return r;
    for (unsigned i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
        if (d[i].effective || d[i].permitted || d[i].inheritable)
            return -EPERM;
    /* Up to the kernel's last capability: past it, PR_CAPBSET_READ fails with EINVAL. */
    for (int c = 0; bounds && c < 1024; c++) {
        int v = prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0);

        if (v < 0)
            return errno == EINVAL && c > CAP_SETPCAP ? 0 : -errno;
        if (v)
            return -EPERM;
    }
    return 0;
}
