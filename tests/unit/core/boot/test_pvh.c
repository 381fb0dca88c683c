#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "boot_test.h"
#include "core/platform.h"

/* hvm_start_info offsets (xen/include/public/arch-x86/hvm/start_info.h), spelled out here. */
#define SI(off) (GPA_PVH_START_INFO + (off))

static struct test_mem mem;

static void setup64(void)
{
    tmem_init(&mem, 64 * MiB, true);
}

static void teardown(void)
{
    tmem_fini(&mem);
}

static int elf_file(const struct elf_opts *o, size_t cut)
{
    size_t len;
    uint8_t *img = elf_build(o, &len);
    int fd = memfile(img, cut && cut < len ? cut : len);

    free(img);
    return fd;
}

static void check_segment(const struct elf_opts *o, unsigned int i)
{
    const uint8_t *p = guest_mem_ptr(&mem.gm, o->seg[i].paddr, o->seg[i].memsz);

    cr_assert_not_null(p);
    for (size_t b = 0; b < o->seg[i].filesz; b++)
        cr_assert_eq(p[b], elf_seg_byte(i, b), "segment %u byte %zu", i, b);
    for (size_t b = o->seg[i].filesz; b < o->seg[i].memsz; b++)
        cr_assert_eq(p[b], 0, "segment %u bss byte %zu", i, b);
}

TestSuite(pvh, .init = setup64, .fini = teardown);

