#ifndef CELLVM_SANDBOX_PROBE_H
#define CELLVM_SANDBOX_PROBE_H

/*
 * Forbidden actions a jailed process attempts on request, to prove its profile: compiled only
 * into the sandbox tests and the test-only copies of the daemons in tests/sandbox/hooked
 * (CELLVM_TEST_HOOKS), never into an installed binary.
 *
 *   open       openat of a host file        exec        execve of /bin/true
 *   socket-tcp an AF_INET stream socket     ptrace      PTRACE_TRACEME
 *   mount      a tmpfs mount                mmap-exec   an executable anonymous mapping
 *   fork       clone without thread flags   clone3      clone3 (answered with ENOSYS)
 *   eventfd    an eventfd (allowed in the core process, not in its vCPU threads)
 */

/* Attempts the action: returns -errno of the refused call, 0 if it was (wrongly) allowed, or
 * does not return (the filter killed the process). -EINVAL for an unknown action. */
int sbx_probe(const char *action);

/* The syscall number the action is made of (what the audit record must name), or -EINVAL. */
int sbx_probe_syscall(const char *action);

#endif
