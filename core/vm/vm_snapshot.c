#include "core/vm/vm_snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vm/kvm_ioctl.h"
#include "core/vm/kvm_ioctl_state.h"
#include "core/vm/virtio_mem.h"

/*
 * vm_snapshot and the restore half of vm_create (issue 18): the vCPUs (registers, XSAVE, XCRs,
 * LAPIC, events, debug registers, MP state, every MSR KVM lists), the in-kernel PICs and IOAPIC,
 * kvmclock, the platform devices, and guest RAM, which goes to memory-ranges straight from the
 * core's mapping (all-zero pages left as holes) and comes back with pread into it.
 */

/* state.json's bounds are the VM's own: a state that fits one fits the other. */
_Static_assert(VMS_CPU_WORDS == CPU_HOTPLUG_WORDS, "vCPU hotplug bitmaps");
_Static_assert(VMS_MAX_SEGMENTS == PCI_MAX_SEGMENTS, "PCI segments");
_Static_assert(VMS_SERIAL_FIFO == SERIAL_RX_FIFO, "serial FIFO");
_Static_assert(VMS_NVRAM == RTC_NVRAM_SIZE, "CMOS NVRAM");
_Static_assert(VMS_MAX_VECTORS == MSIX_MAX_VECTORS, "MSI-X vectors");
_Static_assert(VMS_MAX_QUEUES == VPCI_MAX_QUEUES, "virtio queues");
_Static_assert(VMS_MAX_CONFIG == VPCI_CONFIG_MAX, "virtio device config");
_Static_assert(VMS_CFG_SIZE == PCI_CFG_SIZE, "PCI config space");
_Static_assert(VMS_MAX_RANGES >= GUEST_MEM_MAX_REGIONS, "memory regions");
_Static_assert(VMS_MAX_DEVICES >= PCI_DEVICES_MAX, "virtio devices");
_Static_assert(VMS_MAX_MEMHP_SLOTS == MEM_HOTPLUG_MAX_SLOTS, "memory hotplug slots");
_Static_assert(VMS_MAX_VMEM >= GUEST_MEM_MAX_ZONES, "virtio-mem devices");
_Static_assert(VMS_VMEM_BLOCK == VMEM_BLOCK_SIZE && VMS_VMEM_ALIGN == VMEM_REGION_ALIGN &&
                   VMS_VMEM_MAX_REGION == VMEM_MAX_REGION,
               "virtio-mem blocks");

#define MSR_IA32_TSC_DEADLINE 0x6e0
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define PAGE      4096u
#define RAM_CHUNK (1u << 20)
_Static_assert(VMS_VMEM_BLOCK % RAM_CHUNK == 0, "a RAM chunk is in one virtio-mem block");

/* Writes all of buf at off (pwrite loops on short writes). */
static int write_at(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -ENODATA;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static bool page_zero(const uint8_t *p)
{
    static const uint8_t zero[PAGE];

    return !memcmp(p, zero, PAGE);
}

/* The virtio-mem device whose region starts at gpa, or NULL. */
static const struct vms_vmem *vmem_at(const struct vm_state *s, uint64_t gpa)
{
    for (uint32_t k = 0; k < s->nvmem; k++)
        if (s->vmem[k].addr == gpa && s->vmem[k].plugged)
            return &s->vmem[k];
    return NULL;
}

/* Whether byte off of a virtio-mem region lies in a block the guest has not plugged: its
 * memory was given back to the host, it is never read (that would allocate it again). */
static bool unplugged(const struct vms_vmem *v, uint64_t off)
{
    uint64_t b = off / VMS_VMEM_BLOCK;

    return v && !(v->plugged[b / 64] >> (b % 64) & 1);
}

/* The regions memory-ranges holds, in order, into idx: all but the virtio-pmem files, whose
 * content stays in the file config.json names (as with Cloud Hypervisor). Their count. */
static uint32_t ram_regions(const struct vm *vm, uint32_t idx[GUEST_MEM_MAX_REGIONS])
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < vm->mem.nregions && i < GUEST_MEM_MAX_REGIONS; i++)
        if (!vm->mem.regions[i].pmem)
            idx[n++] = i;
    return n;
}

