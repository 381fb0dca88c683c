#ifndef CELLVM_SANDBOX_AUDIT_H
#define CELLVM_SANDBOX_AUDIT_H

#include <sys/types.h>

/*
 * The kernel's seccomp audit records (`audit: type=1326 ... pid=P ... sig=31 ... syscall=N`),
 * read from /dev/kmsg so the controller can say which syscall killed a child.
 */

/* Opens /dev/kmsg positioned after the records that exist now. -errno when it cannot be read
 * (unprivileged with kernel.dmesg_restrict=1): reports then go without the syscall. */
int sbx_audit_open(void);

/*
 * The syscall number of the newest seccomp record for pid (as the caller's PID namespace
 * names it; the kernel writes the initial namespace's pid), waiting up to wait_ms for kauditd
 * to print it. -ENOENT when there is none.
 */
int sbx_audit_syscall(int kmsg_fd, pid_t pid, int wait_ms);

/* The name of a syscall number ("openat"), or "?", written into buf; returns buf. */
const char *sbx_syscall_name(int nr, char *buf, size_t len);

#endif
