#include "core/controller/resources.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

void resources_init(struct vm_resources *r)
{
    r->kvm = -1;
    r->memfd = -1;
    r->kernel = -1;
    r->initramfs = -1;
    for (size_t i = 0; i < RESOURCES_MAX_ZONES; i++)
        r->zone_fd[i] = r->vmem_fd[i] = -1;
    for (size_t i = 0; i < RESOURCES_MAX_PMEM; i++)
        r->pmem_fd[i] = -1;
    r->npmem = 0;
    r->nzones = 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void resources_close(struct vm_resources *r)
{
    close_fd(&r->kvm);
    close_fd(&r->memfd);
    close_fd(&r->kernel);
    close_fd(&r->initramfs);
    for (size_t i = 0; i < RESOURCES_MAX_ZONES; i++) {
        close_fd(&r->zone_fd[i]);
        close_fd(&r->vmem_fd[i]);
    }
    for (size_t i = 0; i < RESOURCES_MAX_PMEM; i++)
        close_fd(&r->pmem_fd[i]);
    r->nzones = 0;
    r->nvmem = 0;
    r->npmem = 0;
}

int resources_open_ro(const char *what, const char *path, int *fd, char *err, size_t errlen)
{
    struct stat st;
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (f < 0) {
        int e = errno;

        snprintf(err, errlen, "%s: cannot open '%s': %s", what, path, strerror(e));
        return -e;
    }
    if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: '%s' is not a regular file", what, path);
        close(f);
        return -EINVAL;
    }
    *fd = f;
    return 0;
}

int resources_check_kernel(int fd, const char *path, char *err, size_t errlen)
{
    static const uint8_t elf[4] = { 0x7f, 'E', 'L', 'F' };
    uint8_t head[4] = { 0 }, sig[2] = { 0 }, hdrs[4] = { 0 };

    if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) && !memcmp(head, elf, 4))
        return 0;
    if (pread(fd, sig, sizeof(sig), 0x1fe) == (ssize_t)sizeof(sig) && sig[0] == 0x55 &&
        sig[1] == 0xaa && pread(fd, hdrs, sizeof(hdrs), 0x202) == (ssize_t)sizeof(hdrs) &&
        !memcmp(hdrs, "HdrS", 4))
        return 0;
    snprintf(err, errlen,
             "--kernel: '%s' is not a kernel cellvm can boot (neither a bzImage nor "
             "an ELF file)",
             path);
    return -ENOEXEC;
}

int resources_open_kvm(int *fd, char *err, size_t errlen)
{
    int f = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (f < 0) {
        int e = errno;

        snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(e));
        return -e;
    }
    *fd = f;
    return 0;
}

static int huge_flag(uint64_t page, unsigned *flag)
{
    unsigned shift = 0;

    if (page == 0) {
        *flag = 0;
        return 0;
    }
    if (page & (page - 1))
        return -EINVAL;
    while ((1ull << shift) < page)
        shift++;
    *flag = MFD_HUGETLB | (shift << MFD_HUGE_SHIFT);
    return 0;
}

