#include <errno.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/bpf.h"

int sbx_bpf_load(const struct sock_filter *prog, uint16_t len)
{
    struct sock_fprog fp = { .len = len, .filter = (struct sock_filter *)prog };
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp);

    /* With TSYNC a positive answer is the id of a thread that could not take the filter. */
    if (r < 0)
        return -errno;
    return r ? -ESRCH : 0;
}
