#include "core/boot/bzimage.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/platform.h"

#define BZ_BOOT_FLAG      0xaa55
#define BZ_HDRS_MAGIC     0x53726448u /* "HdrS" */
#define BZ_MIN_VERSION    0x0206      /* cmdline_size; below that the command line is 255 bytes */
#define BZ_XLOADFLAGS_VER 0x020c
#define BZ_RSDP_VER       0x020e
#define BZ_LOADED_HIGH    0x01
#define BZ_XLF_KERNEL_64  0x0001
#define BZ_LOADER_OTHER   0xff
#define BZ_VID_NORMAL     0xffff
#define BZ_ENTRY_64       0x200 /* 64-bit entry, from the start of the protected-mode code */
#define BZ_SECTOR         512u
#define BZ_E820_MAX       128
/* Before 2.03 initrd_addr_max was not reported and meant this. */
#define BZ_INITRD_MAX_OLD 0x37ffffffu

/* The setup header as it sits in the image at 0x1f1 and in boot_params at the same offset. */
struct bz_setup_header {
    uint8_t setup_sects;
    uint16_t root_flags;
    uint32_t syssize;
    uint16_t ram_size;
    uint16_t vid_mode;
    uint16_t root_dev;
    uint16_t boot_flag;
    uint16_t jump;
    uint32_t header;
    uint16_t version;
    uint32_t realmode_swtch;
    uint16_t start_sys_seg;
    uint16_t kernel_version;
    uint8_t type_of_loader;
    uint8_t loadflags;
    uint16_t setup_move_size;
    uint32_t code32_start;
    uint32_t ramdisk_image;
    uint32_t ramdisk_size;
    uint32_t bootsect_kludge;
    uint16_t heap_end_ptr;
    uint8_t ext_loader_ver;
    uint8_t ext_loader_type;
    uint32_t cmd_line_ptr;
    uint32_t initrd_addr_max;
    uint32_t kernel_alignment;
    uint8_t relocatable_kernel;
    uint8_t min_alignment;
    uint16_t xloadflags;
    uint32_t cmdline_size;
    uint32_t hardware_subarch;
    uint64_t hardware_subarch_data;
    uint32_t payload_offset;
    uint32_t payload_length;
    uint64_t setup_data;
    uint64_t pref_address;
    uint32_t init_size;
    uint32_t handover_offset;
    uint32_t kernel_info_offset;
} __attribute__((packed));

struct bz_e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));

/* struct boot_params, the "zero page"; only the fields a 64-bit loader fills are named. */
struct bz_zero_page {
    uint8_t screen_apm_tboot_ist[0x70];
    uint64_t acpi_rsdp_addr;
    uint8_t pad0[0x48];
    uint32_t ext_ramdisk_image;
    uint32_t ext_ramdisk_size;
    uint32_t ext_cmd_line_ptr;
    uint8_t pad1[0x11c];
    uint8_t e820_entries;
    uint8_t pad2[8];
    struct bz_setup_header hdr;
    uint8_t pad3[0x2d0 - 0x1f1 - sizeof(struct bz_setup_header)];
    struct bz_e820_entry e820[BZ_E820_MAX];
    uint8_t pad4[0x330];
} __attribute__((packed));

#define BZ_HDR_START 0x1f1
#define BZ_HDR_END   (BZ_HDR_START + sizeof(struct bz_setup_header))