Test(pvh, loads_segments_and_start_info)
{
    struct elf_opts o = elf_defaults();
    uint8_t initrd[5000];
    struct boot_entry e;
    char err[256];
    int fd = elf_file(&o, 0), ifd;
    uint64_t mods, mmap, ird = (64 * MiB - sizeof(initrd)) & ~0xfffull;
    const uint64_t map[][3] = {
        { 0, 0xa0000, 1 },
        { 0xe0000, 0x20000, 2 },
        { 0x100000, 63 * MiB, 1 },
        { 0xe0000000, 0x10000000, 2 },
    };

    memset(initrd, 0x42, sizeof(initrd));
    ifd = memfile(initrd, sizeof(initrd));
    cr_assert_eq(run_load(&mem, fd, ifd, "console=hvc0", &e, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(e.mode, BOOT_PVH);
    cr_expect_eq(e.rip, 0x100010);
    cr_expect_eq(e.rbx, GPA_PVH_START_INFO);
    cr_expect_eq(e.rsp, GPA_BOOT_STACK);
    check_segment(&o, 0);
    check_segment(&o, 1);
    /* The page after the bss stays untouched. */
    cr_expect_eq(g64(&mem.gm, 0x205000), 0xccccccccccccccccull);

    cr_expect_eq(g32(&mem.gm, SI(0)), 0x336ec578, "magic");
    cr_expect_eq(g32(&mem.gm, SI(4)), 1, "version");
    cr_expect_eq(g32(&mem.gm, SI(8)), 0, "flags");
    cr_expect_eq(g32(&mem.gm, SI(12)), 1, "nr_modules");
    cr_expect_eq(g64(&mem.gm, SI(24)), GPA_CMDLINE, "cmdline_paddr");
    cr_expect_eq(g64(&mem.gm, SI(32)), TEST_RSDP_GPA, "rsdp_paddr");
    cr_expect_str_eq((const char *)guest_mem_ptr(&mem.gm, GPA_CMDLINE, 13), "console=hvc0");

    mods = g64(&mem.gm, SI(16));
    cr_assert(mods > GPA_PVH_START_INFO && mods + 32 <= GPA_ZERO_PAGE, "modlist 0x%llx",
              (unsigned long long)mods);
    cr_expect_eq(g64(&mem.gm, mods), ird, "module paddr");
    cr_expect_eq(g64(&mem.gm, mods + 8), sizeof(initrd), "module size");
    cr_expect_eq(g64(&mem.gm, mods + 16), 0, "module cmdline");
    cr_expect_eq(memcmp(guest_mem_ptr(&mem.gm, ird, sizeof(initrd)), initrd, sizeof(initrd)), 0);

    mmap = g64(&mem.gm, SI(40));
    cr_assert_eq(g32(&mem.gm, SI(48)), 4, "memmap_entries");
    cr_assert(mmap > GPA_PVH_START_INFO && mmap + 4 * 24 <= GPA_ZERO_PAGE);
    for (unsigned int i = 0; i < 4; i++) {
        cr_expect_eq(g64(&mem.gm, mmap + i * 24), map[i][0], "memmap[%u].addr", i);
        cr_expect_eq(g64(&mem.gm, mmap + i * 24 + 8), map[i][1], "memmap[%u].size", i);
        cr_expect_eq(g32(&mem.gm, mmap + i * 24 + 16), map[i][2], "memmap[%u].type", i);
        cr_expect_eq(g32(&mem.gm, mmap + i * 24 + 20), 0, "memmap[%u].reserved", i);
    }
    close(fd);
    close(ifd);
}

Test(pvh, note_with_32bit_value)
{
    struct elf_opts o = elf_defaults();
    struct boot_entry e;
    char err[256];
    int fd;

    o.entry = 0x100020;
    o.entry_bytes = 4;
    fd = elf_file(&o, 0);
    cr_assert_eq(run_load(&mem, fd, -1, NULL, &e, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(e.rip, 0x100020);
    cr_expect_eq(g32(&mem.gm, SI(12)), 0, "nr_modules");
    cr_expect_eq(g64(&mem.gm, SI(16)), 0, "modlist_paddr");
    close(fd);
}

Test(pvh, note_with_odd_value_size)
{
    struct elf_opts o = elf_defaults();
    int fd;

    o.entry_bytes = 2;
    fd = elf_file(&o, 0);
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC, "kernel: PVH entry note has a 2-byte value");
    close(fd);
}

Test(pvh, note_missing)
{
    struct elf_opts o = elf_defaults();
    int fd;

    o.entry_bytes = 0;
    fd = elf_file(&o, 0);
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC,
                "kernel: not a bzImage or a PVH ELF (ELF without a XEN_ELFNOTE_PHYS32_ENTRY note)");
    close(fd);
}

Test(pvh, elf32_rejected)
{
    struct elf_opts o = elf_defaults();
    int fd;

    o.elf_class = ELFCLASS32;
    o.machine = EM_386;
    fd = elf_file(&o, 0);
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC,
                "kernel: not a bzImage or a PVH ELF (ELF class 1, machine 3, type 2; need ELF64 "
                "x86_64 executable)");
    close(fd);
}

Test(pvh, truncated_elf_header)
{
    uint8_t img[24] = { 0x7f, 'E', 'L', 'F', ELFCLASS64 };
    int fd = memfile(img, sizeof(img));

    expect_fail(&mem, fd, -1, NULL, -ENOEXEC, "kernel: ELF header truncated (24 bytes)");
    close(fd);
}

static int patched_elf(uint64_t off, const void *v, size_t n, size_t cut)
{
    struct elf_opts o = elf_defaults();
    size_t len;
    uint8_t *img = elf_build(&o, &len);
    int fd;

    memcpy(img + off, v, n);
    fd = memfile(img, cut ? cut : len);
    free(img);
    return fd;
}

Test(pvh, phnum_absurd)
{
    uint16_t phnum = 0xffff;
    int fd = patched_elf(offsetof(Elf64_Ehdr, e_phnum), &phnum, 2, 0);

    expect_fail(&mem, fd, -1, NULL, -ENOEXEC,
                "kernel: ELF has 65535 program headers (1 to 64 allowed)");
    close(fd);
}

Test(pvh, phentsize_wrong)
{
    uint16_t sz = 32;
    int fd = patched_elf(offsetof(Elf64_Ehdr, e_phentsize), &sz, 2, 0);

    expect_fail(&mem, fd, -1, NULL, -ENOEXEC, "kernel: ELF program header size 32, expected 56");
    close(fd);
}

Test(pvh, phoff_past_end)
{
    uint64_t phoff = UINT64_MAX - 8;
    int fd = patched_elf(offsetof(Elf64_Ehdr, e_phoff), &phoff, 8, 0);
    char want[200];

    snprintf(want, sizeof(want),
             "kernel: ELF program headers at offset %llu run past the end of the file (%llu "
             "bytes)",
             (unsigned long long)phoff, (unsigned long long)elf_seg_offset(2));
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC, want);
    close(fd);
}

