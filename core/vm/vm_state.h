#ifndef CELLVM_CORE_VM_VM_STATE_H
#define CELLVM_CORE_VM_VM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

/*
 * A paused VM's state as the core snapshots it (issue 18): plain data, no pointers into the VM,
 * so vm_state_json.c can turn it into state.json and back without a VM, and vm_snapshot.c can
 * take it from one VM and load it into another. Guest RAM is not in here: it goes to the
 * memory-ranges file, the regions of `ranges` one after the other. Every array is bounded
 * below; vm_state_from_json refuses counts past these bounds.
 */

#define VMS_VERSION      3 /* 2: each device's backend state (DEVICE_STATE); 3: pmem, watchdog */
#define VMS_MAX_VCPUS    255
#define VMS_MAX_MSRS     512
#define VMS_MAX_RANGES   32
#define VMS_MAX_DEVICES  64
#define VMS_MAX_SEGMENTS 96
#define VMS_MAX_QUEUES   64
#define VMS_MAX_VECTORS  80
#define VMS_MAX_CONFIG   256
#define VMS_CFG_SIZE     256
#define VMS_ID_LEN       64
#define VMS_SERIAL_FIFO  64
#define VMS_NVRAM        128
#define VMS_CPU_WORDS    4
#define VMS_MAX_JSON     (64u << 20) /* the largest state.json read back */
#define VMS_MAX_DSTATE   (1u << 20)  /* a backend's DEVICE_STATE blob (VU_DEVSTATE_MAX) */
#define VMS_MAX_PMEM     8           /* GUEST_MEM_MAX_PMEM */
#define VMS_PMEM_ALIGN   (2ull << 20)
#define VMS_WDT_MAX_MS   600000u /* the watchdog's saved times (its period is 15 s) */

/* Memory hotplug (version 3). */
#define VMS_MAX_MEMHP_SLOTS 64             /* ACPI memory hotplug slots (MEM_HOTPLUG_MAX_SLOTS) */
#define VMS_MAX_VMEM        8              /* virtio-mem devices, one per zone at most */
#define VMS_VMEM_BLOCK      (2ull << 20)   /* virtio-mem block size */
#define VMS_VMEM_ALIGN      (128ull << 20) /* virtio-mem regions start and end on this */
#define VMS_VMEM_MAX_REGION (1ull << 40)   /* the largest virtio-mem region */

struct vms_vcpu {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xsave xsave;
    struct kvm_xcrs xcrs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_debugregs debugregs;
    uint32_t mp_state;
    uint32_t nmsrs;
    struct kvm_msr_entry msrs[VMS_MAX_MSRS];
};

struct vms_range {
    uint64_t gpa, size; /* in memory-ranges one after the other, in this order */
};

struct vms_serial {
    uint8_t ier, lcr, mcr, fcr, scr, dll, dlm, lsr_err, msr_delta;
    bool thr_ipending;
    uint8_t rx[VMS_SERIAL_FIFO];
    uint32_t rx_head, rx_count; /* rx_head < VMS_SERIAL_FIFO, rx_count <= VMS_SERIAL_FIFO */
};

struct vms_platform {
    bool serial_present;
    struct vms_serial serial;
    uint8_t rtc_index;
    uint8_t rtc_nvram[VMS_NVRAM];
    uint32_t ged_pending;
    uint32_t pci_hp_sel;
    uint32_t nseg; /* PCI segments of the hotplug registers and host bridges below */
    uint32_t pci_up[VMS_MAX_SEGMENTS], pci_down[VMS_MAX_SEGMENTS];
    uint32_t pci_removing[VMS_MAX_SEGMENTS];          /* removals the guest has not ejected yet */
    uint8_t host_cfg[VMS_MAX_SEGMENTS][VMS_CFG_SIZE]; /* each segment's host bridge */
    uint32_t cf8;
    uint32_t cpu_hp_sel;
    uint64_t cpu_enabled[VMS_CPU_WORDS], cpu_inserting[VMS_CPU_WORDS];
    uint64_t cpu_removing[VMS_CPU_WORDS];
};

struct vms_queue {
    uint16_t size, vector;
    bool enabled;
    uint64_t desc, avail, used;
    bool running;       /* the backend served it when the VM paused */
    uint16_t avail_idx; /* where the backend stopped (GET_VRING_BASE) */
};

/* Where a device's backend state is (state.json's "device_state"). */
enum vms_dstate {
    VMS_DSTATE_NONE = 0,     /* "none": the driver had not started the device */
    VMS_DSTATE_BACKEND = 1,  /* "backend": the blob its backend saved (DEVICE_STATE) */
    VMS_DSTATE_FRONTEND = 2, /* "frontend-only": a backend without DEVICE_STATE, as Cloud
                                Hypervisor v51.0 does it: rings and config only */
};