static_assert(sizeof(struct bz_e820_entry) == 20, "e820 entry");
static_assert(sizeof(struct bz_zero_page) == 0x1000, "boot_params is one page");
static_assert(offsetof(struct bz_zero_page, acpi_rsdp_addr) == 0x070, "acpi_rsdp_addr");
static_assert(offsetof(struct bz_zero_page, ext_ramdisk_image) == 0x0c0, "ext_ramdisk_image");
static_assert(offsetof(struct bz_zero_page, ext_cmd_line_ptr) == 0x0c8, "ext_cmd_line_ptr");
static_assert(offsetof(struct bz_zero_page, e820_entries) == 0x1e8, "e820_entries");
static_assert(offsetof(struct bz_zero_page, hdr) == BZ_HDR_START, "hdr");
static_assert(offsetof(struct bz_zero_page, e820) == 0x2d0, "e820_table");
static_assert(offsetof(struct bz_zero_page, hdr.boot_flag) == 0x1fe, "boot_flag");
static_assert(offsetof(struct bz_zero_page, hdr.header) == 0x202, "header");
static_assert(offsetof(struct bz_zero_page, hdr.type_of_loader) == 0x210, "type_of_loader");
static_assert(offsetof(struct bz_zero_page, hdr.code32_start) == 0x214, "code32_start");
static_assert(offsetof(struct bz_zero_page, hdr.cmd_line_ptr) == 0x228, "cmd_line_ptr");
static_assert(offsetof(struct bz_zero_page, hdr.relocatable_kernel) == 0x234, "relocatable");
static_assert(offsetof(struct bz_zero_page, hdr.cmdline_size) == 0x238, "cmdline_size");
static_assert(offsetof(struct bz_zero_page, hdr.pref_address) == 0x258, "pref_address");
static_assert(offsetof(struct bz_zero_page, hdr.kernel_info_offset) == 0x268, "kernel_info");
static_assert(BZ_HDR_END == 0x26c, "setup header end");

/* Where the kernel goes and how much memory it claims from there. */
struct bz_plan {
    uint64_t code_off; /* file offset of the protected-mode code */
    uint64_t code_len;
    uint64_t load;
    uint64_t end; /* end of everything the kernel uses before it reads the e820 map */
    uint64_t initramfs;
};

static uint16_t bz_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

bool boot_bzimage_probe(const uint8_t *head, size_t n)
{
    uint32_t magic;

    if (n < 0x206 || bz_le16(head + 0x1fe) != BZ_BOOT_FLAG)
        return false;
    magic = (uint32_t)bz_le16(head + 0x202) | (uint32_t)bz_le16(head + 0x204) << 16;
    return magic == BZ_HDRS_MAGIC;
}

static int bz_check_header(const struct boot_ctx *c, const struct bz_setup_header *h)
{
    if (h->version < BZ_MIN_VERSION)
        return boot_fail(c, -ENOEXEC, "kernel: bzImage boot protocol %u.%02u is older than 2.06",
                         h->version >> 8, h->version & 0xff);
    if (!(h->loadflags & BZ_LOADED_HIGH))
        return boot_fail(c, -ENOEXEC, "kernel: zImage (not loaded high) is not supported");
    if (h->version < BZ_XLOADFLAGS_VER || !(h->xloadflags & BZ_XLF_KERNEL_64))
        return boot_fail(c, -ENOEXEC, "kernel: bzImage has no 64-bit entry point");
    return 0;
}

/*
 * A relocatable kernel runs where it is loaded, so loading it at its preferred address spares
 * it a move; a kernel that is not relocatable moves itself to pref_address when it unpacks.
 */
static int bz_plan_kernel(const struct boot_ctx *c, const struct bz_setup_header *h,
                          struct bz_plan *p)
{
    uint64_t sects = h->setup_sects ? h->setup_sects : 4, need;

    p->code_off = (sects + 1) * BZ_SECTOR;
    if (p->code_off >= c->kernel_size)
        return boot_fail(c, -ENOEXEC,
                         "kernel: bzImage truncated: protected-mode code at %llu, file has %llu "
                         "bytes",
                         (unsigned long long)p->code_off, (unsigned long long)c->kernel_size);
    p->code_len = c->kernel_size - p->code_off;
    need = p->code_len > h->init_size ? p->code_len : h->init_size;

    p->load = GPA_HIGH_RAM_START;
    if (h->relocatable_kernel && h->pref_address != p->load &&
        h->pref_address >= GPA_HIGH_RAM_START && h->pref_address < GPA_MEM32_END &&
        guest_mem_ptr(c->gm, h->pref_address, need))
        p->load = h->pref_address;
    p->end = p->load + need; /* cannot wrap: need < 2^32 and load is 1 MiB or checked RAM */
    if (!h->relocatable_kernel && h->pref_address > p->load) {
        if (h->pref_address > UINT64_MAX - h->init_size)
            return boot_fail(c, -ENOEXEC, "kernel: bzImage pref_address 0x%llx is invalid",
                             (unsigned long long)h->pref_address);
        if (h->pref_address + h->init_size > p->end)
            p->end = h->pref_address + h->init_size;
    }
    if (!guest_mem_ptr(c->gm, p->load, p->end - p->load))
        return boot_fail(c, -EFBIG,
                         "kernel: needs 0x%llx bytes at 0x%llx, guest has 0x%llx bytes below "
                         "3 GiB",
                         (unsigned long long)(p->end - p->load), (unsigned long long)p->load,
                         (unsigned long long)guest_mem_low_size(c->gm));
    return 0;
}

