#include "core/coreproc/core_jail.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"
#ifdef CELLVM_TEST_HOOKS
#include "sandbox/probe.h"
#endif

/* The main, control and serial threads plus slack for glibc helpers; the vCPUs come on top. */
#define CORE_EXTRA_TASKS 32

void core_jail_init(struct core_jail *j)
{
    memset(j, 0, sizeof(*j));
#ifdef CELLVM_TEST_HOOKS
    const char *p = getenv("CELLVM_TEST_FORBIDDEN");

    if (p)
        snprintf(j->probe, sizeof(j->probe), "%s", p);
#endif
}

static enum sbx_seccomp mode_of(Cellvm__SeccompMode m)
{
    switch (m) {
    case CELLVM__SECCOMP_MODE__SECCOMP_OFF:
        return SBX_SECCOMP_OFF;
    case CELLVM__SECCOMP_MODE__SECCOMP_LOG:
        return SBX_SECCOMP_LOG;
    default:
        return SBX_SECCOMP_ON;
    }
}

#ifdef CELLVM_TEST_HOOKS
/* Test builds only: attempt the forbidden action named in the environment, so a test can see
 * the filter kill the process (or the call fail with the errno the profile names). */
static void test_probe(const char *action)
{
    int r = sbx_probe(action);

    fprintf(stderr, "test hook: probe %s: %s %d\n", action, r ? "errno" : "allowed", -r);
}
#endif

int core_jail_enter(struct core_jail *j, Cellvm__SeccompMode mode, int chan, const int *fds,
                    size_t nfds, uint32_t max_vcpus, char *err, size_t errlen)
{
    int keep[PB_MAX_CORE_FDS + PB_MAX_ATTACH + 2]; /* the channel, fds, the VM fd */
    struct sbx_config cfg = { .profile = SBX_PROFILE_CORE, .seccomp = mode_of(mode) };
    size_t n = 0;
    int r;

    keep[n++] = chan;
    for (size_t i = 0; i < nfds && i < PB_MAX_CORE_FDS + PB_MAX_ATTACH + 1; i++)
        if (fds[i] >= 0)
            keep[n++] = fds[i];
    cfg.keep_fds = keep;
    cfg.nkeep = n;
    cfg.nproc = (uint64_t)max_vcpus + CORE_EXTRA_TASKS;
    r = sbx_thread_filter_build(SBX_PROFILE_VCPU, cfg.seccomp, &j->vcpu);
    if (r) {
        snprintf(err, errlen, "sandbox: vCPU filter: %s", strerror(-r));
        return r;
    }
    r = sbx_enter(&cfg, err, errlen);
    if (r)
        return r;
#ifdef CELLVM_TEST_HOOKS
    if (j->probe[0] && strncmp(j->probe, "vcpu-", 5))
        test_probe(j->probe);
#endif
    return 0;
}

int core_jail_vcpu_thread(void *arg)
{
    struct core_jail *j = arg;
    int r = sbx_thread_filter_apply(&j->vcpu);

#ifdef CELLVM_TEST_HOOKS
    if (!r && !strncmp(j->probe, "vcpu-", 5))
        test_probe(j->probe + 5);
#endif
    return r;
}

void core_jail_release(struct core_jail *j)
{
    sbx_thread_filter_free(&j->vcpu);
}
