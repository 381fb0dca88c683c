/* --pmem on the controller's side (issue 20): the file opened by Cloud Hypervisor's rules
 * (its own size, at least size=, 2 MiB multiples, a directory's temporary file, read-only for
 * discard_writes) and CoreConfig's pmem devices with their CORE_FD_PMEM fds, validated. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/controller/resources.h"
#include "validate.h"

#define MiB (1ull << 20)

static char dir[] = "/tmp/cellvm-pmem-XXXXXX";
static char path[64], err[256];

static void setup(void)
{
    int fd;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/img", dir);
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, 4 * MiB), 0);
    close(fd);
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

static int try_open(const char *file, bool has_size, uint64_t size, bool discard, uint64_t *got)
{
    struct resources_pmem p = {
        .file = file, .has_size = has_size, .size = size, .discard_writes = discard
    };
    int fd = -1, r = resources_open_pmem(&p, &fd, got, err, sizeof(err));

    if (r == 0) {
        cr_expect_geq(fd, 0);
        cr_expect_eq(fcntl(fd, F_GETFL) & O_ACCMODE, discard ? O_RDONLY : O_RDWR);
        cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        close(fd);
    } else {
        cr_expect_eq(fd, -1);
    }
    return r;
}

Test(pmem_open, file_rules, .init = setup, .fini = teardown)
{
    uint64_t size = 0;

    cr_expect_eq(try_open(path, false, 0, false, &size), 0, "%s", err);
    cr_expect_eq(size, 4 * MiB);
    cr_expect_eq(try_open(path, true, 2 * MiB, true, &size), 0, "%s", err);
    cr_expect_eq(size, 2 * MiB);
    cr_expect_neq(try_open(path, true, 6 * MiB, false, &size), 0);
    cr_expect(strstr(err, "is 4194304 bytes, smaller than size=6291456"), "%s", err);
    cr_expect_neq(try_open("/nonexistent/pmem", false, 0, true, &size), 0);
    cr_expect(strstr(err, "cannot open '/nonexistent/pmem'"), "%s", err);
    cr_expect_neq(try_open("/dev/null", false, 0, true, &size), 0);
    cr_expect(strstr(err, "not a regular file"), "%s", err);
    cr_assert_eq(truncate(path, 3 * MiB), 0);
    cr_expect_neq(try_open(path, false, 0, false, &size), 0);
    cr_expect(strstr(err, "not a non-zero multiple of 2 MiB"), "%s", err);
}

Test(pmem_open, directory_gets_a_temporary_file, .init = setup, .fini = teardown)
{
    uint64_t size = 0;

    cr_expect_neq(try_open(dir, false, 0, false, &size), 0);
    cr_expect(strstr(err, "size= is required"), "%s", err);
    cr_expect_eq(try_open(dir, true, 8 * MiB, false, &size), 0, "%s", err);
    cr_expect_eq(size, 8 * MiB);
}

struct cfg {
    Cellvm__Envelope env;
    Cellvm__CoreConfig cc;
    Cellvm__CpuConfig cpus;
    Cellvm__MemoryConfig mem;
    Cellvm__PmemDevice d[2];
    Cellvm__PmemDevice *dp[2];
    Cellvm__CoreFd fds[6];
};

static void cfg_init(struct cfg *c)
{
    const Cellvm__CoreFd fds[] = { CELLVM__CORE_FD__CORE_FD_KVM, CELLVM__CORE_FD__CORE_FD_MEMORY,
                                   CELLVM__CORE_FD__CORE_FD_KERNEL, CELLVM__CORE_FD__CORE_FD_PMEM,
                                   CELLVM__CORE_FD__CORE_FD_PMEM };

    memset(c, 0, sizeof(*c));
    cellvm__envelope__init(&c->env);
    cellvm__core_config__init(&c->cc);
    cellvm__cpu_config__init(&c->cpus);
    cellvm__memory_config__init(&c->mem);
    for (int i = 0; i < 2; i++) {
        cellvm__pmem_device__init(&c->d[i]);
        c->d[i].id = (char *)(i ? "p1" : "p0");
        c->d[i].size = 2 * MiB;
        c->d[i].fd_index = 3 + (uint32_t)i;
        c->dp[i] = &c->d[i];
    }
    for (int i = 0; i < 5; i++)
        c->fds[i] = fds[i];
    c->cpus.boot_vcpus = c->cpus.max_vcpus = 1;
    c->cpus.max_phys_bits = 46;
    c->cpus.threads_per_core = c->cpus.cores_per_die = c->cpus.dies_per_package = 1;
    c->cpus.packages = 1;
    c->mem.size = 512 * MiB;
    c->cc.cpus = &c->cpus;
    c->cc.memory = &c->mem;
    c->cc.cmdline = (char *)"";
    c->cc.serial = CELLVM__SERIAL_MODE__SERIAL_NULL;
    c->cc.seccomp = CELLVM__SECCOMP_MODE__SECCOMP_ON;
    c->cc.fds = c->fds;
    c->cc.n_fds = 5;
    c->cc.pmem = c->dp;
    c->cc.n_pmem = 2;
    c->env.body_case = CELLVM__ENVELOPE__BODY_CORE_CONFIG;
    c->env.core_config = &c->cc;
}

static void refused(struct cfg *c, const char *want)
{
    const char *why = NULL;

    cr_assert_neq(pb_validate_envelope(&c->env, c->cc.n_fds, &why), 0, "want %s", want);
    cr_assert_str_eq(why, want);
}

Test(pmem_msgs, core_config_devices)
{
    struct cfg c;
    const char *why = NULL;

    cfg_init(&c);
    cr_assert_eq(pb_validate_envelope(&c.env, 5, &why), 0, "%s", why ? why : "");
    c.d[1].size = 3 * MiB;
    refused(&c, "core_config.pmem.size");
    cfg_init(&c);
    c.d[0].size = 0;
    refused(&c, "core_config.pmem.size");
    cfg_init(&c);
    c.d[1].fd_index = 3; /* both on one fd */
    refused(&c, "core_config.pmem.fd_index");
    cfg_init(&c);
    c.d[1].fd_index = 1; /* the RAM fd */
    refused(&c, "core_config.pmem.fd_index");
    cfg_init(&c);
    c.cc.n_pmem = 1; /* a CORE_FD_PMEM no device names */
    refused(&c, "core_config.pmem");
    cfg_init(&c);
    c.d[0].id = (char *)"";
    refused(&c, "core_config.pmem.id");
    cfg_init(&c);
    c.d[0].pci_segment = 96;
    refused(&c, "core_config.pmem.pci_segment");
}

