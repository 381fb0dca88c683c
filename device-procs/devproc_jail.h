#ifndef CELLVM_DEVICE_PROCS_DEVPROC_JAIL_H
#define CELLVM_DEVICE_PROCS_DEVPROC_JAIL_H

#include <stddef.h>

/* What the seccomp filter does with a syscall outside the allowlist. */
enum devproc_seccomp {
    DEVPROC_SECCOMP_LOG,  /* allowed and logged by the kernel (audit) */
    DEVPROC_SECCOMP_KILL, /* the process dies */
    DEVPROC_SECCOMP_OFF,  /* no filter */
};

/*
 * The fallback jail for a device without an ops->jail hook (the runtime's own test devices);
 * blockd, netd and vsockd enter sandbox/'s sbx_enter through their hooks. User, mount, IPC,
 * UTS and network namespaces where the kernel permits (a refusal is logged, not fatal),
 * dumpable off, no_new_privs, then a seccomp allowlist loaded with TSYNC. Call single-threaded,
 * after every file the device needs is open. 0 or -errno with err filled.
 */
int devproc_jail(enum devproc_seccomp mode, char *err, size_t errlen);

#endif
