#ifndef CELLVM_SANDBOX_JAIL_SYS_H
#define CELLVM_SANDBOX_JAIL_SYS_H

#include <stdbool.h>
#include <stdint.h>

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
/* seccomp(SECCOMP_SET_MODE_FILTER) for the calling thread only. */
int sbx_sys_seccomp_thread(const void *insns, uint16_t len);

#endif
