#ifndef CELLVM_CORE_VM_VM_SYS_H
#define CELLVM_CORE_VM_VM_SYS_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>

/* The few side-effecting syscalls of core/vm other than KVM ioctls (see kvm_ioctl.h). */

/* Maps a vCPU's struct kvm_run (shared, read-write). NULL with errno set on failure. */
void *vm_sys_map_vcpu_run(int vcpu_fd, size_t size);
void vm_sys_unmap(void *addr, size_t size);
/* Maps size bytes of a guest RAM fd shared, read-write (hot-added memory). NULL with errno. */
void *vm_sys_map_ram(int fd, size_t size);
/* Maps size bytes of a hot-added pmem file (vm.add-pmem), shared read-write, or private with
 * discard_writes; the fd must be a regular file of at least size bytes (a page past its end
 * would fault SIGBUS in the core). 0 with *out, or -errno. */
int vm_sys_map_pmem(int fd, uint64_t size, int discard_writes, uint8_t **out);
/* Frees [offset, offset + len) of a guest memory fd; its size stays (an unplugged virtio-mem
 * block: every process mapping it sees zeros, the host gets the pages back). 0 or -errno. */
int vm_sys_punch_hole(int fd, uint64_t offset, uint64_t len);

/* fdatasync: a virtio-pmem FLUSH makes its file durable. 0 or -errno. */
int vm_sys_fdatasync(int fd);

/*
 * Installs a do-nothing handler for the signal that kicks vCPU threads out of KVM_RUN. The
 * handler only has to exist so that delivery interrupts the ioctl instead of killing the
 * process; SA_RESTART keeps other blocking calls of those threads (serial output) going.
 */
int vm_sys_install_kick_handler(int signo);

/* pthread_setaffinity_np: pins a vCPU thread (--cpus affinity). 0 or -errno. */
int vm_sys_pin_thread(pthread_t thread, size_t setsize, const cpu_set_t *set);

#endif