/* vm.add-pmem's AddPmem (issue 20): exactly one fd, the device checked as in CoreConfig. */
Test(pmem_msgs, add_pmem)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__AddPmem ap = CELLVM__ADD_PMEM__INIT;
    Cellvm__PmemDevice d = CELLVM__PMEM_DEVICE__INIT;
    const char *why = NULL;

    d.id = (char *)"pm0";
    d.size = 4 * MiB;
    ap.pmem = &d;
    env.body_case = CELLVM__ENVELOPE__BODY_ADD_PMEM;
    env.add_pmem = &ap;
    cr_expect_eq(pb_validate_envelope(&env, 1, &why), 0, "%s", why ? why : "");
    cr_expect_neq(pb_validate_envelope(&env, 0, &why), 0, "no file");
    cr_expect_neq(pb_validate_envelope(&env, 2, &why), 0, "two fds");
    d.size = 3 * MiB;
    cr_expect_neq(pb_validate_envelope(&env, 1, &why), 0, "not a 2 MiB multiple");
    d.size = 0;
    cr_expect_neq(pb_validate_envelope(&env, 1, &why), 0, "empty");
    d.size = 2 * MiB;
    d.pci_segment = PB_MAX_PCI_SEGMENTS;
    cr_expect_neq(pb_validate_envelope(&env, 1, &why), 0, "segment past the limit");
    d.pci_segment = 0;
    d.fd_index = 1;
    cr_expect_neq(pb_validate_envelope(&env, 1, &why), 0, "fd_index names no fd");
    d.fd_index = 0;
    d.id = (char *)"";
    cr_expect_neq(pb_validate_envelope(&env, 1, &why), 0, "no id");
    ap.pmem = NULL;
    cr_expect_neq(pb_validate_envelope(&env, 1, &why), 0, "no device");
}