int resources_create_ram(uint64_t size, uint64_t hugepage_size, int *fd, char *err, size_t errlen)
{
    const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    unsigned flags;
    int f, e;

    if (huge_flag(hugepage_size, &flags)) {
        snprintf(err, errlen, "--memory: hugepage_size must be a power of two");
        return -EINVAL;
    }
    f = memfd_create("cellvm-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING | flags);
    if (f < 0) {
        e = errno;
        snprintf(err, errlen, "guest memory: memfd_create%s failed: %s", flags ? " (hugetlb)" : "",
                 strerror(e));
        return -e;
    }
    if (ftruncate(f, (off_t)size) < 0 || fcntl(f, F_ADD_SEALS, seals) < 0) {
        e = errno;
        snprintf(err, errlen, "guest memory: cannot size and seal %llu bytes: %s",
                 (unsigned long long)size, strerror(e));
        close(f);
        return -e;
    }
    *fd = f;
    return 0;
}

bool resources_shmem_thp_off(void)
{
    char buf[128] = "";
    int fd = open("/sys/kernel/mm/transparent_hugepage/shmem_enabled", O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return strstr(buf, "[never]") || strstr(buf, "[deny]");
}

static int zone_fail(const struct resources_zone *z, int e, char *err, size_t errlen,
                     const char *what)
{
    snprintf(err, errlen, "--memory-zone: zone '%s': %s '%s': %s", z->id, what, z->file,
             strerror(e));
    return -e;
}

/* Copies the first z->size bytes of src into the fresh memfd dst. */
static int copy_into(const struct resources_zone *z, int src, int dst, char *err, size_t errlen)
{
    uint64_t done = 0;
    off_t off = 0;

    while (done < z->size) {
        size_t chunk = z->size - done > (1u << 30) ? (1u << 30) : (size_t)(z->size - done);
        ssize_t n = sendfile(dst, src, &off, chunk);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return zone_fail(z, n < 0 ? errno : EIO, err, errlen, "cannot copy");
        done += (uint64_t)n;
    }
    return 0;
}

int resources_open_zone(const struct resources_zone *z, int *fd, bool *file_backed, char *err,
                        size_t errlen)
{
    struct stat st;
    int f = -1, mem = -1, r;

    *fd = -1;
    *file_backed = false;
    if (!z->file)
        return resources_create_ram(z->size, z->hugepage_size, fd, err, errlen);
    if (stat(z->file, &st) < 0)
        return zone_fail(z, errno, err, errlen, "cannot use");
    if (S_ISDIR(st.st_mode)) {
        f = open(z->file, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (f < 0)
            return zone_fail(z, errno, err, errlen, "cannot create a file in");
        if (ftruncate(f, (off_t)z->size) < 0) {
            r = zone_fail(z, errno, err, errlen, "cannot size a file in");
            close(f);
            return r;
        }
        *fd = f;
        *file_backed = true;
        return 0;
    }
    f = open(z->file, (z->shared ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
    if (f < 0)
        return zone_fail(z, errno, err, errlen, "cannot open");
    if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < z->size) {
        snprintf(err, errlen,
                 "--memory-zone: zone '%s': '%s' is not a regular file of at least %llu bytes",
                 z->id, z->file, (unsigned long long)z->size);
        close(f);
        return -EINVAL;
    }
    if (z->shared) {
        *fd = f;
        *file_backed = true;
        return 0;
    }
    if (z->hugepage_size) {
        snprintf(err, errlen,
                 "--memory-zone: zone '%s': a private copy of '%s' cannot be on "
                 "hugepages (use shared=on)",
                 z->id, z->file);
        close(f);
        return -EINVAL;
    }
    /* Sized and sealed first: sealing forbids growing, not writing. A restore overwrites all
     * of it from the snapshot: the file (read-only storage, Cloud Hypervisor #7674) is only
     * checked then, never read nor written. */
    r = resources_create_ram(z->size, 0, &mem, err, errlen);
    if (r == 0 && !z->restoring)
        r = copy_into(z, f, mem, err, errlen);
    close(f);
    if (r < 0) {
        if (mem >= 0)
            close(mem);
        return r;
    }
    *fd = mem;
    return 0;
}

void resources_host_nodes(uint64_t *mask, size_t nwords)
{
    char buf[4096], *p, *end;
    ssize_t n = -1;
    int f = open("/sys/devices/system/node/online", O_RDONLY | O_CLOEXEC);

    memset(mask, 0, nwords * sizeof(*mask));
    if (f >= 0) {
        n = read(f, buf, sizeof(buf) - 1);
        close(f);
    }
    if (n <= 0) {
        mask[0] = 1;
        return;
    }
    buf[n] = '\0';
    /* "0", "0-3", "0,2-5": ranges of decimal node numbers. */
    for (p = buf; *p && *p != '\n';) {
        unsigned long lo = strtoul(p, &end, 10), hi = lo;

        if (end == p)
            break;
        if (*end == '-') {
            p = end + 1;
            hi = strtoul(p, &end, 10);
            if (end == p)
                break;
        }
        for (unsigned long i = lo; i <= hi && i < nwords * 64; i++)
            mask[i / 64] |= 1ull << (i % 64);
        p = *end == ',' ? end + 1 : end;
        if (end == p)
            break;
    }
}
