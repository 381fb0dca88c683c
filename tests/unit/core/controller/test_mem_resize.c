/* ACPI memory hotplug's control messages (issue 17): AddMemory (controller -> core, one memfd)
 * and MemoryAdded (the answer), and CoreConfig's memory.hotplug_size, validated strictly. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "validate.h"

#define MiB (1ull << 20)

Test(mem_resize, add_memory_carries_one_fd)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__AddMemory am = CELLVM__ADD_MEMORY__INIT;
    const char *why = NULL;

    env.body_case = CELLVM__ENVELOPE__BODY_ADD_MEMORY;
    env.add_memory = &am;
    am.size = 512 * MiB;
    cr_assert_eq(pb_validate_envelope(&env, 1, &why), 0, "%s", why ? why : "");
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0, "the memfd is required");
    cr_assert_str_eq(why, "add_memory.fds");
    cr_assert_neq(pb_validate_envelope(&env, 2, &why), 0, "exactly one fd");
    cr_assert_str_eq(why, "add_memory.fds");
}

Test(mem_resize, add_memory_size)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__AddMemory am = CELLVM__ADD_MEMORY__INIT;
    const uint64_t bad[] = { 0, 64 * MiB, 128 * MiB + 4096, (1ull << 40) + 128 * MiB };
    const char *why = NULL;

    env.body_case = CELLVM__ENVELOPE__BODY_ADD_MEMORY;
    env.add_memory = &am;
    am.size = 128 * MiB;
    cr_assert_eq(pb_validate_envelope(&env, 1, &why), 0, "%s", why ? why : "");
    am.size = 1ull << 40;
    cr_assert_eq(pb_validate_envelope(&env, 1, &why), 0, "%s", why ? why : "");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        am.size = bad[i];
        cr_assert_neq(pb_validate_envelope(&env, 1, &why), 0, "size %llu",
                      (unsigned long long)bad[i]);
        cr_assert_str_eq(why, "add_memory.size");
    }
}

Test(mem_resize, memory_added_validated)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__MemoryAdded ma = CELLVM__MEMORY_ADDED__INIT;
    const char *why = NULL;

    env.body_case = CELLVM__ENVELOPE__BODY_MEMORY_ADDED;
    env.memory_added = &ma;
    ma.gpa = 1ull << 32;
    ma.size = 512 * MiB;
    cr_assert_eq(pb_validate_envelope(&env, 0, &why), 0, "%s", why ? why : "");
    cr_assert_neq(pb_validate_envelope(&env, 1, &why), 0, "no fds on the answer");
    cr_assert_str_eq(why, "envelope.fds");
    ma.size = 0;
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0, "success adds something");
    cr_assert_str_eq(why, "memory_added.size");
    ma.gpa = UINT64_MAX - 4095;
    ma.size = 8192;
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0, "past 2^64");
    cr_assert_str_eq(why, "memory_added.size");
    ma.gpa = 0;
    ma.size = 0;
    ma.errnum = 28; /* ENOSPC */
    ma.message = (char *)"all 8 memory hotplug slots are used";
    cr_assert_eq(pb_validate_envelope(&env, 0, &why), 0, "%s", why ? why : "");
    ma.message = (char *)"bad\nline";
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0);
    cr_assert_str_eq(why, "memory_added.message");
    ma.message = NULL;
    ma.errnum = 4096;
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0);
    cr_assert_str_eq(why, "memory_added.errnum");
}

/* The hotplug area in the core's config: whole pages, 1 TiB at most, never with zones. */
Test(mem_resize, core_config_hotplug_size)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__CoreConfig cc = CELLVM__CORE_CONFIG__INIT;
    Cellvm__CpuConfig cpus = CELLVM__CPU_CONFIG__INIT;
    Cellvm__MemoryConfig mem = CELLVM__MEMORY_CONFIG__INIT;
    Cellvm__MemoryZone z = CELLVM__MEMORY_ZONE__INIT;
    Cellvm__MemoryZone *zp = &z;
    Cellvm__CoreFd fds[] = { CELLVM__CORE_FD__CORE_FD_KVM, CELLVM__CORE_FD__CORE_FD_MEMORY,
                             CELLVM__CORE_FD__CORE_FD_KERNEL };
    const char *why = NULL;

    cpus.boot_vcpus = 1;
    cpus.max_vcpus = 1;
    cpus.max_phys_bits = 46;
    cpus.threads_per_core = cpus.cores_per_die = cpus.dies_per_package = cpus.packages = 1;
    mem.size = 512 * MiB;
    mem.hotplug_size = 1ull << 30;
    cc.cpus = &cpus;
    cc.memory = &mem;
    cc.cmdline = (char *)"";
    cc.serial = CELLVM__SERIAL_MODE__SERIAL_NULL;
    cc.seccomp = CELLVM__SECCOMP_MODE__SECCOMP_ON;
    cc.fds = fds;
    cc.n_fds = 3;
    env.body_case = CELLVM__ENVELOPE__BODY_CORE_CONFIG;
    env.core_config = &cc;
    cr_assert_eq(pb_validate_envelope(&env, 3, &why), 0, "%s", why ? why : "");
    mem.hotplug_size = (1ull << 40) + 4096;
    cr_assert_neq(pb_validate_envelope(&env, 3, &why), 0);
    cr_assert_str_eq(why, "memory.hotplug_size");
    mem.hotplug_size = (1ull << 30) + 1;
    cr_assert_neq(pb_validate_envelope(&env, 3, &why), 0);
    cr_assert_str_eq(why, "memory.hotplug_size");
    z.id = (char *)"m0";
    z.size = 512 * MiB;
    z.fd_index = 1;
    mem.zones = &zp;
    mem.n_zones = 1;
    mem.hotplug_size = 1ull << 30;
    cr_assert_neq(pb_validate_envelope(&env, 3, &why), 0, "no hotplug area with zones");
    cr_assert_str_eq(why, "memory.hotplug_size");
}
