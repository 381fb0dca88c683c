#include "boot_test.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "core/platform.h"

void tmem_init(struct test_mem *m, uint64_t size, bool fill)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);

    cr_assert_neq(p, MAP_FAILED, "mmap %llu bytes", (unsigned long long)size);
    if (fill)
        memset(p, TEST_FILL, size);
    m->host = p;
    m->maplen = size;
    guest_mem_init(&m->gm);
    cr_assert_eq(guest_mem_add_zone(&m->gm, p, size, -1), 0);
}

void tmem_fini(struct test_mem *m)
{
    munmap(m->host, m->maplen);
}

bool tmem_untouched(const struct test_mem *m)
{
    static uint8_t ref[64 * 1024];
    uint64_t off = 0;

    memset(ref, TEST_FILL, sizeof(ref));
    while (off < m->gm.size) {
        uint64_t n = m->gm.size - off < sizeof(ref) ? m->gm.size - off : sizeof(ref);

        if (memcmp(m->host + off, ref, n) != 0)
            return false;
        off += n;
    }
    return true;
}

uint16_t g16(const struct guest_mem *gm, uint64_t gpa)
{
    uint16_t v = 0;

    cr_assert_eq(guest_mem_read(gm, gpa, &v, sizeof(v)), 0);
    return v;
}

uint32_t g32(const struct guest_mem *gm, uint64_t gpa)
{
    uint32_t v = 0;

    cr_assert_eq(guest_mem_read(gm, gpa, &v, sizeof(v)), 0);
    return v;
}

uint64_t g64(const struct guest_mem *gm, uint64_t gpa)
{
    uint64_t v = 0;

    cr_assert_eq(guest_mem_read(gm, gpa, &v, sizeof(v)), 0);
    return v;
}

int memfile(const void *data, size_t len)
{
    int fd = memfd_create("boot-test", MFD_CLOEXEC);

    cr_assert_geq(fd, 0);
    if (data)
        cr_assert_eq(write(fd, data, len), (ssize_t)len);
    else
        cr_assert_eq(ftruncate(fd, (off_t)len), 0);
    return fd;
}

int run_load(const struct test_mem *m, int kfd, int ifd, const char *cmdline, struct boot_entry *e,
             char *err, size_t errlen)
{
    struct boot_params_in in = {
        .kernel_fd = kfd,
        .initramfs_fd = ifd,
        .cmdline = cmdline,
        .acpi_rsdp_gpa = TEST_RSDP_GPA,
    };

    memset(e, 0, sizeof(*e));
    return boot_load(&m->gm, &in, e, err, errlen);
}

void expect_fail(const struct test_mem *m, int kfd, int ifd, const char *cmdline, int ret,
                 const char *reason)
{
    struct boot_entry e;
    char err[256];

    cr_expect_eq(run_load(m, kfd, ifd, cmdline, &e, err, sizeof(err)), ret, "err: %s", err);
    cr_expect_str_eq(err, reason);
    cr_expect(tmem_untouched(m), "guest memory was written on a failed load");
}

struct bz_opts bz_defaults(void)
{
    return (struct bz_opts){
        .version = 0x020f,
        .loadflags = 0x01,
        .xloadflags = 0x0001,
        .setup_sects = 4,
        .cmdline_size = 2048,
        .initrd_addr_max = 0x7fffffff,
        .relocatable = 0,
        .pref_address = 0x1000000,
        .init_size = 0x200000,
        .code_len = 0x3000,
    };
}

static void put(uint8_t *buf, size_t off, uint64_t v, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        buf[off + i] = (uint8_t)(v >> (8 * i));
}

uint8_t bz_code_byte(size_t i)
{
    return (uint8_t)(i * 7 + 3);
}

uint8_t *bz_build(const struct bz_opts *o, size_t *len)
{
    size_t sects = o->setup_sects ? o->setup_sects : 4;
    size_t code_off = (sects + 1) * 512;
    uint8_t *buf = calloc(1, code_off + o->code_len);

    cr_assert_not_null(buf);
    put(buf, 0x1f1, o->setup_sects, 1);
    put(buf, 0x1fe, 0xaa55, 2);
    put(buf, 0x200, 0xeb, 1);
    put(buf, 0x201, 0x26c - 0x202, 1);
    memcpy(buf + 0x202, "HdrS", 4);
    put(buf, 0x206, o->version, 2);
    put(buf, 0x211, o->loadflags, 1);
    put(buf, 0x214, 0x100000, 4);
    put(buf, 0x22c, o->initrd_addr_max, 4);
    put(buf, 0x230, 0x200000, 4);
    put(buf, 0x234, o->relocatable, 1);
    put(buf, 0x236, o->xloadflags, 2);
    put(buf, 0x238, o->cmdline_size, 4);
    put(buf, 0x258, o->pref_address, 8);
    put(buf, 0x260, o->init_size, 4);
    for (size_t i = 0; i < o->code_len; i++)
        buf[code_off + i] = bz_code_byte(i);
    *len = code_off + o->code_len;
    return buf;
}