/* Every region in gpa order, only where its memfd holds data (SEEK_DATA: a page the guest never
 * touched is not read, which would allocate it); all-zero pages are skipped too. The holes read
 * back as zeros; the file gets its full size at the end. */
static int save_ram(struct vm *vm, struct vm_state *s, int fd, char *err, size_t errlen)
{
    uint32_t idx[GUEST_MEM_MAX_REGIONS], n = ram_regions(vm, idx);
    uint64_t off = 0;

    if (vm->mem.nregions > VMS_MAX_RANGES)
        return vm_set_err(err, errlen, -E2BIG, "snapshot: %u memory regions", vm->mem.nregions);
    s->nranges = n;
    for (uint32_t i = 0; i < n; i++) {
        const struct guest_mem_region *g = &vm->mem.regions[idx[i]];
        const struct vms_vmem *v = vmem_at(s, g->gpa);
        uint64_t a = 0, b = 0;

        s->ranges[i] = (struct vms_range){ .gpa = g->gpa, .size = g->size };
        for (uint64_t p = 0; p < g->size; p += PAGE) {
            uint64_t run = 0;
            int r;

            if (p >= b) { /* the next stretch with data */
                guest_mem_next_data(g, p, &a, &b);
                if (a >= g->size)
                    break;
                p = a;
            }
            /* A run of non-zero pages goes out in one write. */
            while (p + run < b && run < RAM_CHUNK && !unplugged(v, p + run) &&
                   !page_zero(g->host + p + run))
                run += PAGE;
            if (!run)
                continue;
            r = write_at(fd, g->host + p, run, off + p);
            if (r)
                return vm_set_err(err, errlen, r, "snapshot: writing memory-ranges");
            p += run - PAGE;
        }
        off += g->size;
    }
    if (ftruncate(fd, (off_t)off))
        return vm_set_err(err, errlen, -errno, "snapshot: sizing memory-ranges");
    return 0;
}

/* Bytes [p, end) of memory-ranges (at file offset base) into region g: only the file's data;
 * a hole is read (as zeros) only where g may hold something else than zeros already. */
static int load_region(const struct guest_mem_region *g, const struct vms_vmem *v, int fd,
                       uint64_t base, char *err, size_t errlen)
{
    uint64_t a = 0, b = 0;

    for (uint64_t p = 0; p < g->size;) {
        uint64_t ta, tb, q;

        guest_mem_fd_data(fd, base, p, g->size, &a, &b);
        /* [p, a) is a hole in the file: skipped where the region reads zeros too. */
        while (p < a) {
            guest_mem_next_data(g, p, &ta, &tb);
            q = ta < a ? ta : a;
            p = q; /* [p, q) reads zeros in both */
            if (p < a) {
                q = tb < a ? tb : a;
                for (; p < q; p += PAGE)
                    memset(g->host + p, 0, PAGE);
            }
        }
        /* One call populates the stretch (a page fault per page costs far more); without
         * MADV_POPULATE_WRITE (Linux < 5.14) the reads fault the pages in. */
        if (p < b && !v)
            (void)madvise(g->host + p, b - p, MADV_POPULATE_WRITE);
        /* RAM_CHUNK divides the virtio-mem block: a chunk is plugged or not as a whole. */
        for (; p < b; p += RAM_CHUNK) {
            uint64_t c = p - p % RAM_CHUNK + RAM_CHUNK;
            size_t n = (size_t)((c < b ? c : b) - p);
            int r = unplugged(v, p) ? 0 : read_at(fd, g->host + p, n, base + p);

            if (r)
                return vm_set_err(err, errlen, r, "restore: reading memory-ranges");
            p += n - RAM_CHUNK;
        }
        p = p > b ? b : p;
    }
    return 0;
}

static int load_ram(struct vm *vm, const struct vm_state *s, int fd, char *err, size_t errlen)
{
    uint32_t idx[GUEST_MEM_MAX_REGIONS];
    uint64_t off = 0;
    struct stat st;

    /* vm_state_check_layout has matched the ranges with the VM's regions. */
    if (fstat(fd, &st))
        return vm_set_err(err, errlen, -errno, "restore: memory-ranges");
    if (vm_state_check_ram(s, (uint64_t)st.st_size, err, errlen))
        return -EINVAL;
    (void)ram_regions(vm, idx);
    for (uint32_t i = 0; i < s->nranges; i++) {
        const struct guest_mem_region *g = &vm->mem.regions[idx[i]];
        int r = load_region(g, g->vmem ? vmem_at(s, g->gpa) : NULL, fd, off, err, errlen);

        if (r)
            return r;
        off += g->size;
    }
    return 0;
}

