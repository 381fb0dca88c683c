#ifndef CELLVM_SANDBOX_JAIL_SYS_H
#define CELLVM_SANDBOX_JAIL_SYS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Thin wrappers around the side-effecting calls of the jail, so they are read in one place.
 * Each returns 0 or -errno. */
int sbx_sys_set_dumpable(bool on);
int sbx_sys_set_no_new_privs(void);
int sbx_sys_set_pdeathsig(int sig);
/* Makes every mount private, mounts an empty tmpfs on dir (mode 0755). */
int sbx_sys_mount_tmpfs(const char *dir);
int sbx_sys_bind(const char *src, const char *dst, bool writable);
/* pivot_root into dir (which must be a mount point), detaching the old root; then chdir "/"
 * and remount the new root read-only. */
int sbx_sys_pivot_into(const char *dir);
/* unshare(flags), CLONE_NEWUSER among them, by a root process: a helper child forked first
 * stays in the old user namespace and maps the new one's uid/gid 0 to host uid/gid (the
 * process itself could map only its own ids), so the process, once it takes ids 0 inside
 * (sbx_sys_become), holds no host privilege. Until then it keeps host uid 0 for file access. */
int sbx_sys_unshare_mapped(int flags, uid_t uid, gid_t gid);
/* setgroups(0), setresgid and setresuid to uid/gid (ids of the caller's user namespace). */
int sbx_sys_become(uid_t uid, gid_t gid);
/* The kernel's view of the calling thread's capabilities, for the checks around libcap-ng's
 * drop: capget, and PR_CAPBSET_READ for the bounding set (libcap-ng's full read is some 80
 * prctl calls in a jail with no /proc, 0.65 us each on a host whose syscalls are slow). 1 if
 * CAP_SETPCAP is effective, 0 if not, or -errno. */
int sbx_sys_has_setpcap(void);
/* 0 when no capability is left: effective, permitted and inheritable empty (ambient is a
 * subset of permitted) and, with bounds, the bounding set empty; -EPERM otherwise, -errno on
 * failure. */
int sbx_sys_caps_empty(bool bounds);

#endif
