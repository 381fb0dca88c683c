#include "core/boot/boot.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/boot/bzimage.h"
#include "core/boot/loader.h"
#include "core/boot/pvh.h"
#include "core/platform.h"

/* Enough for the bzImage setup header (ends at 0x26c) and an ELF64 header. */
#define BOOT_PROBE_BYTES 0x400u

static int boot_file_size(const struct boot_ctx *c, int fd, const char *what, uint64_t *size)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return boot_fail(c, -errno, "%s: fstat: %s", what, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return boot_fail(c, -EINVAL, "%s: not a regular file", what);
    *size = (uint64_t)st.st_size;
    return 0;
}

int boot_load(const struct guest_mem *gm, const struct boot_params_in *in, struct boot_entry *entry,
              char *err, size_t errlen)
{
    struct boot_ctx c = {
        .gm = gm,
        .in = in,
        .cmdline = in->cmdline ? in->cmdline : "",
        .err = err,
        .errlen = errlen,
    };
    uint8_t head[BOOT_PROBE_BYTES];
    size_t n;
    int ret;

    if (errlen > 0)
        err[0] = '\0';
    c.cmdline_len = strlen(c.cmdline);
    /* The boot structures sit below 640 KiB and every kernel loads at 1 MiB or above. */
    if (guest_mem_low_size(gm) <= GPA_HIGH_RAM_START)
        return boot_fail(&c, -EINVAL, "memory: %llu bytes are too few to boot (need over 1 MiB)",
                         (unsigned long long)gm->size);

    ret = boot_file_size(&c, in->kernel_fd, "kernel", &c.kernel_size);
    if (ret < 0)
        return ret;
    if (in->initramfs_fd >= 0) {
        ret = boot_file_size(&c, in->initramfs_fd, "initramfs", &c.initramfs_size);
        if (ret < 0)
            return ret;
    }

    n = c.kernel_size < sizeof(head) ? (size_t)c.kernel_size : sizeof(head);
    ret = boot_pread(&c, in->kernel_fd, "kernel", head, n, 0);
    if (ret < 0)
        return ret;
    if (boot_bzimage_probe(head, n))
        return boot_bzimage_load(&c, head, n, entry);
    if (boot_pvh_probe(head, n))
        return boot_pvh_load(&c, head, n, entry);
    return boot_fail(&c, -ENOEXEC, "kernel: not a bzImage or a PVH ELF");
}
