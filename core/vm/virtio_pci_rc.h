#ifndef CELLVM_CORE_VM_VIRTIO_PCI_RC_H
#define CELLVM_CORE_VM_VIRTIO_PCI_RC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vm/virtio_pci.h"
#include "core/vm/virtio_pci_vu.h"

/*
 * Reconnecting a device whose backend process the controller replaced (issue 19). When the
 * backend goes away the device keeps its transport state and waits; the guest sees nothing but
 * slow requests. A new connection (vpci_rc_post) is negotiated on the frontend thread with the
 * protocol features the old one had, then, if the driver had started the device: the same
 * virtio features (the replacement must offer them), the memory table, the inflight region
 * (SET_INFLIGHT_FD, before any ring) and every ring that ran, from where it was. The position
 * comes from guest memory and the inflight region, not from the dead backend: the used index
 * plus the heads still marked in flight, which the new backend resubmits before it reads the
 * avail ring again (device-procs/inflight.c does the same reconciliation of the used ring).
 * Each restarted ring is kicked and its call fd signalled once, for requests and completions
 * the old backend took or made without telling anyone.
 */

/* Control thread: hands in the connection to d's replacement (taken over). 0, or -ENODEV
 * when d is not replaced by the controller or failed for good (sock closed). */
int vpci_rc_post(struct vpci_dev *d, int sock);

/* Frontend thread: takes a posted connection and reconnects; the result goes to
 * ctx->reconnected. */
void vpci_rc_poll(struct vpci_worker *w, struct vpci_dev *d);

/* Frontend thread: the backend is gone (what, r: why). Drops the connection; the rings it ran
 * are remembered for the next one. */
void vpci_rc_lost(struct vpci_dev *d, const char *what, int r);

/* Frontend thread, before queued work: true when there is no backend to do it. A stop (guest
 * reset) is done here: nothing of the old rings is kept. */
bool vpci_rc_hold_work(struct vpci_dev *d);

/* Frontend thread, for a VM pause (stop) or resume of d: true when d has no backend; a resume
 * then leaves the paused rings to the reconnection. */
bool vpci_rc_skip_pause(struct vpci_dev *d, struct vpci_paused *ps, bool stop);

/* GET_INFLIGHT_FD at ring setup (queue_size: the rings' size), when negotiated; the region is
 * kept for a replacement. A failure only means nothing is resubmitted after a crash. */
void vpci_rc_inflight_get(struct vpci_dev *d, uint16_t queue_size);
/* Forgets the region (guest reset). */
void vpci_rc_inflight_drop(struct vpci_dev *d);
/* A vsock device whose streams were left behind (a restored or migrated VM, whose backend
 * is a new process): one TRANSPORT_RESET on the event queue the core keeps, if the driver
 * posted a buffer for it. Frontend thread, lock not held; a no-op for other devices. */
void vpci_rc_transport_reset(struct vpci_dev *d);

void vpci_rc_destroy(struct vpci_dev *d);

#endif