/* The MSRs KVM saves, read on vCPU 0 (the list is per VM). Sets *n. */
static int msr_list(struct vm *vm, uint32_t *idx, uint32_t *n)
{
    struct kvm_msr_list *l = calloc(1, sizeof(*l) + VMS_MAX_MSRS * sizeof(uint32_t));
    int r;

    if (!l)
        return -ENOMEM;
    l->nmsrs = VMS_MAX_MSRS;
    r = kvm_get_msr_index_list(vm->kvm_fd, l);
    if (r >= 0) {
        *n = l->nmsrs < VMS_MAX_MSRS ? l->nmsrs : VMS_MAX_MSRS;
        memcpy(idx, l->indices, *n * sizeof(uint32_t));
        r = 0;
    }
    free(l);
    return r;
}

/* KVM_GET_MSRS stops at the first MSR it cannot read: the rest are read on, the one skipped. */
static int save_msrs(int fd, const uint32_t *idx, uint32_t n, struct vms_vcpu *v)
{
    struct kvm_msrs *m = calloc(1, sizeof(*m) + VMS_MAX_MSRS * sizeof(struct kvm_msr_entry));
    uint32_t at = 0;
    int r = 0;

    if (!m)
        return -ENOMEM;
    v->nmsrs = 0;
    while (at < n) {
        m->nmsrs = n - at;
        for (uint32_t i = 0; i < m->nmsrs; i++)
            m->entries[i] = (struct kvm_msr_entry){ .index = idx[at + i] };
        r = kvm_get_msrs(fd, m);
        if (r < 0)
            break;
        for (int i = 0; i < r; i++)
            v->msrs[v->nmsrs++] = m->entries[i];
        at += (uint32_t)r + 1; /* entry r could not be read */
        r = 0;
    }
    free(m);
    return r;
}

static int save_vcpu(struct vcpu *c, const uint32_t *idx, uint32_t n, struct vms_vcpu *v)
{
    int r = kvm_get_regs(c->fd, &v->regs);

    if (!r)
        r = kvm_get_sregs(c->fd, &v->sregs);
    if (!r)
        r = kvm_get_xsave(c->fd, &v->xsave);
    if (!r)
        r = kvm_get_xcrs(c->fd, &v->xcrs);
    if (!r)
        r = kvm_get_lapic(c->fd, &v->lapic);
    if (!r)
        r = kvm_get_vcpu_events(c->fd, &v->events);
    if (!r)
        r = kvm_get_debugregs(c->fd, &v->debugregs);
    if (!r)
        r = kvm_get_mp_state(c->fd, &v->mp_state);
    if (!r)
        r = save_msrs(c->fd, idx, n, v);
    return r < 0 ? r : 0;
}

/* MSRs one at a time: one KVM refuses (a feature MSR this host reports but cannot set) is
 * logged and skipped rather than failing the restore. The TSC deadline goes after the LAPIC. */
static void load_msrs(struct vm *vm, uint32_t i, int fd, const struct vms_vcpu *v, bool deadline)
{
    for (uint32_t k = 0; k < v->nmsrs; k++) {
        struct {
            struct kvm_msrs hdr;
            struct kvm_msr_entry e;
        } m = { .hdr.nmsrs = 1, .e = v->msrs[k] };

        if ((v->msrs[k].index == MSR_IA32_TSC_DEADLINE) != deadline)
            continue;
        m.e.reserved = 0;
        if (kvm_set_msrs(fd, &m.hdr) != 1)
            log_warn(&vm->log, "restore: vcpu%u: MSR 0x%x refused, left as it was", i,
                     v->msrs[k].index);
    }
}

