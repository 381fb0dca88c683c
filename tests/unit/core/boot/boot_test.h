#ifndef CELLVM_TESTS_UNIT_CORE_BOOT_TEST_H
#define CELLVM_TESTS_UNIT_CORE_BOOT_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/boot/boot.h"

/* Shared fixtures for the boot tests: guest memory, in-memory files, image builders. */

#define MiB           (1024ull * 1024ull)
#define GiB           (1024ull * MiB)
#define TEST_FILL     0xcc
#define TEST_RSDP_GPA 0xe0000ull

struct test_mem {
    struct guest_mem gm; /* one zone: the whole mapping */
    uint8_t *host;
    size_t maplen;
};

/* Maps size bytes (MAP_NORESERVE); fill with TEST_FILL only when asked, to keep big ones sparse. */
void tmem_init(struct test_mem *m, uint64_t size, bool fill);
void tmem_fini(struct test_mem *m);
/* True if every byte of guest memory still holds TEST_FILL. */
bool tmem_untouched(const struct test_mem *m);

uint16_t g16(const struct guest_mem *gm, uint64_t gpa);
uint32_t g32(const struct guest_mem *gm, uint64_t gpa);
uint64_t g64(const struct guest_mem *gm, uint64_t gpa);

/* A memfd holding len bytes of data (data NULL: a sparse file of len bytes). */
int memfile(const void *data, size_t len);

/* Runs boot_load with the given files and cmdline; err receives the reason. */
int run_load(const struct test_mem *m, int kfd, int ifd, const char *cmdline, struct boot_entry *e,
             char *err, size_t errlen);

/* Runs boot_load expecting ret and exactly reason, with guest memory left as TEST_FILL. */
void expect_fail(const struct test_mem *m, int kfd, int ifd, const char *cmdline, int ret,
                 const char *reason);

struct bz_opts {
    uint16_t version;
    uint8_t loadflags;
    uint16_t xloadflags;
    uint8_t setup_sects;
    uint32_t cmdline_size;
    uint32_t initrd_addr_max;
    uint8_t relocatable;
    uint64_t pref_address;
    uint32_t init_size;
    size_t code_len;
};

/* Defaults of a modern kernel: protocol 2.15, loaded high, 64-bit entry, not relocatable. */
struct bz_opts bz_defaults(void);
/* Builds a bzImage into a malloc'd buffer; returns it and sets *len. */
uint8_t *bz_build(const struct bz_opts *o, size_t *len);
/* Byte i of the protected-mode code bz_build writes. */
uint8_t bz_code_byte(size_t i);

#define ELF_MAX_SEGS 8

struct elf_seg {
    uint32_t type;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
};

struct elf_opts {
    uint8_t elf_class; /* ELFCLASS64 unless a test breaks it */
    uint16_t machine;
    uint16_t type;
    uint64_t entry;       /* value put in the PVH note */
    uint32_t entry_bytes; /* note desc size; 0: no PVH note at all */
    unsigned int nseg;
    struct elf_seg seg[ELF_MAX_SEGS];
};

/* One code segment at 1 MiB (0x3000 bytes) and one data+bss segment at 2 MiB, entry 1 MiB+0x10. */
struct elf_opts elf_defaults(void);
/* Builds the ELF (PT_NOTE first, then the segments) into a malloc'd buffer; sets *len. */
uint8_t *elf_build(const struct elf_opts *o, size_t *len);
/* File offset of segment i's data as elf_build lays it out. */
uint64_t elf_seg_offset(unsigned int i);
uint8_t elf_seg_byte(unsigned int seg, size_t i);

#endif
