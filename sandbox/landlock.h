#ifndef CELLVM_SANDBOX_LANDLOCK_H
#define CELLVM_SANDBOX_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Landlock for the controller (--landlock, Cloud Hypervisor v51.0's meaning): the process
 * restricts itself so that paths outside its rules can no longer be opened (EACCES). Cloud
 * Hypervisor asks for Landlock ABI 3's filesystem rights, best effort: what the running kernel
 * lacks is dropped (ABI 1 has no REFER, ABI 1 and 2 no TRUNCATE). cellvm does the same with the
 * raw syscalls; rights of later ABIs (IOCTL_DEV, network, scopes) are not asked for, as in
 * Cloud Hypervisor, so signals and ioctls on fds opened before stay as they were.
 *
 * Access is Cloud Hypervisor's: "r" (execute, read files, read directories), "w" (write
 * files, create/remove entries of every kind, refer, truncate) or both (the strings are parsed
 * by core/cli/cli_landlock.h).
 */

#define SBX_LL_READ  1u
#define SBX_LL_WRITE 2u

/* The ABI Cloud Hypervisor asks for; rights of later ABIs are left alone. */
#define SBX_LL_TARGET_ABI 3

struct sbx_ll_rule {
    const char *path; /* borrowed */
    unsigned access;  /* SBX_LL_READ | SBX_LL_WRITE */
    bool optional;    /* a path that does not exist (yet) is left out instead of failing */
};

/* The filesystem rights the ruleset handles on a kernel of this ABI (capped at the target);
 * 0 when abi < 1 (no Landlock). */
uint64_t sbx_ll_handled(int abi);

/* The rights a rule grants for access on a directory or on anything else (a file, a device,
 * a socket: rights that only mean something on a directory are left out, as the kernel
 * refuses them there), within what sbx_ll_handled(abi) handles. */
uint64_t sbx_ll_rights(unsigned access, int abi, bool is_dir);

/* The running kernel's Landlock ABI version (>= 1), or -errno: -EOPNOTSUPP when Landlock is
 * built in but disabled at boot, -ENOSYS when the kernel has none. */
int sbx_ll_abi(void);

/*
 * Restricts the calling process (every thread must call it, or only one exists: the
 * controller is single-threaded) to rules[0..n): no_new_privs, then one ruleset whose rules
 * are opened here with O_PATH. A rule whose path cannot be opened (but an optional one that
 * does not exist) fails the whole call (-errno, and the path in why), before anything is
 * restricted. Returns the ABI used (>= 1).
 */
int sbx_ll_restrict(const struct sbx_ll_rule *rules, size_t n, char *why, size_t whylen);

#endif
