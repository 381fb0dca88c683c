#include "lib.h"

/*
 * Smallest boot check: the loader handed over a valid hvm_start_info with an ACPI RSDP, the
 * UART prints, S5 powers off.
 */

struct start_info_head {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
};

static bool is_rsdp(uint64_t gpa)
{
    static const char sig[8] = "RSD PTR ";
    const volatile char *p = (const volatile char *)(uintptr_t)gpa;

    for (int i = 0; i < 8; i++) {
        if (p[i] != sig[i])
            return false;
    }
    return true;
}

void payload_main(uint32_t start_info)
{
    const volatile struct start_info_head *si =
        (const volatile struct start_info_head *)(uintptr_t)start_info;

    serial_init();
    payload_say("hello from the pvh payload", "");
    if (!payload_check(start_info != 0 && si->magic == PAYLOAD_PVH_MAGIC, "start_info magic",
                       start_info ? si->magic : 0))
        payload_fail("hello", "EBX does not point to an hvm_start_info");
    payload_check(si->version >= 1, "start_info version", si->version);
    if (payload_check(si->rsdp_paddr != 0, "rsdp address", si->rsdp_paddr))
        payload_check(is_rsdp(si->rsdp_paddr), "rsdp signature", 0);
    payload_finish("hello");
}