Test(pvh, truncated_segment)
{
    struct elf_opts o = elf_defaults();
    int fd = elf_file(&o, elf_seg_offset(1) + 0x100);
    char want[200];

    snprintf(want, sizeof(want),
             "kernel: segment 1 truncated (file offset %llu + 6144 bytes, file has %llu)",
             (unsigned long long)elf_seg_offset(1), (unsigned long long)elf_seg_offset(1) + 0x100);
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC, want);
    close(fd);
}

Test(pvh, segment_outside_memory)
{
    struct elf_opts o = elf_defaults();
    int fd;

    o.seg[1].paddr = 64 * MiB - 0x1000; /* bss runs past the end of RAM */
    fd = elf_file(&o, 0);
    expect_fail(&mem, fd, -1, NULL, -EINVAL, "kernel: segment 1 at 0x3fff000 outside guest memory");
    close(fd);
}

Test(pvh, segment_in_the_hole)
{
    struct elf_opts o = elf_defaults();
    int fd;

    o.seg[1].paddr = 0xfee00000;
    fd = elf_file(&o, 0);
    expect_fail(&mem, fd, -1, NULL, -EINVAL,
                "kernel: segment 1 at 0xfee00000 outside guest memory");
    close(fd);
}

Test(pvh, segment_over_boot_structures)
{
    struct elf_opts o = elf_defaults();
    int fd;

    o.seg[0].paddr = 0x7000;
    fd = elf_file(&o, 0);
    expect_fail(&mem, fd, -1, NULL, -EINVAL,
                "kernel: segment 0 at 0x7000 overlaps the boot structures below 1 MiB");
    close(fd);
}

Test(pvh, filesz_larger_than_memsz)
{
    struct elf_opts o = elf_defaults();
    int fd;

    o.seg[1].memsz = 0x1000;
    fd = elf_file(&o, 0);
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC, "kernel: segment 1 has more file bytes than memory");
    close(fd);
}

Test(pvh, entry_outside_segments)
{
    struct elf_opts o = elf_defaults();
    int fd;

    o.entry = 0x180000;
    fd = elf_file(&o, 0);
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC,
                "kernel: PVH entry 0x180000 is not in a loaded segment");
    close(fd);
}

Test(pvh, no_loadable_segment)
{
    struct elf_opts o = elf_defaults();
    int fd;

    o.seg[0].type = PT_NULL;
    o.seg[1].type = PT_NULL;
    fd = elf_file(&o, 0);
    expect_fail(&mem, fd, -1, NULL, -ENOEXEC, "kernel: ELF has no loadable segment");
    close(fd);
}

Test(pvh, initramfs_larger_than_memory)
{
    struct elf_opts o = elf_defaults();
    int fd = elf_file(&o, 0), ifd = memfile(NULL, 63 * MiB);

    expect_fail(&mem, fd, ifd, NULL, -EFBIG,
                "initramfs: 66060288 bytes do not fit in guest memory");
    close(fd);
    close(ifd);
}

Test(pvh, cmdline_too_long)
{
    struct elf_opts o = elf_defaults();
    size_t n = CMDLINE_MAX;
    char *cmd = malloc(n + 1);
    int fd = elf_file(&o, 0);

    memset(cmd, 'a', n);
    cmd[n] = '\0';
    expect_fail(&mem, fd, -1, cmd, -E2BIG, "cmdline: 65536 bytes, kernel accepts at most 65535");
    free(cmd);
    close(fd);
}