static int load_vcpu(struct vm *vm, uint32_t i, const struct vms_vcpu *v, char *err, size_t errlen)
{
    int fd = vm->vcpus[i].fd;
    struct kvm_mp_state mp = { .mp_state = v->mp_state };
    struct kvm_vcpu_events ev = v->events;
    int r;

    if ((r = kvm_set_sregs(fd, &v->sregs)) < 0)
        return vm_set_err(err, errlen, r, "restore: vcpu%u: special registers", i);
    if ((r = kvm_set_regs(fd, &v->regs)) < 0)
        return vm_set_err(err, errlen, r, "restore: vcpu%u: registers", i);
    if ((r = kvm_set_xsave(fd, &v->xsave)) < 0)
        return vm_set_err(err, errlen, r, "restore: vcpu%u: XSAVE area", i);
    if (v->xcrs.nr_xcrs > KVM_MAX_XCRS)
        return vm_set_err(err, errlen, -EINVAL, "restore: vcpu%u: %u XCRs", i, v->xcrs.nr_xcrs);
    if (v->xcrs.nr_xcrs && (r = kvm_set_xcrs(fd, &v->xcrs)) < 0)
        return vm_set_err(err, errlen, r, "restore: vcpu%u: XCRs", i);
    load_msrs(vm, i, fd, v, false);
    if ((r = kvm_set_lapic(fd, &v->lapic)) < 0)
        return vm_set_err(err, errlen, r, "restore: vcpu%u: local APIC", i);
    load_msrs(vm, i, fd, v, true);
    if ((r = kvm_set_mp_state(fd, mp.mp_state)) < 0)
        return vm_set_err(err, errlen, r, "restore: vcpu%u: MP state", i);
    /* GET leaves these validity bits clear; the saved NMI and SIPI state is meant. */
    ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    if ((r = kvm_set_vcpu_events(fd, &ev)) < 0)
        return vm_set_err(err, errlen, r, "restore: vcpu%u: pending events", i);
    if ((r = kvm_set_debugregs(fd, &v->debugregs)) < 0)
        return vm_set_err(err, errlen, r, "restore: vcpu%u: debug registers", i);
    return 0;
}

static int save_irqchip(struct vm *vm, struct vm_state *s)
{
    int r;

    s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
    s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
    s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    r = kvm_get_irqchip(vm->vm_fd, &s->pic_master);
    if (!r)
        r = kvm_get_irqchip(vm->vm_fd, &s->pic_slave);
    if (!r)
        r = kvm_get_irqchip(vm->vm_fd, &s->ioapic);
    return r;
}

static void save_platform(struct vm *vm, struct vms_platform *p)
{
    struct serial *u = &vm->dev.serial.uart;
    struct pci_hotplug *hp = &vm->dev.hp;
    struct cpu_hotplug *ch = &vm->dev.cpuhp;

    p->serial_present = vm->dev.serial_enabled;
    if (p->serial_present) {
        pthread_mutex_lock(&u->lock);
        p->serial = (struct vms_serial){ .ier = u->ier,
                                         .lcr = u->lcr,
                                         .mcr = u->mcr,
                                         .fcr = u->fcr,
                                         .scr = u->scr,
                                         .dll = u->dll,
                                         .dlm = u->dlm,
                                         .lsr_err = u->lsr_err,
                                         .msr_delta = u->msr_delta,
                                         .thr_ipending = u->thr_ipending,
                                         .rx_head = u->rx_head,
                                         .rx_count = u->rx_count };
        memcpy(p->serial.rx, u->rx, sizeof(p->serial.rx));
        pthread_mutex_unlock(&u->lock);
    }
    pthread_mutex_lock(&vm->dev.rtc.lock);
    p->rtc_index = vm->dev.rtc.index & (VMS_NVRAM - 1);
    memcpy(p->rtc_nvram, vm->dev.rtc.nvram, VMS_NVRAM);
    pthread_mutex_unlock(&vm->dev.rtc.lock);
    p->ged_pending = atomic_load(&vm->dev.ged.pending);
    pthread_mutex_lock(&hp->lock);
    p->nseg = hp->nseg;
    p->pci_hp_sel = hp->sel < hp->nseg ? hp->sel : 0;
    memcpy(p->pci_up, hp->up, hp->nseg * sizeof(uint32_t));
    memcpy(p->pci_down, hp->down, hp->nseg * sizeof(uint32_t));
    pthread_mutex_unlock(&hp->lock);
    memcpy(p->pci_removing, vm->removing, hp->nseg * sizeof(uint32_t));
    for (uint32_t i = 0; vm->pci_inited && i < p->nseg && i < vm->pci.host.n; i++) {
        pthread_mutex_lock(&vm->pci.buses[i].lock);
        memcpy(p->host_cfg[i], vm->pci.buses[i].host.cfg, VMS_CFG_SIZE);
        if (i == 0)
            p->cf8 = vm->pci.buses[0].cf8;
        pthread_mutex_unlock(&vm->pci.buses[i].lock);
    }
    pthread_mutex_lock(&ch->lock);
    p->cpu_hp_sel = ch->sel;
    memcpy(p->cpu_enabled, ch->enabled, sizeof(p->cpu_enabled));
    memcpy(p->cpu_inserting, ch->inserting, sizeof(p->cpu_inserting));
    memcpy(p->cpu_removing, ch->removing, sizeof(p->cpu_removing));
    pthread_mutex_unlock(&ch->lock);
}

