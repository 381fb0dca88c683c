#ifndef CELLVM_SANDBOX_BPF_H
#define CELLVM_SANDBOX_BPF_H

#include <linux/filter.h>
#include <stdint.h>

#include "sandbox/profile.h"

/*
 * The seccomp profiles as BPF programs compiled at build time: sandbox/bpfgen.c runs the rule
 * tables through libseccomp on the build machine and writes them out as constant arrays, so no
 * process compiles a filter at run time and the shipped binaries need no libseccomp. The
 * unit tests hold every program byte for byte to a fresh libseccomp export of its table.
 *
 * ABI caveat: the programs are what the build machine's libseccomp generates for x86_64, the
 * only architecture cellvm runs on; the build refuses to cross-compile them. libseccomp also
 * decides at build time, from the build machine's kernel, whether the default action
 * SECCOMP_RET_KILL_PROCESS is available (kernel 4.14 and later); a host kernel older than the
 * build machine's may not know an action the programs use.
 */

/* The program of profile p in mode (SBX_SECCOMP_ON: anything else kills the process;
 * SBX_SECCOMP_LOG: anything else is logged and allowed), for seccomp(SECCOMP_SET_MODE_FILTER).
 * 0, or -EINVAL for an unknown profile or SBX_SECCOMP_OFF. The program is never freed. */
int sbx_bpf_get(enum sbx_profile p, enum sbx_seccomp mode, const struct sock_filter **prog,
                uint16_t *len);

/* The same for device-procs/devproc_jail.c's interim allowlist (sbx_interim_build). */
int sbx_bpf_get_interim(enum sbx_seccomp mode, const struct sock_filter **prog, uint16_t *len);

/* Loads prog for every thread of the process: seccomp(SECCOMP_SET_MODE_FILTER) with
 * SECCOMP_FILTER_FLAG_TSYNC (-ESRCH when a thread cannot take it). no_new_privs must be set
 * already. 0 or -errno. */
int sbx_bpf_load(const struct sock_filter *prog, uint16_t len);
/* The same for the calling thread only (the vCPU threads' narrower filter). */
int sbx_bpf_load_thread(const struct sock_filter *prog, uint16_t len);

/* The x86_64 name of syscall nr ("openat") as libseccomp named it at build time, or NULL. */
const char *sbx_bpf_syscall_name(int nr);

#endif
