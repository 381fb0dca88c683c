#ifndef CELLVM_CORE_RESOURCES_H
#define CELLVM_CORE_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The privileged opens the controller does on behalf of the core. The controller never reads
 * these files' contents (the core parses the kernel); it only opens them.
 */
struct vm_resources {
    int kvm;       /* /dev/kvm; owned */
    int memfd;     /* sealed guest RAM; owned */
    int kernel;    /* owned */
    int initramfs; /* owned, -1 if none */
};

void resources_init(struct vm_resources *r);
void resources_close(struct vm_resources *r);

/* Opens a file read-only for the guest; err names `what` and the path on failure. */
int resources_open_ro(const char *what, const char *path, int *fd, char *err, size_t errlen);

int resources_open_kvm(int *fd, char *err, size_t errlen);

/*
 * Guest RAM: a memfd of `size` bytes (hugetlb with the given page size when hugepage_size is
 * non-zero), sealed against shrink, grow and further sealing.
 */
int resources_create_ram(uint64_t size, uint64_t hugepage_size, int *fd, char *err, size_t errlen);

#endif
