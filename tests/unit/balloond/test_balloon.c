/*
 * The balloon model against real guest memory: a memfd sealed like the core's, mapped through
 * devmem_add_fd with the fds kept (as cellvm-balloond runs), two regions. Punches are checked
 * by what they must do: the pages read back as zeroes and the file's allocated blocks drop;
 * pages around them keep their bytes.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balloond/balloon.h"
#include "device-procs/devmem.h"
#include "sandbox/profile.h"
#include "validate_device.h"

#define PG     4096ull
#define R0_GPA 0x100000ull        /* region 0: 32 pages at file offset 0 */
#define R1_GPA (R0_GPA + 32 * PG) /* region 1: right after, at file offset 32 pages */
#define NPAGES 64u

static struct devmem mem;
static struct balloon b;

static int make_memfd(void)
{
    int fd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    char page[PG];

    cr_assert_geq(fd, 0);
    memset(page, 0xa5, sizeof(page));
    for (unsigned i = 0; i < NPAGES; i++)
        cr_assert_eq(pwrite(fd, page, sizeof(page), (off_t)(i * PG)), (ssize_t)PG);
    cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
    return fd;
}

/* Two regions of one memfd, gpa-contiguous; `keep` as balloond's keep_mem_fds. *fd_out is a
 * dup the test keeps to look at the file. */
static void setup_mem(bool keep, int *fd_out)
{
    int fd = make_memfd();
    struct vu_mem_region r0 = { R0_GPA, 32 * PG, 0x7f0000000000ull, 0 };
    struct vu_mem_region r1 = { R1_GPA, 32 * PG, 0x7f1000000000ull, 32 * PG };

    devmem_init(&mem);
    mem.keep_fds = keep;
    *fd_out = dup(fd);
    cr_assert_eq(devmem_add_fd(&mem, &r0, dup(fd)), 0);
    cr_assert_eq(devmem_add_fd(&mem, &r1, fd), 0);
}

static uint64_t blocks(int fd)
{
    struct stat st;

    cr_assert_eq(fstat(fd, &st), 0);
    return (uint64_t)st.st_blocks;
}

static bool page_is(uint64_t gpa, uint8_t v)
{
    const uint8_t *p = devmem_gpa(&mem, gpa, PG);

    cr_assert_not_null(p);
    for (unsigned i = 0; i < PG; i++)
        if (p[i] != v)
            return false;
    return true;
}

static uint32_t pfn(uint64_t gpa)
{
    return (uint32_t)(gpa >> 12);
}

Test(balloon, inflate_punches_valid_pages_once)
{
    int fd;
    uint64_t before;
    uint32_t pfns[] = { pfn(R0_GPA + 4 * PG), pfn(R0_GPA + 3 * PG), pfn(R0_GPA + 4 * PG),
                        pfn(R0_GPA + 5 * PG), 0xdeadbeefu,          pfn(R0_GPA) - 1 };

    setup_mem(true, &fd);
    cr_assert_eq(balloon_init(&b, 0, true), 0);
    before = blocks(fd);
    balloon_inflate(&b, &mem, pfns, sizeof(pfns) / sizeof(pfns[0]));
    cr_expect_eq(balloon_counter(&b, BALLOON_C_INFLATED), 3);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_DUP_PFN), 1);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_BAD_PFN), 2);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_DISCARDED), 3 * PG);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_PUNCH_ERRORS), 0);
    /* Before reading: a read fault on a hole of a shared shmem mapping allocates a page. */
    cr_expect_eq(before - blocks(fd), 3 * PG / 512, "blocks %llu -> %llu",
                 (unsigned long long)before, (unsigned long long)blocks(fd));
    for (unsigned i = 3; i <= 5; i++)
        cr_expect(page_is(R0_GPA + i * PG, 0), "page %u was not punched", i);
    cr_expect(page_is(R0_GPA + 2 * PG, 0xa5));
    cr_expect(page_is(R0_GPA + 6 * PG, 0xa5));
    balloon_destroy(&b);
    devmem_clear(&mem);
    close(fd);
}

