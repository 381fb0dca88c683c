/*
 * The seccomp profiles as data: each matches its checked-in PFC export (tests/sandbox/golden/,
 * regenerated with CELLVM_REGEN_GOLDEN=1, so every profile change shows in review), stays within
 * its syscall budget, and gives a reason for every rule. The counts are printed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/profile.h"
#include "sandbox/profile_rules.h"

/* The goals; the core process has none (it carries every KVM ioctl). */
static const int budget[SBX_PROFILE_COUNT] = {
    [SBX_PROFILE_CORE] = 0,      [SBX_PROFILE_VCPU] = 25,     [SBX_PROFILE_BLOCKD] = 60,
    [SBX_PROFILE_NETD] = 50,     [SBX_PROFILE_VSOCKD] = 50,   [SBX_PROFILE_API] = 70,
    [SBX_PROFILE_VSOCKCONN] = 8, [SBX_PROFILE_VFIOD] = 45,    [SBX_PROFILE_RNGD] = 25,
    [SBX_PROFILE_BALLOOND] = 50, [SBX_PROFILE_CONSOLED] = 25,
};

static char *read_fd(int fd, size_t *len)
{
    struct stat st;
    char *buf;

    cr_assert_eq(fstat(fd, &st), 0);
    buf = calloc(1, (size_t)st.st_size + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    *len = (size_t)st.st_size;
    return buf;
}

static char *read_path(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf;

    if (fd < 0)
        return NULL;
    buf = read_fd(fd, len);
    close(fd);
    return buf;
}

Test(profiles, golden_pfc)
{
    const char *root = getenv("CELLVM_SOURCE_ROOT");
    bool regen = getenv("CELLVM_REGEN_GOLDEN") && !strcmp(getenv("CELLVM_REGEN_GOLDEN"), "1");

    cr_assert_not_null(root, "CELLVM_SOURCE_ROOT is not set (run through meson test)");
    for (int p = 0; p < SBX_PROFILE_COUNT; p++) {
        char path[4096];
        int fd = memfd_create("pfc", MFD_CLOEXEC);
        size_t got_len, want_len = 0;
        char *got, *want;

        cr_assert_geq(fd, 0);
        cr_assert_eq(sbx_profile_export_pfc((enum sbx_profile)p, fd), 0);
        got = read_fd(fd, &got_len);
        close(fd);
        snprintf(path, sizeof(path), "%s/tests/sandbox/golden/%s.pfc", root,
                 sbx_profile_name((enum sbx_profile)p));
        if (regen) {
            FILE *f = fopen(path, "w");

            cr_assert_not_null(f, "cannot write %s", path);
            cr_assert_eq(fwrite(got, 1, got_len, f), got_len);
            fclose(f);
            cr_log_warn("regenerated %s", path);
        }
        want = read_path(path, &want_len);
        cr_assert_not_null(want, "%s is missing: run with CELLVM_REGEN_GOLDEN=1", path);
        cr_expect(got_len == want_len && !memcmp(got, want, got_len),
                  "profile %s differs from %s: review the change, then regenerate with "
                  "CELLVM_REGEN_GOLDEN=1",
                  sbx_profile_name((enum sbx_profile)p), path);
        free(got);
        free(want);
    }
}

Test(profiles, budgets)
{
    for (int p = 0; p < SBX_PROFILE_COUNT; p++) {
        int n = sbx_profile_count_allowed((enum sbx_profile)p);

        cr_assert_gt(n, 0);
        printf("sandbox profile %-7s allows %d syscalls%s\n", sbx_profile_name((enum sbx_profile)p),
               n, budget[p] ? "" : " (no budget: every KVM ioctl)");
        if (budget[p])
            cr_expect_leq(n, budget[p], "profile %s allows %d syscalls, budget %d",
                          sbx_profile_name((enum sbx_profile)p), n, budget[p]);
    }
}

Test(profiles, every_rule_has_a_reason)
{
    const struct sbx_rule_table *tables[] = {
        &sbx_rules_base,  &sbx_rules_core,     &sbx_rules_vcpu, &sbx_rules_blockd,
        &sbx_rules_netd,  &sbx_rules_vsockd,   &sbx_rules_api,  &sbx_rules_vsockconn,
        &sbx_rules_vfiod, &sbx_rules_balloond, &sbx_rules_loopd
    };

    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (size_t i = 0; i < tables[t]->n; i++)
            cr_expect(tables[t]->rules[i].why && strlen(tables[t]->rules[i].why) > 8,
                      "table %zu rule %zu (syscall %d) has no reason", t, i,
                      tables[t]->rules[i].nr);
}

Test(profiles, names_round_trip)
{
    enum sbx_profile p;

    for (int i = 0; i < SBX_PROFILE_COUNT; i++) {
        cr_assert_eq(sbx_profile_from_name(sbx_profile_name((enum sbx_profile)i), &p), 0);
        cr_assert_eq((int)p, i);
    }
    cr_assert_eq(sbx_profile_from_name("nosuchd", &p), -EINVAL);
    cr_assert_null(sbx_profile_name(SBX_PROFILE_COUNT));
}

/* The filter as loaded: a forked child with the blockd profile dies of SIGSYS on exec. */
Test(profiles, loaded_filter_kills)
{
    pid_t pid = fork();
    int st;

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        scmp_filter_ctx ctx = sbx_profile_build(SBX_PROFILE_BLOCKD, SBX_SECCOMP_ON);
        char *const argv[] = { (char *)"true", NULL };

        if (!ctx || seccomp_load(ctx))
            _exit(3);
        execve("/bin/true", argv, argv + 1);
        _exit(4);
    }
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status 0x%x", st);
}
