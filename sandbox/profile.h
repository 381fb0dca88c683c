#ifndef CELLVM_SANDBOX_PROFILE_H
#define CELLVM_SANDBOX_PROFILE_H

#include <stddef.h>

#include <seccomp.h>

/*
 * The seccomp profiles: one allowlist table per process role (and one for the core's vCPU
 * threads), each rule with the reason it is there. Anything not listed kills the whole process
 * (SECCOMP_RET_KILL_PROCESS), or is logged and allowed in SBX_SECCOMP_LOG mode.
 */

enum sbx_profile {
    SBX_PROFILE_CORE,      /* cellvm-core's process-wide filter */
    SBX_PROFILE_VCPU,      /* stacked on the core's filter in every vCPU thread */
    SBX_PROFILE_BLOCKD,    /* cellvm-blockd */
    SBX_PROFILE_NETD,      /* cellvm-netd */
    SBX_PROFILE_API,       /* cellvm-api */
    SBX_PROFILE_VSOCKD,    /* cellvm-vsockd */
    SBX_PROFILE_VSOCKCONN, /* cellvm-vsockd's connector (standalone): sbx_enter_helper only */
    SBX_PROFILE_VFIOD,     /* cellvm-vfiod */
    SBX_PROFILE_RNGD,      /* cellvm-rngd */
    SBX_PROFILE_BALLOOND,  /* cellvm-balloond */
    SBX_PROFILE_CONSOLED,  /* cellvm-consoled */
    SBX_PROFILE_COUNT,
};

/* Cloud Hypervisor's --seccomp true|false|log. */
enum sbx_seccomp {
    SBX_SECCOMP_ON,
    SBX_SECCOMP_OFF,
    SBX_SECCOMP_LOG,
};

/* "core", "vcpu", "blockd", "netd", ...; NULL for an unknown profile. */
const char *sbx_profile_name(enum sbx_profile p);

/* -EINVAL for an unknown name. */
int sbx_profile_from_name(const char *name, enum sbx_profile *out);

/*
 * What follows compiles the rule tables with libseccomp. It lives in the profiles library
 * (profile.c and the rules_*.c tables), which only the build-time generator (bpfgen.c) and the
 * tests link: the shipped binaries load the programs it precompiled (sandbox/bpf.h) and do not
 * need libseccomp at run time.
 */

/*
 * A libseccomp context holding profile p with the default action of mode (which must not be
 * SBX_SECCOMP_OFF). The caller releases it with seccomp_release. NULL and errno on failure.
 */
scmp_filter_ctx sbx_profile_build(enum sbx_profile p, enum sbx_seccomp mode);

/* The same for device-procs/devproc_jail.c's interim allowlist (sbx_rules_interim), the jail of
 * a device process without a hook of its own. */
scmp_filter_ctx sbx_interim_build(enum sbx_seccomp mode);

/* Distinct syscalls profile p allows (rules answering an errno do not count), or -EINVAL. */
int sbx_profile_count_allowed(enum sbx_profile p);

/* Writes profile p (default action kill-process) as libseccomp PFC text to fd. 0 or -errno. */
int sbx_profile_export_pfc(enum sbx_profile p, int fd);

#endif
