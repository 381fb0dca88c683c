#ifndef CELLVM_CORE_CONTROLLER_BALLOON_CTL_H
#define CELLVM_CORE_CONTROLLER_BALLOON_CTL_H

/*
 * The controller's side of --balloon (issue 17): vm.resize desired_balloon and what vm.info
 * shows. The device is cellvm-balloond (row "__balloon", as Cloud Hypervisor names it): the
 * target goes to it as a BalloonTarget, and the guest's `actual` comes back as BalloonActual
 * (devices.c keeps it in the row).
 */

#include <stddef.h>
#include <stdint.h>

struct api_ctl;

/*
 * desired_balloon against the configuration: 0, or the HTTP status to answer with why in msg:
 * 500 without a balloon (Cloud Hypervisor's MissingVirtioBalloon), 400 for a balloon as big as
 * the RAM or bigger (a size CH's --balloon refuses too).
 */
uint32_t balloon_ctl_check(const struct api_ctl *a, uint64_t want, char *msg, size_t len);

/* Applies a checked desired_balloon: the configuration's size (vm.info, the next boot, a
 * replacement balloond) and, on a running VM, the daemon's target. */
void balloon_ctl_set(struct api_ctl *a, uint64_t want);

/* A VFIO or vfio-user device is being hot-added (before its process starts): balloond stops
 * punching, and a replacement starts with discard=off. */
void balloon_ctl_no_discard(struct api_ctl *a);

/* Bytes the guest has in its balloon now (0 without a balloon or a running VM), never more
 * than the RAM: vm.info's memory_actual_size is the RAM less this. */
uint64_t balloon_ctl_actual(const struct api_ctl *a);

#endif
