#ifndef CELLVM_CORE_CONTROLLER_LANDLOCK_CTL_H
#define CELLVM_CORE_CONTROLLER_LANDLOCK_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cli/cli.h"
#include "sandbox/landlock.h"

struct controller;

/*
 * --landlock (issue 20), Cloud Hypervisor v51.0's meaning: once the VM is configured (here:
 * once its first boot has opened what the VM needs and started its processes), the controller
 * restricts itself with Landlock to the paths its configuration names plus --landlock-rules.
 * From then on every path an API request brings (vm.add-disk, vm.add-pmem, vm.snapshot's
 * destination, ...) that lies outside them fails to open with EACCES, and the API answer says
 * that Landlock refused it. The children are never restricted: they start from the spawner
 * forked just before (spawner.h), and jail themselves as always.
 *
 * The rules, Cloud Hypervisor's (vmm/src/vm_config.rs) unless said: memory zone files rw,
 * disk paths rw, the rng source r (/dev/urandom by default), fs sockets rw, pmem files r with
 * discard_writes, rw otherwise, serial/console files and sockets rw, /dev/vfio/vfio and each
 * --device's /dev/vfio/<group> rw (its real IOMMU group), user-device sockets rw, the vsock
 * socket rw and its directory w, kernel, initramfs, firmware r, /dev/net/tun rw when there is
 * a --net, then --landlock-rules. cellvm adds what a vm.boot after vm.shutdown opens again and
 * Cloud Hypervisor opens only once: /dev/kvm and /dev/null rw, the host's NUMA node list r,
 * and /dev/ptmx and /dev/pts rw for a pty serial or console. Paths that do not exist are left out, but --landlock-rules paths, which
 * must exist.
 */

#define LANDLOCK_CTL_MAX_RULES 640

struct landlock_rules {
    struct sbx_ll_rule v[LANDLOCK_CTL_MAX_RULES];
    size_t n;
    char *owned[CLI_MAX_DEVICES + 1]; /* formatted paths (VFIO groups, the vsock directory) */
    size_t nowned;
};

/* The rules for cfg; paths borrowed from cfg or owned by out. 0, or -ENOMEM / -E2BIG with
 * err. Call landlock_rules_free either way. */
int landlock_rules_build(const struct cli_config *cfg, struct landlock_rules *out, char *err,
                         size_t errlen);
void landlock_rules_free(struct landlock_rules *r);

/* When cfg asks for it and it has not happened yet: forks the spawner, restricts the
 * controller and routes every later child through the spawner. 0, or -errno with ctl->err:
 * as in Cloud Hypervisor a kernel without Landlock fails the VM when --landlock was given. */
int landlock_ctl_apply(struct controller *ctl);
/* The kernel check alone, before the VM starts anything: 0, or -errno with ctl->err. */
int landlock_ctl_check(struct controller *ctl);

/* The note an API answer gets when an open was refused with EACCES under Landlock. */
#define LANDLOCK_CTL_REFUSED                                                                   \
    " (refused by Landlock: the VMM runs with --landlock and may reach only the paths of its " \
    "configuration and --landlock-rules)"

#endif
