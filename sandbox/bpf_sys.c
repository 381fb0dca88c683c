#include <errno.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/bpf.h"

static long load(unsigned flags, const struct sock_filter *prog, uint16_t len)
{
    struct sock_fprog fp = { .len = len, .filter = (struct sock_filter *)prog };

    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fp);
}

int sbx_bpf_load(const struct sock_filter *prog, uint16_t len)
{
    long r = load(SECCOMP_FILTER_FLAG_TSYNC, prog, len);

    /* With TSYNC a positive answer is the id of a thread that could not take the filter. */
    if (r < 0)
        return -errno;
    return r ? -ESRCH : 0;
}

int sbx_bpf_load_thread(const struct sock_filter *prog, uint16_t len)
{
    return load(0, prog, len) < 0 ? -errno : 0;
}
