/* PVH boot: the loader's start_info is where EBX said, serial output works, S5 powers off. */
#include "lib.h"

#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info_head {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
};

static int memcmp_rsdp(const char *p)
{
    static const char sig[8] = "RSD PTR ";
    int i;

    for (i = 0; i < 8; i++) {
        if (p[i] != sig[i])
            return 1;
    }
    return 0;
}

void payload_main(uint64_t start_info)
{
    const struct hvm_start_info_head *si = (const void *)(uintptr_t)start_info;

    serial_init();
    print("hello from the pvh payload\n");
    check(start_info != 0 && si->magic == HVM_START_MAGIC, "start_info magic",
          start_info ? si->magic : 0);
    check(si->rsdp_paddr != 0, "rsdp address", si->rsdp_paddr);
    check(!memcmp_rsdp((const void *)(uintptr_t)si->rsdp_paddr), "rsdp signature", 0);
    finish();
}