static void bz_fill_zero_page(const struct boot_ctx *c, const struct bz_setup_header *h,
                              const struct bz_plan *p, struct bz_zero_page *zp)
{
    struct boot_mem_range map[BOOT_MEMMAP_MAX];
    int n = boot_memmap(c->gm, map);

    memset(zp, 0, sizeof(*zp));
    zp->hdr = *h;
    zp->hdr.type_of_loader = BZ_LOADER_OTHER;
    zp->hdr.vid_mode = BZ_VID_NORMAL;
    zp->hdr.code32_start = (uint32_t)p->load;
    zp->hdr.cmd_line_ptr = (uint32_t)GPA_CMDLINE;
    if (c->initramfs_size > 0) {
        /* Both below 3 GiB (boot_place_initramfs), so the 32-bit fields hold them. */
        zp->hdr.ramdisk_image = (uint32_t)p->initramfs;
        zp->hdr.ramdisk_size = (uint32_t)c->initramfs_size;
    }
    if (h->version >= BZ_RSDP_VER)
        zp->acpi_rsdp_addr = c->in->acpi_rsdp_gpa;
    for (int i = 0; i < n; i++) {
        zp->e820[i].addr = map[i].addr;
        zp->e820[i].size = map[i].size;
        zp->e820[i].type = map[i].type;
    }
    zp->e820_entries = (uint8_t)n;
}

int boot_bzimage_load(const struct boot_ctx *c, const uint8_t *head, size_t n,
                      struct boot_entry *entry)
{
    struct bz_setup_header h;
    struct bz_zero_page zp;
    struct bz_plan plan = { 0 };
    size_t hdr_end = 0x202 + (size_t)head[0x201]; /* the jump at 0x200 skips the header */
    uint64_t initrd_limit;
    int ret;

    if (hdr_end > BZ_HDR_END)
        hdr_end = BZ_HDR_END;
    if (n < hdr_end)
        return boot_fail(c, -ENOEXEC,
                         "kernel: bzImage truncated inside its setup header (%zu of %zu bytes)", n,
                         hdr_end);
    memset(&h, 0, sizeof(h));
    memcpy(&h, head + BZ_HDR_START, hdr_end - BZ_HDR_START);

    ret = bz_check_header(c, &h);
    if (ret < 0)
        return ret;
    ret = bz_plan_kernel(c, &h, &plan);
    if (ret < 0)
        return ret;
    ret = boot_check_cmdline(c, h.cmdline_size);
    if (ret < 0)
        return ret;
    if (c->initramfs_size > 0) {
        initrd_limit = h.initrd_addr_max ? h.initrd_addr_max : BZ_INITRD_MAX_OLD;
        ret = boot_place_initramfs(c, initrd_limit + 1ull, plan.load, plan.end, &plan.initramfs);
        if (ret < 0)
            return ret;
    }

    bz_fill_zero_page(c, &h, &plan, &zp);
    ret = guest_mem_write(c->gm, GPA_ZERO_PAGE, &zp, sizeof(zp));
    if (ret < 0)
        return boot_fail(c, ret, "kernel: zero page at 0x%llx is not guest RAM",
                         (unsigned long long)GPA_ZERO_PAGE);
    ret = boot_write_cmdline(c);
    if (ret < 0)
        return ret;
    ret = boot_pread_guest(c, c->in->kernel_fd, "kernel", plan.load, plan.code_len, plan.code_off);
    if (ret < 0)
        return ret;
    if (c->initramfs_size > 0) {
        ret = boot_pread_guest(c, c->in->initramfs_fd, "initramfs", plan.initramfs,
                               c->initramfs_size, 0);
        if (ret < 0)
            return ret;
    }

    *entry = (struct boot_entry){
        .mode = BOOT_LINUX64,
        .rip = plan.load + BZ_ENTRY_64,
        .rsi = GPA_ZERO_PAGE,
        .rsp = GPA_BOOT_STACK,
    };
    return 0;
}
