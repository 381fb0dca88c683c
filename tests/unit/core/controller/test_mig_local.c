/* Local migration on the controller's side (issue 18): Cloud Hypervisor's shared-memory rule
 * for the source, and the destination's checks of the memory fds a source passed against the
 * configuration it sent (count, sizes, sealed memfds, a shared zone's own file). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/controller/migration.h"

#define MB (1ull << 20)

static int memfd(uint64_t size, bool seal)
{
    int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    if (seal)
        cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
    return fd;
}

Test(mig_local, shared_memory_rule)
{
    struct cli_config c;
    struct cli_memory_zone z[2];

    memset(&c, 0, sizeof(c));
    memset(z, 0, sizeof(z));
    cr_assert_not(migration_shared_memory(&c));
    c.memory.shared = true;
    cr_assert(migration_shared_memory(&c));
    c.memory.shared = false;
    c.memory.hugepages = true;
    cr_assert(migration_shared_memory(&c));
    c.memory.hugepages = false;
    c.zones = z;
    c.nzones = 2;
    z[0].shared = true;
    cr_assert_not(migration_shared_memory(&c), "one zone is private");
    z[1].hugepages = true;
    cr_assert(migration_shared_memory(&c));
}

/* The fds the destination took, against a configuration without zones. */
Test(mig_local, fds_against_config)
{
    struct api_ctl a;
    struct cli_config c;
    char err[300];

    memset(&a, 0, sizeof(a));
    memset(&c, 0, sizeof(c));
    c.memory.size = 4 * MB;
    cr_assert_eq(migration_memfd_check(&a, &c, err, sizeof(err)), 0, "none sent: a copy");
    a.mig_memfd[0] = memfd(4 * MB, true);
    a.nmig_memfd = 1;
    cr_assert_eq(migration_memfd_check(&a, &c, err, sizeof(err)), 0, "%s", err);
    c.memory.size = 8 * MB;
    cr_assert_eq(migration_memfd_check(&a, &c, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "bytes"), "%s", err);
    c.memory.size = 4 * MB;
    a.mig_memfd[1] = memfd(4 * MB, true);
    a.nmig_memfd = 2;
    cr_assert_eq(migration_memfd_check(&a, &c, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "2 memory fds for a configuration of 1 zone"), "%s", err);
    migration_memfd_close(&a);
    cr_assert_eq(a.nmig_memfd, 0);
    a.mig_memfd[0] = memfd(4 * MB, false);
    a.nmig_memfd = 1;
    cr_assert_eq(migration_memfd_check(&a, &c, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "sealed"), "%s", err);
    migration_memfd_close(&a);
}

/* Zones: a memfd per anonymous zone; a shared file= zone's fd must be that very file. */
Test(mig_local, zones_and_files)
{
    char dir[] = "/tmp/mig-local-XXXXXX", path[64], other[64], err[300];
    struct cli_memory_zone z[2];
    struct cli_config c;
    struct api_ctl a;
    int take[8];

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/ram", dir);
    snprintf(other, sizeof(other), "%s/other", dir);
    for (int i = 0; i < 2; i++) {
        int f = open(i ? other : path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);

        cr_assert_geq(f, 0);
        cr_assert_eq(ftruncate(f, 2 * MB), 0);
        close(f);
    }
    memset(&a, 0, sizeof(a));
    memset(&c, 0, sizeof(c));
    memset(z, 0, sizeof(z));
    z[0].size = 4 * MB;
    z[1].size = 2 * MB;
    z[1].file = path;
    z[1].shared = true;
    c.zones = z;
    c.nzones = 2;
    a.mig_memfd[0] = memfd(4 * MB, true);
    a.mig_memfd[1] = open(path, O_RDWR | O_CLOEXEC);
    a.nmig_memfd = 2;
    cr_assert_eq(migration_memfd_check(&a, &c, err, sizeof(err)), 0, "%s", err);
    close(a.mig_memfd[1]);
    a.mig_memfd[1] = open(other, O_RDWR | O_CLOEXEC); /* same size, another file */
    cr_assert_eq(migration_memfd_check(&a, &c, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "is not zone 1's file"), "%s", err);
    /* the boot takes them all, in zone order */
    cr_assert_eq(migration_take_memfds(&a, take, 8), 2);
    cr_assert_eq(a.nmig_memfd, 0);
    close(take[0]);
    close(take[1]);
    unlink(path);
    unlink(other);
    rmdir(dir);
}
