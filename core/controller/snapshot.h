/* vm.snapshot and vm.restore (issue 18), the controller's half: the snapshot directory in Cloud
 * Hypervisor's layout (config.json, state.json, memory-ranges). The controller opens every
 * file and writes config.json; the core, which never opens a path, writes state.json and guest
 * RAM into the fds it is handed and reads them back on restore. */
#ifndef CELLVM_CORE_CONTROLLER_SNAPSHOT_H
#define CELLVM_CORE_CONTROLLER_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/controller/api_ctl.h"
#include "core/controller/restore_net.h"

#define SNAPSHOT_CONFIG_MAX (1u << 20) /* the largest config.json read back */

/* What Cloud Hypervisor v51.0 refuses to snapshot or migrate (a VFIO device), and what cellvm
 * cannot yet (snapshot_check.h: hot-added RAM, memory zones, virtio-mem, virtio-pmem,
 * virtio-watchdog): a printable reason naming verb ("snapshot", "migrate") in buf, or NULL if
 * none. */
const char *snapshot_refusal(struct api_ctl *a, const char *verb, char *buf, size_t len);

/* A VmConfig JSON (config.json, a migration's Config) to a configuration, through vm.create's
 * parser and the command line's checks. 0 or -errno with err (*out left empty). */
int snapshot_parse_config(const char *json, size_t len, struct cli_config *out, char *err,
                          size_t errlen);

/* vm.snapshot {"destination_url":"file:///dir"}: answered when the core's SnapshotDone comes. */
void snapshot_request(struct api_ctl *a, uint64_t id, const Cellvm__ApiVmSnapshotConfig *sc);
void snapshot_on_done(struct api_ctl *a, const Cellvm__SnapshotDone *d);
/* The VM ended first: a pending snapshot fails with why and its files go. */
void snapshot_abort(struct api_ctl *a, const char *why);
void snapshot_close(struct api_ctl *a);

/* vm.restore's net_fds / --restore's: fds (owned by the caller) for the nets v names. */
struct restore_nets {
    const struct restore_net_fds *v;
    size_t n;
    const int *fds;
    size_t nfds;
};

/*
 * The VM of the snapshot at url becomes the configuration (config.json through the same parser
 * and checks as vm.create; prefault turns guest RAM prefaulting on; nets, if not NULL, replace
 * the fd lists of the nets they name, restore_net.h) and state.json and memory-ranges are
 * opened for the core; the boot that follows restores instead. 0, or -errno with err (nothing
 * changed).
 */
int restore_load(struct api_ctl *a, const char *url, bool prefault, const struct restore_nets *nets,
                 char *err, size_t errlen);

/* vm.restore {"source_url":...,"prefault":bool,"net_fds":[...]}: only without a VM; answered
 * like vm.boot. Takes the nfds fds (net_fds' TAPs) in every case. */
void restore_request(struct api_ctl *a, uint64_t id, const Cellvm__ApiRestoreConfig *rc, int *fds,
                     size_t nfds);
/* The core is Ready: a restored VM is Paused. */
void restore_on_ready(struct api_ctl *a);
/* The restore failed: no VM is left (state none), the fds are closed. */
void restore_on_failed(struct api_ctl *a);
/* The core has the snapshot fds: the controller's copies are closed. */
void restore_fds_sent(struct api_ctl *a);

#endif
