#include "core/boot/pvh.h"

#include <assert.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/platform.h"

#define PVH_NOTE_PHYS32_ENTRY 18 /* XEN_ELFNOTE_PHYS32_ENTRY */
#define PVH_START_MAGIC       0x336ec578u
#define PVH_START_VERSION     1u
#define PVH_MAX_PHDRS         64
#define PVH_MAX_NOTE_BYTES    0x10000u
#define PVH_4G                0x100000000ull

struct pvh_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr; /* version 1 from here */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct pvh_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct pvh_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

/* Everything the start info points to, laid out in the one page at GPA_PVH_START_INFO. */
struct pvh_page {
    struct pvh_start_info info;
    struct pvh_modlist_entry module;
    struct pvh_memmap_entry memmap[BOOT_MEMMAP_MAX];
};

static_assert(sizeof(struct pvh_start_info) == 56, "hvm_start_info v1");
static_assert(offsetof(struct pvh_start_info, rsdp_paddr) == 32, "rsdp_paddr");
static_assert(offsetof(struct pvh_start_info, memmap_paddr) == 40, "memmap_paddr");
static_assert(offsetof(struct pvh_start_info, memmap_entries) == 48, "memmap_entries");
static_assert(sizeof(struct pvh_modlist_entry) == 32, "hvm_modlist_entry");
static_assert(sizeof(struct pvh_memmap_entry) == 24, "hvm_memmap_table_entry");
static_assert(sizeof(struct pvh_page) <= GPA_ZERO_PAGE - GPA_PVH_START_INFO,
              "start info runs into the zero page");

struct pvh_plan {
    Elf64_Phdr ph[PVH_MAX_PHDRS];
    unsigned int phnum;
    uint64_t entry;
    uint64_t kstart, kend; /* span of the segments below 4 GiB */
    uint64_t initramfs;
};

bool boot_pvh_probe(const uint8_t *head, size_t n)
{
    return n >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0;
}

static int pvh_check_ehdr(const struct boot_ctx *c, const Elf64_Ehdr *eh)
{
    uint64_t ph_bytes;

    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC)
        return boot_fail(c, -ENOEXEC,
                         "kernel: not a bzImage or a PVH ELF (ELF class %u, machine %u, type %u; "
                         "need ELF64 x86_64 executable)",
                         eh->e_ident[EI_CLASS], eh->e_machine, eh->e_type);
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return boot_fail(c, -ENOEXEC, "kernel: ELF program header size %u, expected %zu",
                         eh->e_phentsize, sizeof(Elf64_Phdr));
    if (eh->e_phnum == 0 || eh->e_phnum > PVH_MAX_PHDRS)
        return boot_fail(c, -ENOEXEC, "kernel: ELF has %u program headers (1 to %u allowed)",
                         eh->e_phnum, PVH_MAX_PHDRS);
    ph_bytes = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
    if (eh->e_phoff > c->kernel_size || ph_bytes > c->kernel_size - eh->e_phoff)
        return boot_fail(c, -ENOEXEC,
                         "kernel: ELF program headers at offset %llu run past the end of the file "
                         "(%llu bytes)",
                         (unsigned long long)eh->e_phoff, (unsigned long long)c->kernel_size);
    return 0;
}

/* Scans one note segment's bytes; 1 with *entry set when the PVH note is there, 0 if not. */
static int pvh_scan_notes(const struct boot_ctx *c, const uint8_t *buf, uint64_t len,
                          uint64_t *entry)
{
    uint64_t off = 0;

    /* Notes are 4-byte aligned as Linux and GNU ld emit them, also in ELF64. */
    while (len - off >= sizeof(Elf64_Nhdr)) {
        Elf64_Nhdr nh;
        uint64_t name = off + sizeof(nh), desc, next;

        memcpy(&nh, buf + off, sizeof(nh));
        desc = name + (((uint64_t)nh.n_namesz + 3) & ~3ull);
        next = desc + (((uint64_t)nh.n_descsz + 3) & ~3ull);
        if (desc > len || nh.n_descsz > len - desc)
            return 0; /* a truncated note ends the segment */
        if (nh.n_type == PVH_NOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
            memcmp(buf + name, "Xen", 4) == 0) {
            uint32_t v32;

            if (nh.n_descsz == 8) {
                memcpy(entry, buf + desc, 8);
            } else if (nh.n_descsz == 4) {
                memcpy(&v32, buf + desc, 4);
                *entry = v32;
            } else {
                return boot_fail(c, -ENOEXEC, "kernel: PVH entry note has a %u-byte value",
                                 nh.n_descsz);
            }
            return 1;
        }
        if (next >= len)
            break;
        off = next;
    }
    return 0;
}