/* A run of pages crossing the two regions is punched in both files' pieces. */
Test(balloon, run_across_regions)
{
    int fd;
    uint32_t pfns[] = { pfn(R1_GPA - PG), pfn(R1_GPA), pfn(R1_GPA + PG) };

    setup_mem(true, &fd);
    cr_assert_eq(balloon_init(&b, 0, true), 0);
    balloon_inflate(&b, &mem, pfns, 3);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_INFLATED), 3);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_DISCARDED), 3 * PG);
    cr_expect(page_is(R1_GPA - PG, 0));
    cr_expect(page_is(R1_GPA + PG, 0));
    cr_expect(page_is(R1_GPA + 2 * PG, 0xa5));
    cr_expect(page_is(R1_GPA - 2 * PG, 0xa5));
    balloon_destroy(&b);
    devmem_clear(&mem);
    close(fd);
}

/* discard=off (VFIO attached): counted, nothing leaves guest memory. */
Test(balloon, no_discard_keeps_pages)
{
    int fd;
    uint64_t before;
    uint32_t pfns[] = { pfn(R0_GPA), pfn(R0_GPA + PG) };

    setup_mem(true, &fd);
    cr_assert_eq(balloon_init(&b, 0, false), 0);
    before = blocks(fd);
    balloon_inflate(&b, &mem, pfns, 2);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_INFLATED), 2);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_DISCARDED), 0);
    cr_expect(page_is(R0_GPA, 0xa5));
    cr_expect_eq(blocks(fd), before);
    balloon_destroy(&b);
    devmem_clear(&mem);
    close(fd);
}

/* A table that keeps no fds (any other device) cannot punch: an error counted, no crash. */
Test(balloon, no_fd_is_an_error_not_a_crash)
{
    int fd;
    uint32_t pfns[] = { pfn(R0_GPA) };

    setup_mem(false, &fd);
    cr_assert_eq(balloon_init(&b, 0, true), 0);
    balloon_inflate(&b, &mem, pfns, 1);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_PUNCH_ERRORS), 1);
    cr_expect(page_is(R0_GPA, 0xa5));
    balloon_destroy(&b);
    devmem_clear(&mem);
    close(fd);
}

/* Deflate gives nothing back to the host and touches nothing. */
Test(balloon, deflate_counts_only)
{
    int fd;
    uint32_t pfns[] = { pfn(R0_GPA + 7 * PG), 5u };

    setup_mem(true, &fd);
    cr_assert_eq(balloon_init(&b, 0, true), 0);
    balloon_deflate(&b, &mem, pfns, 2);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_DEFLATED), 1);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_BAD_PFN), 1);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_DISCARDED), 0);
    cr_expect(page_is(R0_GPA + 7 * PG, 0xa5));
    balloon_destroy(&b);
    devmem_clear(&mem);
    close(fd);
}

/* Page numbers split across segments anywhere, a partial tail, more than the cap. */
Test(balloon, read_pfns_bounds)
{
    static struct virtq_elem e;
    static uint32_t raw[300];
    uint32_t out[BALLOON_MAX_PFNS];
    uint8_t *bytes = (uint8_t *)raw;
    size_t n;

    cr_assert_eq(balloon_init(&b, 0, true), 0);
    for (unsigned i = 0; i < 300; i++)
        raw[i] = htole32(1000 + i);
    memset(&e, 0, sizeof(e));
    e.iov[0] = (struct iovec){ bytes, 5 };      /* one entry and a byte */
    e.iov[1] = (struct iovec){ bytes + 5, 6 };  /* ... to the end of entry 2 */
    e.iov[2] = (struct iovec){ bytes + 11, 3 }; /* a partial entry at the end */
    e.out_num = 3;
    n = balloon_read_pfns(&b, &e, out, BALLOON_MAX_PFNS);
    cr_assert_eq(n, 3);
    cr_expect_eq(out[0], 1000);
    cr_expect_eq(out[1], 1001);
    cr_expect_eq(out[2], 1002); /* bytes 8..11: three in iov[1], one in iov[2] */
    e.iov[0] = (struct iovec){ bytes, sizeof(raw) };
    e.out_num = 1;
    n = balloon_read_pfns(&b, &e, out, BALLOON_MAX_PFNS);
    cr_expect_eq(n, BALLOON_MAX_PFNS);
    cr_expect_eq(out[255], 1255);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_TOO_MANY), 300 - BALLOON_MAX_PFNS);
    /* The writable part is not read (a device-writable buffer is no request). */
    e.out_num = 0;
    e.in_num = 1;
    cr_expect_eq(balloon_read_pfns(&b, &e, out, BALLOON_MAX_PFNS), 0);
    balloon_destroy(&b);
}

