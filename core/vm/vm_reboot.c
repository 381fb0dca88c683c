/* Reboot bookkeeping of vm_run (vm.c): who asked for a reboot, the reboot-loop guard and the
 * interrupt controllers put back before the guest starts again. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/vm/kvm_ioctl.h"
#include "core/vm/vm_priv.h"
#include "core/vm/vmev.h"

static int64_t ts_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

/* -ELOOP when this reboot is the REBOOT_BURST-th within REBOOT_WINDOW_NS. */
int vm_note_reboot(struct vm *vm)
{
    struct timespec now, *slot = &vm->reboot_at[vm->reboots % REBOOT_BURST];
    bool full = vm->reboots >= REBOOT_BURST;

    clock_gettime(CLOCK_MONOTONIC, &now);
    /* slot holds the reboot REBOOT_BURST ago, about to be overwritten. */
    if (full && ts_ns(&now) - ts_ns(slot) < REBOOT_WINDOW_NS)
        return -ELOOP;
    *slot = now;
    vm->reboots++;
    return 0;
}

/* Masks every IOAPIC pin and clears the PICs, so nothing the old guest set up fires early. */
int vm_reset_irqchip(struct vm *vm)
{
    static const uint32_t pics[] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE };
    struct kvm_irqchip chip;
    size_t i;
    int r;

    memset(&chip, 0, sizeof(chip));
    chip.chip_id = KVM_IRQCHIP_IOAPIC;
    r = kvm_get_irqchip(vm->vm_fd, &chip);
    if (r < 0)
        return r;
    for (i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
        chip.chip.ioapic.redirtbl[i].bits = 1ull << 16;
    chip.chip.ioapic.irr = 0;
    chip.chip.ioapic.id = 0;
    r = kvm_set_irqchip(vm->vm_fd, &chip);
    for (i = 0; !r && i < sizeof(pics) / sizeof(pics[0]); i++) {
        memset(&chip, 0, sizeof(chip));
        chip.chip_id = pics[i];
        r = kvm_get_irqchip(vm->vm_fd, &chip);
        if (r < 0)
            break;
        chip.chip.pic.irr = 0;
        chip.chip.pic.isr = 0;
        chip.chip.pic.imr = 0xff;
        r = kvm_set_irqchip(vm->vm_fd, &chip);
    }
    return r;
}

void vm_reboot_for(struct vm *vm, enum vm_reset_cause cause)
{
    atomic_store(&vm->reset_cause, cause);
    vmev_post(&vm->ev, VMEV_REBOOT);
}

void vm_reboot(struct vm *vm)
{
    vm_reboot_for(vm, VM_RESET_API);
}

unsigned int vm_reboot_count(const struct vm *vm)
{
    return vm->reboots;
}