struct vms_device {
    char id[VMS_ID_LEN + 1];
    uint16_t virtio_id;
    uint32_t seg, slot;
    uint8_t cfg[VMS_CFG_SIZE];
    uint16_t nvec;
    uint8_t msix_table[VMS_MAX_VECTORS][16];
    uint64_t msix_pba[(VMS_MAX_VECTORS + 63) / 64];
    uint64_t driver_features;
    uint32_t dfselect, gfselect;
    uint8_t status, isr, generation;
    uint16_t config_vector, queue_select;
    uint16_t ctrl_avail; /* the queue the core serves itself (net control, vsock event) */
    uint16_t pairs;      /* net with MQ: queue pairs the driver enabled, 0 before */
    uint32_t config_len;
    uint8_t config[VMS_MAX_CONFIG];
    uint16_t nqueues;
    struct vms_queue q[VMS_MAX_QUEUES];
    uint8_t dstate_kind; /* enum vms_dstate */
    uint32_t dstate_len; /* bytes in dstate (BACKEND only), at most VMS_MAX_DSTATE */
    uint8_t *dstate;     /* owned (vm_state_free), NULL when dstate_len is 0 */
};

/* A virtio-pmem device's region (state.json's "pmem"): not RAM, so not in memory-ranges; its
 * content is its file, which config.json names. The restore maps the file at the same place. */
struct vms_pmem {
    char id[VMS_ID_LEN + 1];
    uint64_t gpa, size; /* both multiples of VMS_PMEM_ALIGN */
    bool hot;           /* placed by vm.add-pmem above the PCI windows, not by the boot layout */
};

/* The virtio-watchdog (state.json's "watchdog"), times taken when the VM paused. */
struct vms_watchdog {
    bool present;
    bool armed;             /* the guest pinged since power-on or its last reset */
    uint32_t since_ping_ms; /* armed: from the last ping to the pause */
    uint32_t to_check_ms;   /* armed: from the pause to the check that was due next */
};

/* One slot of the ACPI memory hotplug controller: a region vm.resize added (enabled), and
 * whether the guest has yet to see it (inserting) or to finish a removal (removing). */
struct vms_memhp_slot {
    uint64_t base, size;
    bool enabled, inserting, removing;
};

/* The ACPI memory hotplug controller (state.json's "memory_hotplug"). The enabled slots are
 * the first ones, each a hot-added RAM region of `ranges`, in slot order. */
struct vms_memhp {
    uint32_t nslots;  /* 0: the VM has no ACPI memory hotplug */
    uint32_t sel;     /* MSEL, as the guest last wrote it */
    uint64_t ejected; /* ejects not taken yet, bit = slot */
    struct vms_memhp_slot slot[VMS_MAX_MEMHP_SLOTS];
};

/* A virtio-mem device (state.json's "virtio_mem"), in the order the devices were made. */
struct vms_vmem {
    uint64_t addr, region_size; /* its region, one of `ranges` */
    uint64_t usable_size, plugged_size, requested_size;
    uint64_t *plugged; /* owned: region_size / VMS_VMEM_BLOCK bits, in 64-bit words */
};

/* 64-bit words of a virtio-mem bitmap for a region of region_size bytes. */
static inline uint64_t vms_vmem_words(uint64_t region_size)
{
    return (region_size / VMS_VMEM_BLOCK + 63) / 64;
}

struct vm_state {
    uint32_t version;
    uint32_t nvcpus;       /* vCPUs running: the first nvcpus of max_vcpus */
    uint32_t max_vcpus;    /* the VM's max (the config must agree) */
    struct vms_vcpu *vcpu; /* nvcpus of them; owned (vm_state_free) */
    struct kvm_irqchip pic_master, pic_slave, ioapic;
    struct kvm_clock_data clock;
    uint32_t nranges;
    struct vms_range ranges[VMS_MAX_RANGES];
    struct vms_platform platform;
    uint32_t ndevices;
    struct vms_device *dev; /* ndevices of them; owned */
    uint32_t npmem;
    struct vms_pmem pmem[VMS_MAX_PMEM];
    struct vms_watchdog watchdog;
    struct vms_memhp memhp;
    uint32_t nvmem;
    struct vms_vmem vmem[VMS_MAX_VMEM];
};

/* json-c seeds its string hash with getrandom on first use: done here, before a seccomp
 * filter without getrandom is loaded (the core calls it before its jail). */
void vm_state_json_init(void);

/* Room for nvcpus vCPUs and ndevices devices (everything zeroed). 0 or -ENOMEM/-EINVAL. */
int vm_state_alloc(struct vm_state *s, uint32_t nvcpus, uint32_t ndevices);
void vm_state_free(struct vm_state *s);

/* Bytes of guest RAM the ranges hold (the size memory-ranges must have). */
uint64_t vm_state_ram_size(const struct vm_state *s);

/* memory-ranges of file_size bytes against the ranges: 0, or -EINVAL with err when it is
 * shorter (truncated) or longer than they add up to. */
int vm_state_check_ram(const struct vm_state *s, uint64_t file_size, char *err, size_t errlen);

/* state.json: a new NUL-terminated string (free()), or NULL when out of memory. */
char *vm_state_to_json(const struct vm_state *s);

/*
 * Parses state.json (len bytes) into *s (allocated here; vm_state_free even on failure).
 * Every key is required, every number and string checked against its bound, every blob against
 * its exact size; a different version, a truncated or edited file is refused with one printable
 * line in err naming what is wrong. 0 or -EINVAL/-ENOMEM.
 */
int vm_state_from_json(struct vm_state *s, const char *json, size_t len, char *err, size_t errlen);

#endif