Test(balloon, runs_sorted_merged_deduplicated)
{
    uint32_t pfns[] = { 9, 3, 4, 4, 5, 10, 1, 0xffffffffu, 0xfffffffeu };
    struct balloon_range r[9];
    size_t n;

    cr_assert_eq(balloon_init(&b, 0, true), 0);
    n = balloon_pfn_runs(&b, pfns, 9, r);
    cr_assert_eq(n, 4);
    cr_expect_eq(r[0].gpa, 1 * PG);
    cr_expect_eq(r[0].len, PG);
    cr_expect_eq(r[1].gpa, 3 * PG);
    cr_expect_eq(r[1].len, 3 * PG);
    cr_expect_eq(r[2].gpa, 9 * PG);
    cr_expect_eq(r[2].len, 2 * PG);
    cr_expect_eq(r[3].gpa, 0xfffffffeull * PG); /* the top page: no overflow, 2^44 is the end */
    cr_expect_eq(r[3].len, 2 * PG);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_DUP_PFN), 1);
    balloon_destroy(&b);
}

/* Free page reporting: buffers are the ranges; only whole file pages go; foreign memory is
 * skipped. */
Test(balloon, report_ranges)
{
    static struct virtq_elem e;
    uint8_t outside[64];
    uint8_t *base;
    int fd;

    setup_mem(true, &fd);
    cr_assert_eq(balloon_init(&b, 0, true), 0);
    base = devmem_gpa(&mem, R0_GPA + 10 * PG, 4 * PG);
    cr_assert_not_null(base);
    memset(&e, 0, sizeof(e));
    e.iov[0] = (struct iovec){ base + 100, 3 * PG }; /* pages 11 and 12 whole, 10 and 13 not */
    e.iov[1] = (struct iovec){ outside, sizeof(outside) };
    e.in_num = 2;
    balloon_report(&b, &mem, &e);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_REPORTED), 3 * PG);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_DISCARDED), 2 * PG);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_BAD_RANGE), 1);
    cr_expect(page_is(R0_GPA + 10 * PG, 0xa5));
    cr_expect(page_is(R0_GPA + 11 * PG, 0));
    cr_expect(page_is(R0_GPA + 12 * PG, 0));
    cr_expect(page_is(R0_GPA + 13 * PG, 0xa5));
    balloon_destroy(&b);
    devmem_clear(&mem);
    close(fd);
}

/* More ranges than a report may hold: the rest skipped and counted, the loop bounded. */
Test(balloon, report_too_many_ranges)
{
    static struct virtq_elem e;
    uint8_t *base;
    int fd;

    setup_mem(true, &fd);
    cr_assert_eq(balloon_init(&b, 0, true), 0);
    base = devmem_gpa(&mem, R0_GPA, 32 * PG);
    memset(&e, 0, sizeof(e));
    for (unsigned i = 0; i < BALLOON_MAX_RANGES + 10; i++)
        e.iov[i] = (struct iovec){ base, 16 };
    e.in_num = BALLOON_MAX_RANGES + 10;
    balloon_report(&b, &mem, &e);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_BAD_RANGE), 10);
    cr_expect_eq(balloon_counter(&b, BALLOON_C_DISCARDED), 0); /* 16 bytes: no whole page */
    balloon_destroy(&b);
    devmem_clear(&mem);
    close(fd);
}

