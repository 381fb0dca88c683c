#ifndef CELLVM_CORE_RESOURCES_H
#define CELLVM_CORE_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The privileged opens the controller does on behalf of the core. The controller never reads
 * these files' contents (the core parses the kernel); it only opens them.
 */
/* Memory zones the controller can hand to the core (validate.h's PB_MAX_ZONES). */
#define RESOURCES_MAX_ZONES 8
#define RESOURCES_MAX_PMEM  8 /* --pmem files (validate.h's PB_MAX_PMEM) */

struct vm_resources {
    int kvm;                                    /* /dev/kvm; owned */
    int memfd;                                  /* sealed guest RAM without --memory-zone; owned */
    int kernel;                                 /* owned */
    int initramfs;                              /* owned, -1 if none */
    int zone_fd[RESOURCES_MAX_ZONES];           /* one per --memory-zone, in order; owned */
    bool zone_file_backed[RESOURCES_MAX_ZONES]; /* an unsealable file= file, not a memfd */
    size_t nzones;
    /* virtio-mem (issue 17): the region of zone vmem_zone[i] (0 without zones), a sealed memfd
     * of its hotplug_size; owned, nvmem of them in zone order. */
    int vmem_fd[RESOURCES_MAX_ZONES];
    uint32_t vmem_zone[RESOURCES_MAX_ZONES];
    size_t nvmem;
    /* --pmem (issue 20): each device's file and the bytes of it the guest sees; owned, npmem
     * of them in --pmem order. */
    int pmem_fd[RESOURCES_MAX_PMEM];
    uint64_t pmem_size[RESOURCES_MAX_PMEM];
    size_t npmem;
};

void resources_init(struct vm_resources *r);
void resources_close(struct vm_resources *r);

/* Opens a file read-only for the guest; err names `what` and the path on failure. */
int resources_open_ro(const char *what, const char *path, int *fd, char *err, size_t errlen);

/*
 * Whether the opened kernel starts like one the core can load: a bzImage (the boot sector's
 * 0x55AA and the setup header's "HdrS") or an ELF file. Two fixed-offset compares, not a parse:
 * the core parses the kernel; this lets vm.boot refuse a wrong file before any process
 * starts. 0, or -ENOEXEC with err naming `path`.
 */
int resources_check_kernel(int fd, const char *path, char *err, size_t errlen);

int resources_open_kvm(int *fd, char *err, size_t errlen);

/*
 * Guest RAM: a memfd of `size` bytes (hugetlb with the given page size when hugepage_size is
 * non-zero), sealed against shrink, grow and further sealing.
 */
int resources_create_ram(uint64_t size, uint64_t hugepage_size, int *fd, char *err, size_t errlen);

/*
 * Whether the host keeps transparent huge pages off shared memory (shmem_enabled "never" or
 * "deny"): guest RAM is a memfd, so --memory thp=on then gets 4 KiB pages, and a nested guest
 * pays a page fault per 4 KiB. Unreadable counts as on (no false alarm).
 */
bool resources_shmem_thp_off(void);

/* What one --memory-zone asks for, as resources_open_zone needs it. */
struct resources_zone {
    const char *id;
    uint64_t size;
    const char *file;       /* NULL: anonymous (memfd) */
    bool shared;            /* with file: map the file itself, so the guest writes to it */
    uint64_t hugepage_size; /* 0: normal pages */
    bool restoring; /* vm.restore: memory-ranges replaces every byte, a private copy is not read */
};

/*
 * One zone's fd. Without a file: a sealed memfd as resources_create_ram makes. A directory:
 * an unnamed temporary file in it (O_TMPFILE) of the zone's size. A file with shared=on: the
 * file itself, at least the zone's size (*file_backed: it cannot be sealed). A file with
 * shared=off: a sealed memfd holding a copy of the file's first `size` bytes, as a private
 * mapping of it would show them, yet shareable with device processes.
 */
int resources_open_zone(const struct resources_zone *z, int *fd, bool *file_backed, char *err,
                        size_t errlen);

/* What one --pmem asks for (resources_pmem.c). */
struct resources_pmem {
    const char *file;
    bool has_size;
    uint64_t size;
    bool discard_writes;
};

/*
 * The file a virtio-pmem device maps (Cloud Hypervisor's rules): a directory gets an unnamed
 * temporary file of size bytes (size required); a file is opened read-write, or read-only
 * with discard_writes, and must hold at least size bytes (its own size without size); the
 * size is a non-zero multiple of 2 MiB. 0, or -errno with one line in err.
 */
int resources_open_pmem(const struct resources_pmem *p, int *fd, uint64_t *size, char *err,
                        size_t errlen);

/* Online host NUMA nodes (/sys/devices/system/node/online) as a bitmap of nwords*64 bits;
 * node 0 alone when the file is missing (a kernel without NUMA). */
void resources_host_nodes(uint64_t *mask, size_t nwords);

#endif
