#ifndef CELLVM_PROTO_VALIDATE_H
#define CELLVM_PROTO_VALIDATE_H

#include <stddef.h>

#include "control.pb-c.h"

/* Bounds shared by the validators and by the code that fills messages. */
#define PB_MAX_ID_LEN        64
#define PB_MAX_MESSAGE_LEN   512
#define PB_MAX_CMDLINE_LEN   65535 /* as the CLI: Cloud Hypervisor's 64 KiB with the NUL */
#define PB_MAX_VCPUS         255
#define PB_MAX_CORE_FDS      16             /* IPC_MAX_FDS: all fds travel in one packet */
#define PB_MAX_ZONES         8              /* memory zones (one CORE_FD_MEMORY fd each) */
#define PB_MAX_NUMA_NODES    64             /* guest NUMA node ids are below this */
#define PB_MAX_ATTACH        64             /* virtio devices one core serves (AttachDevice) */
#define PB_MAX_DEVICE_QUEUES 64             /* queues of one virtio device */
#define PB_MAX_PCI_SEGMENTS  96             /* --platform num_pci_segments, as Cloud Hypervisor */
#define PB_MAX_OEM_STRINGS   255            /* --platform oem_strings (type 11 counts in a byte) */
#define PB_MAX_SMBIOS_TEXT   3072           /* serial_number and oem_strings, each with its NUL */
#define PB_MAX_HOTPLUG_SIZE  (1ull << 40)   /* --memory hotplug_size, as memory.size's cap */
#define PB_HOTPLUG_BLOCK     (128ull << 20) /* hot-added ACPI memory: multiples of 128 MiB */
#define PB_VIRTIO_MEM_BLOCK  (2ull << 20)   /* virtio-mem block size (Cloud Hypervisor's) */
#define PB_MAX_PMEM          8              /* virtio-pmem devices (--pmem), one fd each */
#define PB_PMEM_ALIGN        (2ull << 20)   /* their sizes, as Cloud Hypervisor */
#define PB_MAX_PMEM_SIZE     (1ull << 44)   /* 16 TiB: below the 2^52 guest-physical limit */

/* VmMigrate.config_json (issue 18): the VmConfig JSON fits one IPC_MAX_PACKET. */
#define IPC_PB_MAX_CONFIG_JSON (96 * 1024)

/*
 * Each validator checks a message just unpacked from a peer. On failure it returns -EINVAL
 * and points *why at a static string naming the offending field. nfds is the number of fds
 * that arrived in SCM_RIGHTS with the packet; messages that describe fds must match it.
 */
int pb_validate_hello(const Cellvm__Hello *m, const char **why);
int pb_validate_error(const Cellvm__Error *m, const char **why);
int pb_validate_exit_status(const Cellvm__ExitStatus *m, const char **why);
int pb_validate_core_config(const Cellvm__CoreConfig *m, size_t nfds, const char **why);
int pb_validate_attach_device(const Cellvm__AttachDevice *m, size_t nfds, const char **why);
int pb_validate_device_reconnected(const Cellvm__DeviceReconnected *m, const char **why);
int pb_validate_device_lost(const Cellvm__DeviceLost *m, const char **why);
int pb_validate_vfio_detach(const Cellvm__VfioDetach *m, const char **why);
int pb_validate_device_added(const Cellvm__DeviceAdded *m, const char **why);
int pb_validate_device_remove(const Cellvm__DeviceRemove *m, const char **why);
int pb_validate_device_ejected(const Cellvm__DeviceEjected *m, const char **why);
int pb_validate_vm_resize(const Cellvm__VmResize *m, const char **why);
int pb_validate_vm_resize_done(const Cellvm__VmResizeDone *m, const char **why);
/* AddMemory carries exactly one fd (the new memfd). */
/* virtio-mem resize (issue 17): controller <-> core. */
int pb_validate_virtio_mem_resize(const Cellvm__VirtioMemResize *m, const char **why);
int pb_validate_virtio_mem_resized(const Cellvm__VirtioMemResized *m, const char **why);
int pb_validate_add_memory(const Cellvm__AddMemory *m, size_t nfds, const char **why);
/* AddPmem carries exactly one fd (the file); its PmemDevice as in CoreConfig, fd_index 0. */
int pb_validate_add_pmem(const Cellvm__AddPmem *m, size_t nfds, const char **why);
int pb_validate_memory_added(const Cellvm__MemoryAdded *m, const char **why);
/* VmSnapshot carries exactly two fds (state.json, memory-ranges). */
int pb_validate_vm_snapshot(const Cellvm__VmSnapshot *m, size_t nfds, const char **why);
int pb_validate_snapshot_done(const Cellvm__SnapshotDone *m, const char **why);
int pb_validate_vm_migrate(const Cellvm__VmMigrate *m, size_t nfds, const char **why);
int pb_validate_migration_step(const Cellvm__MigrationStep *m, const char **why);
int pb_validate_migration_locks(const Cellvm__MigrationLocks *m, const char **why);
int pb_validate_envelope(const Cellvm__Envelope *m, size_t nfds, const char **why);

#endif