Test(balloon, config_space)
{
    uint8_t cfg[BALLOON_CONFIG_SIZE];
    uint32_t v;
    bool changed;
    uint8_t w[4];

    cr_assert_eq(balloon_init(&b, 256ull << 20, true), 0);
    balloon_config(&b, cfg);
    memcpy(&v, cfg, 4);
    cr_expect_eq(le32toh(v), 65536);
    cr_expect(!balloon_set_target(&b, (256ull << 20) + 100)); /* same page count */
    cr_expect(balloon_set_target(&b, 0));
    v = htole32(1234);
    memcpy(w, &v, 4);
    /* The driver may not write num_pages, nor part of actual. */
    cr_expect_eq(balloon_config_write(&b, w, 0, 4, false, &changed), -EPERM);
    cr_expect_eq(balloon_config_write(&b, w, 4, 2, false, &changed), -EPERM);
    cr_expect_eq(balloon_config_write(&b, w, 6, 4, false, &changed), -EINVAL);
    cr_expect_eq(balloon_config_write(&b, w, 4, 4, false, &changed), 0);
    cr_expect(changed);
    cr_expect_eq(balloon_config_write(&b, w, 4, 4, false, &changed), 0);
    cr_expect(!changed);
    balloon_config(&b, cfg);
    memcpy(&v, cfg + 4, 4);
    cr_expect_eq(le32toh(v), 1234);
    memcpy(&v, cfg, 4);
    cr_expect_eq(le32toh(v), 0);
    /* Migration restores num_pages too. */
    v = htole32(77);
    memcpy(w, &v, 4);
    cr_expect_eq(balloon_config_write(&b, w, 0, 4, true, &changed), 0);
    balloon_config(&b, cfg);
    memcpy(&v, cfg, 4);
    cr_expect_eq(le32toh(v), 77);
    balloon_destroy(&b);
}

/* The control messages are checked before balloond or the controller acts on them. */
Test(balloon, control_messages_validated)
{
    Cellvm__BalloonTarget t = CELLVM__BALLOON_TARGET__INIT;
    Cellvm__BalloonActual a = CELLVM__BALLOON_ACTUAL__INIT;
    const char *why = NULL;

    t.size = 256ull << 20;
    cr_expect_eq(pb_validate_balloon_target(&t, &why), 0);
    t.size = (256ull << 20) + 1;
    cr_expect_neq(pb_validate_balloon_target(&t, &why), 0, "not a page multiple");
    t.size = 0xffffffffull << 12;
    cr_expect_eq(pb_validate_balloon_target(&t, &why), 0);
    t.size = 1ull << 44;
    cr_expect_neq(pb_validate_balloon_target(&t, &why), 0, "num_pages would not fit 32 bits");
    a.size = 1ull << 50;
    cr_expect_neq(pb_validate_balloon_actual(&a, &why), 0);
    a.size = 4096;
    cr_expect_eq(pb_validate_balloon_actual(&a, &why), 0);
}

/* The model's whole data path under cellvm-balloond's real seccomp profile (kill on anything
 * else): glibc helpers that ask the kernel for more than the jail allows (qsort's sysinfo)
 * would end the child with SIGSYS. */
Test(balloon, runs_under_its_seccomp_profile)
{
    int fd, st;
    pid_t pid;

    setup_mem(true, &fd);
    cr_assert_eq(balloon_init(&b, 0, true), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        scmp_filter_ctx ctx = sbx_profile_build(SBX_PROFILE_BALLOOND, SBX_SECCOMP_ON);
        static struct virtq_elem e;
        uint32_t pfns[BALLOON_MAX_PFNS];
        uint32_t raw[8] = { pfn(R0_GPA + 9 * PG), pfn(R0_GPA + 8 * PG),
                            pfn(R0_GPA + 8 * PG), 7,
                            pfn(R1_GPA),          pfn(R1_GPA - PG),
                            0xffffffffu,          pfn(R0_GPA) };
        size_t n;

        if (!ctx || seccomp_load(ctx) != 0)
            _exit(2);
        e.iov[0] = (struct iovec){ raw, sizeof(raw) };
        e.out_num = 1;
        n = balloon_read_pfns(&b, &e, pfns, BALLOON_MAX_PFNS);
        balloon_inflate(&b, &mem, pfns, n);
        balloon_deflate(&b, &mem, pfns, n);
        e.iov[0] = (struct iovec){ devmem_gpa(&mem, R0_GPA + 20 * PG, 2 * PG), 2 * PG };
        e.out_num = 0;
        e.in_num = 1;
        balloon_report(&b, &mem, &e);
        for (int i = 0; i < 20; i++)
            balloon_log(&b, "rate-limited line %d", i);
        _exit(balloon_counter(&b, BALLOON_C_DISCARDED) == 7 * PG ? 0 : 3);
    }
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status 0x%x (signal %d)", st,
              WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    balloon_destroy(&b);
    devmem_clear(&mem);
    close(fd);
}
