#ifndef CELLVM_SANDBOX_JAIL_H
#define CELLVM_SANDBOX_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/profile.h"

/*
 * The one ordered jail routine of every child role, called by the process itself once it holds
 * every fd it will ever need and before any thread exists:
 *
 *   1. close every fd but 0, 1, 2 and cfg->keep_fds; clear the environment; umask 077
 *   2. rlimits: no core dumps, NOFILE and NPROC bounded (NPROC never 0: io_uring workers count)
 *   3. namespaces: started by cellvm (sandbox/spawn.h), the process already sits in new user,
 *      mount, PID, network, IPC, UTS and cgroup namespaces with its uid/gid maps written;
 *      standalone, it unshares them itself here (all but PID) and writes its own maps
 *   4. PR_SET_DUMPABLE 0 (only after the maps: later map writes fail with EACCES)
 *   5. PR_SET_NO_NEW_PRIVS
 *   6. an empty, read-only tmpfs as root via pivot_root, with only cfg->binds inside
 *   7. every capability dropped (bounding and ambient too), securebits locked; a root process
 *      without a user namespace changes to an unprivileged uid first
 *   8. the seccomp profile, loaded with TSYNC (default action kill-process, or log)
 *
 * Any failure is fatal for the caller: the process must not go on half-jailed.
 */

struct sbx_bind {
    const char *src;  /* host directory, absolute */
    const char *name; /* where it appears: /<name> in the new root (one path component) */
    bool writable;
};

struct sbx_config {
    enum sbx_profile profile;
    enum sbx_seccomp seccomp;
    const int *keep_fds; /* kept besides 0, 1, 2; borrowed */
    size_t nkeep;
    uint64_t nofile;  /* 0: the profile's default */
    uint64_t nproc;   /* 0: the profile's default; never set to 0 */
    uint64_t memlock; /* 0: unchanged; raised before the capabilities go (VFIO pinning) */
    const struct sbx_bind *binds;
    size_t nbinds;
    /* Optional out: set true when the process now lives in the new root, so binds are at
       /<name> (false: no mount namespace was possible and host paths still apply). */
    bool *rooted;
};

/* 0, or -errno with a one-line reason in err. */
int sbx_enter(const struct sbx_config *cfg, char *err, size_t errlen);

/*
 * For a helper that must keep its parent's identity and file system view because that is its
 * job (vsockd's connector, which connects to host sockets as the invoking user): step 1 without
 * touching the environment, then steps 4, 5 and 8 with cfg->profile, which must be a helper
 * profile (SBX_PROFILE_VSOCKCONN). No namespace, no new root, capabilities unchanged: the
 * filter is what confines it. binds, rlimits and rooted are ignored. 0 or -errno with err.
 */
int sbx_enter_helper(const struct sbx_config *cfg, char *err, size_t errlen);

/*
 * A per-thread filter taken before the process filter is loaded and applied by each thread to
 * itself (e.g. the core's vCPU threads), stacked on the process filter. The core's profile
 * allows the seccomp() call this needs. The program is the precompiled one (sandbox/bpf.h).
 */
struct sbx_thread_filter {
    const void *prog; /* struct sock_filter array; static, not owned */
    uint16_t len;     /* instructions; 0 when no filter applies (--seccomp false) */
};

int sbx_thread_filter_build(enum sbx_profile p, enum sbx_seccomp mode,
                            struct sbx_thread_filter *out);
/* Applies f to the calling thread only. 0 or -errno; a no-op for an empty filter. */
int sbx_thread_filter_apply(const struct sbx_thread_filter *f);
/* Forgets the program (kept for symmetry: there is nothing to free). */
void sbx_thread_filter_free(struct sbx_thread_filter *f);

#endif
