#ifndef CELLVM_DEVICE_PROCS_DEVMEM_GUARD_H
#define CELLVM_DEVICE_PROCS_DEVMEM_GUARD_H

/*
 * Survives a frontend shrinking a file the backend has mapped. Sealed memfds cannot shrink, but
 * a regular file (QEMU's memory-backend-file) can be truncated at any time, and touching a page
 * past its new end raises SIGBUS in whichever thread touched it.
 *
 * Why a handler that patches the mapping rather than sigsetjmp recovery points: guest memory is
 * touched in many places (virtq, every device's copy loops, io_uring buffers the kernel fills
 * without a fault), and a recovery point around each would have to unwind through device code
 * that holds locks and half-built elements. Mapping an anonymous zero page over the faulting page
 * instead lets the faulting access finish harmlessly wherever it is; the mapping is then marked
 * broken, virtq_pop refuses to hand out anything more from that memory table (-EFAULT: the
 * device breaks the ring and reports NEEDS_RESET through its usual path), and one line is
 * logged per mapping, naming it (guest memory, the inflight buffer, a disk image). mmap is async-signal-safe, and the profiles already allow a non-executable
 * anonymous mmap and rt_sigaction/rt_sigreturn, so no syscall is added.
 *
 * The handler gets no context pointer, so the table of guarded mappings is process-wide: the
 * runtime's one piece of global state, written only by the control thread between quiesced
 * queues (devmem's own rule) and read from the handler with atomics.
 */

#include <stdbool.h>
#include <stdint.h>

/* Installs the SIGBUS handler once per process (idempotent). 0 or -errno. */
int devmem_guard_install(void);

/*
 * Guards [base, base + len). On a fault there the page is replaced, *broken (if not NULL) set to
 * 1, and one line logged: what (a string that outlives the slot, such as a literal, naming the
 * mapping: "cellvm-blockd: the disk image") followed by " shrank under its mapping ...". Returns
 * a slot for devmem_guard_remove, or -ENOSPC when the table is full.
 */
int devmem_guard_add(void *base, uint64_t len, int *broken, const char *what);

/* Stops guarding a slot (before its mapping goes away). A negative slot is ignored. */
void devmem_guard_remove(int slot);

/* True once a fault was repaired in this slot. */
bool devmem_guard_hit(int slot);

#endif
