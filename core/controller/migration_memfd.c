#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/controller/migration.h"
#include "ipc/mig_stream.h"

/*
 * Local migration's memory (issue 18, vm.send-migration local=true), the controller's half.
 * Source: Cloud Hypervisor's rule, local only with memory shared with others. Destination: the
 * MEMORY_FD fds the source sent before its Config are kept, then checked against that config
 * (one per zone, each the zone's size, a sealed memfd unless the zone is a shared file), and
 * the boot maps them as the VM's RAM instead of creating new memory.
 */

bool migration_shared_memory(const struct cli_config *c)
{
    if (c->memory.shared || c->memory.hugepages)
        return true;
    if (!c->nzones)
        return false;
    for (size_t i = 0; i < c->nzones; i++)
        if (!c->zones[i].shared && !c->zones[i].hugepages)
            return false;
    return true;
}

void migration_memfd_close(struct api_ctl *a)
{
    for (uint32_t i = 0; i < a->nmig_memfd; i++)
        close(a->mig_memfd[i]);
    a->nmig_memfd = 0;
}

int migration_memfd_take(struct api_ctl *a, int fd, const struct mig_hdr *h, char *err,
                         size_t errlen)
{
    uint64_t sizes[MIG_MAX_MEMFDS];
    uint32_t n = 0;
    int r;

    if (a->nmig_memfd) {
        snprintf(err, errlen, "migration: a second MemoryFd");
        return -EPROTO;
    }
    r = mig_recv_memfds(fd, h, MIGRATION_ACCEPT_MS, sizes, a->mig_memfd, &n, err, errlen);
    if (!r)
        a->nmig_memfd = n;
    return r;
}

/* Zone i's fd: a shared file= zone's must be that file (or, for a directory, a file on its
 * filesystem); every other zone's is a sealed memfd. */
static int check_one(int fd, uint32_t i, uint64_t size, const char *file, bool shared, char *err,
                     size_t errlen)
{
    struct stat want, got;
    bool sealed = true;

    if (file && stat(file, &want) == 0 && fstat(fd, &got) == 0) {
        if (S_ISDIR(want.st_mode) || shared) {
            sealed = false;
            if (got.st_dev != want.st_dev ||
                (!S_ISDIR(want.st_mode) && got.st_ino != want.st_ino)) {
                snprintf(err, errlen, "local migration: memory fd %u is not zone %u's file '%s'", i,
                         i, file);
                return -EINVAL;
            }
        }
    }
    return mig_memfd_check(fd, i, size, sealed, err, errlen);
}

int migration_memfd_check(struct api_ctl *a, const struct cli_config *c, char *err, size_t errlen)
{
    uint32_t want = c->nzones ? (uint32_t)c->nzones : 1;
    int r = 0;

    if (!a->nmig_memfd)
        return 0;
    if (a->nmig_memfd != want) {
        snprintf(err, errlen, "local migration: %u memory fds for a configuration of %u zone(s)",
                 a->nmig_memfd, want);
        return -EINVAL;
    }
    for (uint32_t i = 0; !r && i < want; i++)
        r = c->nzones ? check_one(a->mig_memfd[i], i, c->zones[i].size, c->zones[i].file,
                                  c->zones[i].shared, err, errlen)
                      : check_one(a->mig_memfd[i], i, c->memory.size, NULL, false, err, errlen);
    return r;
}

size_t migration_take_memfds(struct api_ctl *a, int *fds, size_t max)
{
    size_t n = a->nmig_memfd;

    if (n > max)
        return 0; /* checked against the configuration before: cannot happen */
    memcpy(fds, a->mig_memfd, n * sizeof(int));
    a->nmig_memfd = 0;
    return n;
}