static int pvh_find_entry(const struct boot_ctx *c, struct pvh_plan *p)
{
    uint8_t *buf = NULL;
    int ret = 0;

    for (unsigned int i = 0; i < p->phnum && ret == 0; i++) {
        const Elf64_Phdr *ph = &p->ph[i];

        if (ph->p_type != PT_NOTE)
            continue;
        if (ph->p_filesz > PVH_MAX_NOTE_BYTES || ph->p_offset > c->kernel_size ||
            ph->p_filesz > c->kernel_size - ph->p_offset) {
            ret = boot_fail(c, -ENOEXEC, "kernel: note segment %u is truncated or too large", i);
            break;
        }
        free(buf);
        buf = malloc(ph->p_filesz ? ph->p_filesz : 1);
        if (!buf) {
            ret = boot_fail(c, -ENOMEM, "kernel: out of memory reading notes");
            break;
        }
        ret = boot_pread(c, c->in->kernel_fd, "kernel", buf, ph->p_filesz, ph->p_offset);
        if (ret == 0)
            ret = pvh_scan_notes(c, buf, ph->p_filesz, &p->entry);
    }
    free(buf);
    if (ret == 0)
        ret = boot_fail(c, -ENOEXEC,
                        "kernel: not a bzImage or a PVH ELF (ELF without a "
                        "XEN_ELFNOTE_PHYS32_ENTRY note)");
    return ret < 0 ? ret : 0;
}

static int pvh_check_segments(const struct boot_ctx *c, struct pvh_plan *p)
{
    bool entry_loaded = false, any = false;

    p->kstart = UINT64_MAX;
    p->kend = 0;
    for (unsigned int i = 0; i < p->phnum; i++) {
        const Elf64_Phdr *ph = &p->ph[i];

        if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
            continue;
        if (ph->p_filesz > ph->p_memsz)
            return boot_fail(c, -ENOEXEC, "kernel: segment %u has more file bytes than memory", i);
        if (ph->p_offset > c->kernel_size || ph->p_filesz > c->kernel_size - ph->p_offset)
            return boot_fail(c, -ENOEXEC,
                             "kernel: segment %u truncated (file offset %llu + %llu bytes, file "
                             "has %llu)",
                             i, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz,
                             (unsigned long long)c->kernel_size);
        if (ph->p_paddr < GPA_HIGH_RAM_START)
            return boot_fail(c, -EINVAL,
                             "kernel: segment %u at 0x%llx overlaps the boot structures below "
                             "1 MiB",
                             i, (unsigned long long)ph->p_paddr);
        if (!guest_mem_ptr(c->gm, ph->p_paddr, ph->p_memsz))
            return boot_fail(c, -EINVAL, "kernel: segment %u at 0x%llx outside guest memory", i,
                             (unsigned long long)ph->p_paddr);
        /* guest_mem_ptr accepted the range, so paddr + memsz does not wrap. */
        if (p->entry >= ph->p_paddr && p->entry - ph->p_paddr < ph->p_memsz)
            entry_loaded = true;
        if (ph->p_paddr < PVH_4G) {
            if (ph->p_paddr < p->kstart)
                p->kstart = ph->p_paddr;
            if (ph->p_paddr + ph->p_memsz > p->kend)
                p->kend = ph->p_paddr + ph->p_memsz;
        }
        any = true;
    }
    if (!any)
        return boot_fail(c, -ENOEXEC, "kernel: ELF has no loadable segment");
    /* The entry runs in 32-bit protected mode without paging. */
    if (!entry_loaded || p->entry >= PVH_4G)
        return boot_fail(c, -ENOEXEC, "kernel: PVH entry 0x%llx is not in a loaded segment",
                         (unsigned long long)p->entry);
    return 0;
}

