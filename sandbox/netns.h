#ifndef CELLVM_SANDBOX_NETNS_H
#define CELLVM_SANDBOX_NETNS_H

/*
 * One empty network namespace for all of a VM's jailed processes (sandbox/spawn.h) instead of
 * one each. Creating a network namespace is most of a child's clone3 here (0.45 ms: loopback
 * device, sysctl tables, /proc/net), and each one's teardown later holds the RTNL and waits for
 * RCU grace periods on a kernel worker, beside the TAP removals at the VM's end; with a disk, a
 * NIC and a vsock device that was four namespaces per VM.
 *
 * The namespace is owned by the host's user namespace, so no child (root only of its own user
 * namespace) can configure it: it holds a loopback device that is down, nothing else. What the
 * processes of one VM share in it is the abstract AF_UNIX namespace: no profile of a process
 * given this namespace allows bind (the API process, which binds one, gets its own). Needs
 * CAP_SYS_ADMIN (cellvm run as root); without it every child gets its own, as before.
 */
struct sbx_netns {
    int vm;   /* the shared namespace, or -1 (then children get one each); owned */
    int host; /* the namespace the caller lives in; owned */
};

void sbx_netns_init(struct sbx_netns *n);
/* Makes it (root only), on the calling thread, which stays in the host's namespace: 0 once
 * made (or made before), or -errno (then n->vm stays -1); -ENOTRECOVERABLE when the thread
 * could not go back to the host's namespace, where nothing more may be done in it. */
int sbx_netns_make(struct sbx_netns *n);
void sbx_netns_close(struct sbx_netns *n);

/* Moves the calling thread into n->vm: 0 once there (call sbx_netns_leave right after the
 * clone), or -errno (nothing changed). */
int sbx_netns_enter(const struct sbx_netns *n);
/* Back to n->host: 0, or -errno (the thread is left in the VM's namespace, where the
 * controller's later sockets and TAPs must not be made: the caller fails the start). */
int sbx_netns_leave(const struct sbx_netns *n);

#endif