static int load_platform(struct vm *vm, const struct vms_platform *p, char *err, size_t errlen)
{
    struct pci_hotplug *hp = &vm->dev.hp;
    struct cpu_hotplug *ch = &vm->dev.cpuhp;

    if (p->serial_present != vm->dev.serial_enabled)
        return vm_set_err(err, errlen, -EINVAL, "restore: the snapshot %s a serial port",
                          p->serial_present ? "has" : "has no");
    if (p->nseg != hp->nseg || (vm->pci_inited && p->nseg != vm->pci.host.n))
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: the snapshot has %u PCI segments, config.json %u", p->nseg,
                          hp->nseg);
    if (p->serial_present) {
        struct serial *u = &vm->dev.serial.uart;

        pthread_mutex_lock(&u->lock);
        u->ier = p->serial.ier;
        u->lcr = p->serial.lcr;
        u->mcr = p->serial.mcr;
        u->fcr = p->serial.fcr;
        u->scr = p->serial.scr;
        u->dll = p->serial.dll;
        u->dlm = p->serial.dlm;
        u->lsr_err = p->serial.lsr_err;
        u->msr_delta = p->serial.msr_delta;
        u->thr_ipending = p->serial.thr_ipending;
        memcpy(u->rx, p->serial.rx, sizeof(u->rx));
        u->rx_head = p->serial.rx_head % VMS_SERIAL_FIFO;
        u->rx_count = p->serial.rx_count <= VMS_SERIAL_FIFO ? p->serial.rx_count : 0;
        pthread_mutex_unlock(&u->lock);
        serial_sync_irq(u);
    }
    pthread_mutex_lock(&vm->dev.rtc.lock);
    vm->dev.rtc.index = p->rtc_index & (VMS_NVRAM - 1);
    memcpy(vm->dev.rtc.nvram, p->rtc_nvram, VMS_NVRAM);
    pthread_mutex_unlock(&vm->dev.rtc.lock);
    atomic_store(&vm->dev.ged.pending, p->ged_pending);
    pthread_mutex_lock(&hp->lock);
    hp->sel = p->pci_hp_sel;
    memcpy(hp->up, p->pci_up, p->nseg * sizeof(uint32_t));
    memcpy(hp->down, p->pci_down, p->nseg * sizeof(uint32_t));
    pthread_mutex_unlock(&hp->lock);
    memcpy(vm->removing, p->pci_removing, p->nseg * sizeof(uint32_t));
    for (uint32_t i = 0; vm->pci_inited && i < p->nseg; i++) {
        pthread_mutex_lock(&vm->pci.buses[i].lock);
        memcpy(vm->pci.buses[i].host.cfg, p->host_cfg[i], VMS_CFG_SIZE);
        if (i == 0)
            vm->pci.buses[0].cf8 = p->cf8;
        pthread_mutex_unlock(&vm->pci.buses[i].lock);
    }
    pthread_mutex_lock(&ch->lock);
    ch->sel = p->cpu_hp_sel;
    memcpy(ch->enabled, p->cpu_enabled, sizeof(ch->enabled));
    memcpy(ch->inserting, p->cpu_inserting, sizeof(ch->inserting));
    memcpy(ch->removing, p->cpu_removing, sizeof(ch->removing));
    pthread_mutex_unlock(&ch->lock);
    memcpy(vm->cpu_removing, p->cpu_removing, sizeof(vm->cpu_removing));
    return 0;
}