static void pvh_fill_page(const struct boot_ctx *c, const struct pvh_plan *p, struct pvh_page *pg)
{
    struct boot_mem_range map[BOOT_MEMMAP_MAX];
    int n = boot_memmap(c->gm, map);

    memset(pg, 0, sizeof(*pg));
    pg->info.magic = PVH_START_MAGIC;
    pg->info.version = PVH_START_VERSION;
    pg->info.cmdline_paddr = GPA_CMDLINE;
    pg->info.rsdp_paddr = c->in->acpi_rsdp_gpa;
    if (c->initramfs_size > 0) {
        pg->info.nr_modules = 1;
        pg->info.modlist_paddr = GPA_PVH_START_INFO + offsetof(struct pvh_page, module);
        pg->module.paddr = p->initramfs;
        pg->module.size = c->initramfs_size;
    }
    pg->info.memmap_paddr = GPA_PVH_START_INFO + offsetof(struct pvh_page, memmap);
    pg->info.memmap_entries = (uint32_t)n;
    for (int i = 0; i < n; i++) {
        pg->memmap[i].addr = map[i].addr;
        pg->memmap[i].size = map[i].size;
        pg->memmap[i].type = map[i].type;
    }
}

static int pvh_load_segments(const struct boot_ctx *c, const struct pvh_plan *p)
{
    for (unsigned int i = 0; i < p->phnum; i++) {
        const Elf64_Phdr *ph = &p->ph[i];
        uint8_t *dst;
        int ret;

        if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
            continue;
        ret = boot_pread_guest(c, c->in->kernel_fd, "kernel", ph->p_paddr, ph->p_filesz,
                               ph->p_offset);
        if (ret < 0)
            return ret;
        dst = guest_mem_ptr(c->gm, ph->p_paddr, ph->p_memsz);
        if (dst) /* checked by pvh_check_segments */
            memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
    }
    return 0;
}

int boot_pvh_load(const struct boot_ctx *c, const uint8_t *head, size_t n, struct boot_entry *entry)
{
    struct pvh_plan *p = NULL;
    struct pvh_page pg;
    Elf64_Ehdr eh;
    int ret;

    if (n < sizeof(eh))
        return boot_fail(c, -ENOEXEC, "kernel: ELF header truncated (%zu bytes)", n);
    memcpy(&eh, head, sizeof(eh));
    ret = pvh_check_ehdr(c, &eh);
    if (ret < 0)
        return ret;

    p = calloc(1, sizeof(*p));
    if (!p)
        return boot_fail(c, -ENOMEM, "kernel: out of memory");
    p->phnum = eh.e_phnum;
    ret =
        boot_pread(c, c->in->kernel_fd, "kernel", p->ph, p->phnum * sizeof(Elf64_Phdr), eh.e_phoff);
    if (ret < 0)
        goto out;
    ret = pvh_find_entry(c, p);
    if (ret < 0)
        goto out;
    ret = pvh_check_segments(c, p);
    if (ret < 0)
        goto out;
    ret = boot_check_cmdline(c, CMDLINE_MAX - 1);
    if (ret < 0)
        goto out;
    if (c->initramfs_size > 0) {
        ret = boot_place_initramfs(c, GPA_MEM32_END, p->kstart, p->kend, &p->initramfs);
        if (ret < 0)
            goto out;
    }

    pvh_fill_page(c, p, &pg);
    ret = guest_mem_write(c->gm, GPA_PVH_START_INFO, &pg, sizeof(pg));
    if (ret < 0) {
        ret = boot_fail(c, ret, "kernel: start info at 0x%llx is not guest RAM",
                        (unsigned long long)GPA_PVH_START_INFO);
        goto out;
    }
    ret = boot_write_cmdline(c);
    if (ret < 0)
        goto out;
    ret = pvh_load_segments(c, p);
    if (ret < 0)
        goto out;
    if (c->initramfs_size > 0) {
        ret = boot_pread_guest(c, c->in->initramfs_fd, "initramfs", p->initramfs, c->initramfs_size,
                               0);
        if (ret < 0)
            goto out;
    }
    *entry = (struct boot_entry){
        .mode = BOOT_PVH,
        .rip = p->entry,
        .rbx = GPA_PVH_START_INFO,
        .rsp = GPA_BOOT_STACK,
    };
out:
    free(p);
    return ret;
}