struct elf_opts elf_defaults(void)
{
    return (struct elf_opts){
        .elf_class = ELFCLASS64,
        .machine = EM_X86_64,
        .type = ET_EXEC,
        .entry = 0x100010,
        .entry_bytes = 8,
        .nseg = 2,
        .seg = {
            { PT_LOAD, 0x100000, 0x3000, 0x3000 },
            { PT_LOAD, 0x200000, 0x1800, 0x5000 },
        },
    };
}

#define ELF_NOTE_OFF 0x800
#define ELF_DATA_OFF 0x1000
#define ELF_SEG_MAX  0x10000

uint64_t elf_seg_offset(unsigned int i)
{
    return ELF_DATA_OFF + (uint64_t)i * ELF_SEG_MAX;
}

uint8_t elf_seg_byte(unsigned int seg, size_t i)
{
    return (uint8_t)(seg * 31 + i * 13 + 1);
}

/* Appends one note at *off: 4-byte aligned name and descriptor, as GNU ld lays them out. */
static void note(uint8_t *buf, size_t *off, const char *name, uint32_t type, const void *desc,
                 uint32_t descsz)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1;

    put(buf, *off, namesz, 4);
    put(buf, *off + 4, descsz, 4);
    put(buf, *off + 8, type, 4);
    memcpy(buf + *off + 12, name, namesz);
    *off += 12 + ((namesz + 3) & ~3u);
    memcpy(buf + *off, desc, descsz);
    *off += (descsz + 3) & ~3u;
}

uint8_t *elf_build(const struct elf_opts *o, size_t *len)
{
    size_t size = elf_seg_offset(o->nseg), noff = ELF_NOTE_OFF;
    uint8_t *buf = calloc(1, size);
    unsigned int phnum = o->nseg + (o->entry_bytes ? 1 : 0);
    uint8_t build_id[20] = { 1, 2, 3 };

    cr_assert_not_null(buf);
    memcpy(buf, ELFMAG, SELFMAG);
    buf[EI_CLASS] = o->elf_class;
    buf[EI_DATA] = ELFDATA2LSB;
    buf[EI_VERSION] = EV_CURRENT;
    put(buf, offsetof(Elf64_Ehdr, e_type), o->type, 2);
    put(buf, offsetof(Elf64_Ehdr, e_machine), o->machine, 2);
    put(buf, offsetof(Elf64_Ehdr, e_version), EV_CURRENT, 4);
    put(buf, offsetof(Elf64_Ehdr, e_entry), 0xffffffff81000000ull, 8);
    put(buf, offsetof(Elf64_Ehdr, e_phoff), sizeof(Elf64_Ehdr), 8);
    put(buf, offsetof(Elf64_Ehdr, e_ehsize), sizeof(Elf64_Ehdr), 2);
    put(buf, offsetof(Elf64_Ehdr, e_phentsize), sizeof(Elf64_Phdr), 2);
    put(buf, offsetof(Elf64_Ehdr, e_phnum), phnum, 2);

    for (unsigned int i = 0; i < o->nseg; i++) {
        size_t ph = sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr);

        cr_assert_leq(o->seg[i].filesz, ELF_SEG_MAX);
        put(buf, ph + offsetof(Elf64_Phdr, p_type), o->seg[i].type, 4);
        put(buf, ph + offsetof(Elf64_Phdr, p_offset), elf_seg_offset(i), 8);
        put(buf, ph + offsetof(Elf64_Phdr, p_vaddr), 0xffffffff80000000ull + o->seg[i].paddr, 8);
        put(buf, ph + offsetof(Elf64_Phdr, p_paddr), o->seg[i].paddr, 8);
        put(buf, ph + offsetof(Elf64_Phdr, p_filesz), o->seg[i].filesz, 8);
        put(buf, ph + offsetof(Elf64_Phdr, p_memsz), o->seg[i].memsz, 8);
        for (size_t b = 0; b < o->seg[i].filesz; b++)
            buf[elf_seg_offset(i) + b] = elf_seg_byte(i, b);
    }
    if (o->entry_bytes) {
        size_t ph = sizeof(Elf64_Ehdr) + o->nseg * sizeof(Elf64_Phdr);

        /* Other notes come first so the scan has to step over them. */
        note(buf, &noff, "GNU", NT_GNU_BUILD_ID, build_id, sizeof(build_id));
        note(buf, &noff, "Xen", 6, "linux", 6);
        note(buf, &noff, "Xen", 18, &o->entry, o->entry_bytes);
        put(buf, ph + offsetof(Elf64_Phdr, p_type), PT_NOTE, 4);
        put(buf, ph + offsetof(Elf64_Phdr, p_offset), ELF_NOTE_OFF, 8);
        put(buf, ph + offsetof(Elf64_Phdr, p_filesz), noff - ELF_NOTE_OFF, 8);
        put(buf, ph + offsetof(Elf64_Phdr, p_memsz), noff - ELF_NOTE_OFF, 8);
        put(buf, ph + offsetof(Elf64_Phdr, p_align), 4, 8);
    }
    *len = size;
    return buf;
}