/* Everything of a paused VM but its RAM into s. */
static int save_state(struct vm *vm, struct vm_state *s, char *err, size_t errlen)
{
    uint32_t idx[VMS_MAX_MSRS], n = 0;
    int r;

    s->version = VMS_VERSION;
    s->max_vcpus = vm->max_vcpus;
    r = vm_state_alloc(s, vm->nvcpus, vm->pci_inited ? (uint32_t)vm->pci.n : 0);
    if (r)
        return vm_set_err(err, errlen, r, "snapshot");
    if (!vm->pci_inited || !vm->pci.n)
        s->ndevices = 0;
    r = msr_list(vm, idx, &n);
    if (r)
        return vm_set_err(err, errlen, r, "snapshot: KVM_GET_MSR_INDEX_LIST");
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        r = save_vcpu(&vm->vcpus[i], idx, n, &s->vcpu[i]);
        if (r)
            return vm_set_err(err, errlen, r, "snapshot: vcpu%u", i);
    }
    r = save_irqchip(vm, s);
    if (r)
        return vm_set_err(err, errlen, r, "snapshot: KVM_GET_IRQCHIP");
    s->clock = vm->clock; /* taken by the pause */
    s->clock.flags = 0;
    save_platform(vm, &s->platform);
    vm_memhp_save(vm, s);
    r = vm_vmem_save(vm, s, err, errlen);
    return r ? r : vm_snapshot_devices(vm, s, err, errlen);
}

static int write_all(int fd, const char *buf, size_t len)
{
    return write_at(fd, buf, len, 0);
}

int vm_snapshot(struct vm *vm, int state_fd, int ram_fd, char *err, size_t errlen)
{
    struct vm_state s = { 0 };
    char *json = NULL;
    int r;

    if (atomic_load(&vm->pause_state) != PAUSE_DONE_STATE)
        return vm_set_err(err, errlen, -EBUSY, "snapshot: the VM is not paused");
    if (vm->nvfio)
        return vm_set_err(err, errlen, -EOPNOTSUPP,
                          "snapshot: passed-through (VFIO) devices cannot be snapshotted");
    r = save_state(vm, &s, err, errlen);
    if (!r)
        r = save_ram(vm, &s, ram_fd, err, errlen);
    if (!r) {
        json = vm_state_to_json(&s);
        r = json ? write_all(state_fd, json, strlen(json)) : -ENOMEM;
        if (r)
            vm_set_err(err, errlen, r, "snapshot: writing state.json");
    }
    if (!r)
        log_info(&vm->log, "vm: snapshot taken (%u vCPUs, %u devices, %llu MiB of RAM)", s.nvcpus,
                 s.ndevices, (unsigned long long)(vm_state_ram_size(&s) >> 20));
    free(json);
    vm_state_free(&s);
    return r;
}

int vm_state_read(int fd, struct vm_state *s, char *err, size_t errlen)
{
    struct stat st;
    char *buf;
    int r;

    if (fstat(fd, &st))
        return vm_set_err(err, errlen, -errno, "restore: state.json");
    if (st.st_size <= 0 || (uint64_t)st.st_size > VMS_MAX_JSON)
        return vm_set_err(err, errlen, -EINVAL, "restore: state.json is empty or larger than %u",
                          VMS_MAX_JSON);
    buf = malloc((size_t)st.st_size);
    if (!buf)
        return vm_set_err(err, errlen, -ENOMEM, "restore: state.json");
    r = read_at(fd, buf, (size_t)st.st_size, 0);
    if (r)
        vm_set_err(err, errlen, r, "restore: reading state.json");
    else
        r = vm_state_from_json(s, buf, (size_t)st.st_size, err, errlen);
    free(buf);
    return r;
}

int vm_restore_hotplugged(int state_fd, uint64_t *gpa, uint64_t *size, uint32_t max, uint32_t *n,
                          char *err, size_t errlen)
{
    struct vm_state s = { 0 };
    int r = vm_state_read(state_fd, &s, err, errlen);

    *n = 0;
    for (uint32_t i = 0; !r && i < s.memhp.nslots && s.memhp.slot[i].enabled; i++) {
        if (*n >= max) {
            r = vm_set_err(err, errlen, -EINVAL,
                           "restore: the snapshot has more than %u hot-added RAM regions", max);
            break;
        }
        gpa[*n] = s.memhp.slot[i].base;
        size[(*n)++] = s.memhp.slot[i].size;
    }
    vm_state_free(&s);
    return r;
}

