#include "sandbox/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#define THREAD_NET_NS "/proc/thread-self/ns/net"

void sbx_netns_init(struct sbx_netns *n)
{
    n->vm = -1;
    n->host = -1;
}

int sbx_netns_make(struct sbx_netns *n)
{
    int r = 0, vm = -1;

    if (n->vm >= 0)
        return 0;
    if (geteuid() != 0)
        return -EPERM;
    if (n->host < 0)
        n->host = open(THREAD_NET_NS, O_RDONLY | O_CLOEXEC);
    if (n->host < 0)
        return -errno;
    if (unshare(CLONE_NEWNET) < 0)
        return -errno;
    vm = open(THREAD_NET_NS, O_RDONLY | O_CLOEXEC);
    if (vm < 0)
        r = -errno;
    /* Back home in any case; if even that fails, this thread's later sockets and TAPs would
     * land in the new namespace: the caller must give up. */
    if (setns(n->host, CLONE_NEWNET) < 0) {
        if (vm >= 0)
            close(vm);
        return -ENOTRECOVERABLE;
    }
    n->vm = vm;
    return r;
}

void sbx_netns_close(struct sbx_netns *n)
{
    if (n->vm >= 0)
        close(n->vm);
    if (n->host >= 0)
        close(n->host);
    n->vm = -1;
    n->host = -1;
}

int sbx_netns_enter(const struct sbx_netns *n)
{
    if (n->vm < 0 || n->host < 0)
        return -ENOENT;
    return setns(n->vm, CLONE_NEWNET) < 0 ? -errno : 0;
}

int sbx_netns_leave(const struct sbx_netns *n)
{
    return setns(n->host, CLONE_NEWNET) < 0 ? -errno : 0;
}
