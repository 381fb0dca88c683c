/*
 * The restoring core's memory layout (issue 18): RAM vm.resize had added comes back at the
 * guest-physical places the snapshot's memory hotplug slots give, backed by the end of the one
 * memfd of memory.size (config.json counts the added RAM), each a region with its own fd
 * offset for the device processes' memory tables; a snapshot whose slots do not fit the
 * config is refused before the VM exists. Real sealed memfds, real mappings.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/coreproc/core_layout.h"
#include "core/platform.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static int ram_fd(uint64_t size)
{
    int fd = memfd_create("test-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
    return fd;
}

struct cfg {
    Cellvm__CoreConfig c;
    Cellvm__MemoryConfig m;
    Cellvm__CpuConfig cpus;
    Cellvm__CoreFd roles[1];
    int fds[1];
};

static void config(struct cfg *k, uint64_t size)
{
    cellvm__core_config__init(&k->c);
    cellvm__memory_config__init(&k->m);
    cellvm__cpu_config__init(&k->cpus);
    k->m.size = size;
    k->m.hotplug_size = GIB;
    k->c.memory = &k->m;
    k->c.cpus = &k->cpus;
    k->roles[0] = CELLVM__CORE_FD__CORE_FD_MEMORY;
    k->c.fds = k->roles;
    k->c.n_fds = 1;
    k->fds[0] = ram_fd(size);
}

Test(core_layout_hot, regions_at_their_places)
{
    static struct core_layout l;
    struct vm_params p = { 0 };
    struct cfg k;
    char err[256] = "";
    const struct guest_mem_region *g;

    config(&k, 512 * MIB); /* 256 MiB at boot, then 128 + 128 MiB by vm.resize */
    core_layout_init(&l);
    l.hot[0].gpa = GPA_RAM_ABOVE_4G;
    l.hot[0].size = 128 * MIB;
    l.hot[1].gpa = GPA_RAM_ABOVE_4G + 128 * MIB;
    l.hot[1].size = 128 * MIB;
    l.nhot = 2;
    cr_assert_eq(core_layout_apply(&l, &k.c, k.fds, &p, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(p.mem.nregions, 3);
    cr_assert_eq(p.mem.nhotplug, 2);
    g = p.mem.regions;
    cr_expect(g[0].gpa == 0 && g[0].size == 256 * MIB && g[0].fd_offset == 0);
    cr_expect(g[1].gpa == GPA_RAM_ABOVE_4G && g[1].size == 128 * MIB &&
              g[1].fd_offset == 256 * MIB && g[1].host == g[0].host + 256 * MIB &&
              g[1].zone == GUEST_MEM_HOTPLUG_ZONE && g[1].fd == k.fds[0]);
    cr_expect(g[2].gpa == GPA_RAM_ABOVE_4G + 128 * MIB && g[2].fd_offset == 384 * MIB &&
              g[2].host == g[0].host + 384 * MIB);
    cr_expect_eq(p.mem.size, 512 * MIB);
    /* One mapping of the whole memfd: a write through a hot region lands at its offset. */
    g[2].host[5] = 0x5a;
    {
        uint8_t b = 0;

        cr_assert_eq(pread(k.fds[0], &b, 1, (off_t)(384 * MIB + 5)), 1);
        cr_expect_eq(b, 0x5a);
    }
    core_layout_release(&l);
    close(k.fds[0]);
}

Test(core_layout_hot, none_without_slots)
{
    static struct core_layout l;
    struct vm_params p = { 0 };
    struct cfg k;
    char err[256] = "";

    config(&k, 256 * MIB);
    core_layout_init(&l);
    cr_assert_eq(core_layout_apply(&l, &k.c, k.fds, &p, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(p.mem.nregions, 1);
    cr_expect_eq(p.mem.nhotplug, 0);
    cr_expect_eq(p.mem.regions[0].size, 256 * MIB);
    core_layout_release(&l);
    close(k.fds[0]);
}

/* A state.json (edited, or of another config) whose slots the config cannot hold. */
Test(core_layout_hot, misfits_refused)
{
    static struct core_layout l;
    struct vm_params p = { 0 };
    struct cfg k;
    char err[256] = "";

    config(&k, 256 * MIB);
    core_layout_init(&l);
    l.hot[0] = (typeof(l.hot[0])){ GPA_RAM_ABOVE_4G, 256 * MIB }; /* all of memory.size */
    l.nhot = 1;
    cr_assert_neq(core_layout_apply(&l, &k.c, k.fds, &p, err, sizeof(err)), 0);
    cr_expect(strstr(err, "256 MiB of hot-added RAM, config.json's memory.size 256 MiB"), "%s",
              err);
    core_layout_release(&l);
    close(k.fds[0]);

    config(&k, 512 * MIB);
    core_layout_init(&l);
    l.hot[0] = (typeof(l.hot[0])){ 128 * MIB, 128 * MIB }; /* inside the boot RAM */
    l.nhot = 1;
    cr_assert_neq(core_layout_apply(&l, &k.c, k.fds, &p, err, sizeof(err)), 0);
    cr_expect(strstr(err, "hot-added RAM 0x8000000+0x8000000 of the snapshot does not fit"), "%s",
              err);
    core_layout_release(&l);
    close(k.fds[0]);

    config(&k, 512 * MIB);
    core_layout_init(&l);
    l.hot[0] = (typeof(l.hot[0])){ 3 * GIB - 64 * MIB, 128 * MIB }; /* across the hole */
    l.nhot = 1;
    cr_assert_neq(core_layout_apply(&l, &k.c, k.fds, &p, err, sizeof(err)), 0);
    cr_expect(strstr(err, "does not fit the memory map"), "%s", err);
    core_layout_release(&l);
    close(k.fds[0]);
}