int vm_state_take(struct vm *vm, struct vm_state *s, char *err, size_t errlen)
{
    uint32_t idx[GUEST_MEM_MAX_REGIONS];
    int r = save_state(vm, s, err, errlen);

    if (r)
        return r;
    if (vm->mem.nregions > VMS_MAX_RANGES)
        return vm_set_err(err, errlen, -E2BIG, "snapshot: %u memory regions", vm->mem.nregions);
    s->nranges = ram_regions(vm, idx);
    for (uint32_t i = 0; i < s->nranges; i++)
        s->ranges[i] = (struct vms_range){ .gpa = vm->mem.regions[idx[i]].gpa,
                                           .size = vm->mem.regions[idx[i]].size };
    return 0;
}

int vm_state_check_layout(struct vm *vm, const struct vm_state *s, char *err, size_t errlen)
{
    uint32_t idx[GUEST_MEM_MAX_REGIONS], n = ram_regions(vm, idx);

    if (s->max_vcpus != vm->max_vcpus || s->nvcpus > vm->max_vcpus)
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: the snapshot has %u of %u vCPUs, config.json max_vcpus %u",
                          s->nvcpus, s->max_vcpus, vm->max_vcpus);
    if (s->nranges != n)
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: the snapshot has %u memory ranges, the VM built from "
                          "config.json %u",
                          s->nranges, n);
    for (uint32_t i = 0; i < s->nranges; i++)
        if (s->ranges[i].gpa != vm->mem.regions[idx[i]].gpa ||
            s->ranges[i].size != vm->mem.regions[idx[i]].size)
            return vm_set_err(err, errlen, -EINVAL,
                              "restore: memory range %u is 0x%llx+0x%llx in the snapshot, "
                              "0x%llx+0x%llx in the VM built from config.json",
                              i, (unsigned long long)s->ranges[i].gpa,
                              (unsigned long long)s->ranges[i].size,
                              (unsigned long long)vm->mem.regions[idx[i]].gpa,
                              (unsigned long long)vm->mem.regions[idx[i]].size);
    return 0;
}

int vm_restore(struct vm *vm, int state_fd, int ram_fd, char *err, size_t errlen)
{
    struct vm_state s = { 0 };
    int r = vm_state_read(state_fd, &s, err, errlen);

    if (!r)
        r = vm_state_check_layout(vm, &s, err, errlen);
    if (!r)
        r = load_ram(vm, &s, ram_fd, err, errlen);
    if (!r)
        r = vm_state_load(vm, &s, err, errlen);
    vm_state_free(&s);
    return r;
}

int vm_state_load(struct vm *vm, const struct vm_state *s, char *err, size_t errlen)
{
    int r = 0;

    for (uint32_t i = 0; !r && i < s->nvcpus; i++)
        r = load_vcpu(vm, i, &s->vcpu[i], err, errlen);
    if (!r) {
        vm->nvcpus = s->nvcpus;
        r = kvm_set_irqchip(vm->vm_fd, &s->pic_master);
        if (!r)
            r = kvm_set_irqchip(vm->vm_fd, &s->pic_slave);
        if (!r)
            r = kvm_set_irqchip(vm->vm_fd, &s->ioapic);
        if (r)
            vm_set_err(err, errlen, r, "restore: KVM_SET_IRQCHIP");
    }
    if (!r)
        r = load_platform(vm, &s->platform, err, errlen);
    if (!r)
        r = vm_memhp_load(vm, s, err, errlen);
    if (!r)
        r = vm_vmem_load(vm, s, err, errlen);
    if (!r)
        r = vm_restore_devices(vm, s, err, errlen);
    if (!r) {
        vm->clock = s->clock;
        vm->start_paused = true;
        /* Paused from now on: a vm.resume may come before vm_run has started. */
        atomic_store(&vm->pause_state, PAUSE_DONE);
        log_info(&vm->log, "vm: restored (%u vCPUs, %u devices, %llu MiB of RAM), paused",
                 s->nvcpus, s->ndevices, (unsigned long long)(vm_state_ram_size(s) >> 20));
    }
    return r;
}
