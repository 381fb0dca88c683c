/*
 * The precompiled seccomp programs (sandbox/bpf.h): each is byte for byte what libseccomp makes
 * of its rule table today, so the tables and the generated BPF cannot drift apart; and a program
 * loaded in a forked child allows what its table allows, kills (or logs) the rest, and answers
 * the errno rules with their errno.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/audit.h"
#include "sandbox/bpf.h"
#include "sandbox/jail.h"
#include "sandbox/jail_sys.h"
#include "sandbox/profile.h"

static const enum sbx_seccomp modes[] = { SBX_SECCOMP_ON, SBX_SECCOMP_LOG };

/* libseccomp's export of ctx, which is released; the length in bytes in *len. */
static unsigned char *export_fresh(scmp_filter_ctx ctx, size_t *len)
{
    int fd = memfd_create("bpf", MFD_CLOEXEC);
    unsigned char *buf;
    struct stat st;

    cr_assert_not_null(ctx);
    cr_assert_geq(fd, 0);
    cr_assert_eq(seccomp_export_bpf(ctx, fd), 0);
    seccomp_release(ctx);
    cr_assert_eq(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size);
    cr_assert_not_null(buf);
    cr_assert_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

static void expect_same(const char *what, const char *mode, scmp_filter_ctx fresh,
                        const struct sock_filter *prog, uint16_t n)
{
    size_t len;
    unsigned char *want = export_fresh(fresh, &len);

    cr_expect(len == (size_t)n * sizeof(*prog) && !memcmp(want, prog, len),
              "%s (%s): the precompiled program (%u instructions) differs from libseccomp's "
              "export of the rule table (%zu): rebuild sandbox/bpf_tables.h",
              what, mode, (unsigned)n, len / sizeof(*prog));
    free(want);
}

Test(bpf, every_profile_matches_libseccomp)
{
    for (int p = 0; p < SBX_PROFILE_COUNT; p++) {
        for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
            const struct sock_filter *prog;
            uint16_t n;

            cr_assert_eq(sbx_bpf_get((enum sbx_profile)p, modes[m], &prog, &n), 0);
            expect_same(sbx_profile_name((enum sbx_profile)p), m ? "log" : "on",
                        sbx_profile_build((enum sbx_profile)p, modes[m]), prog, n);
        }
    }
}

Test(bpf, interim_matches_libseccomp)
{
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        const struct sock_filter *prog;
        uint16_t n;

        cr_assert_eq(sbx_bpf_get_interim(modes[m], &prog, &n), 0);
        expect_same("interim", m ? "log" : "on", sbx_interim_build(modes[m]), prog, n);
    }
}

Test(bpf, no_program_without_a_filter)
{
    const struct sock_filter *prog;
    struct sbx_thread_filter f;
    uint16_t n;

    cr_expect_eq(sbx_bpf_get(SBX_PROFILE_CORE, SBX_SECCOMP_OFF, &prog, &n), -EINVAL);
    cr_expect_eq(sbx_bpf_get(SBX_PROFILE_COUNT, SBX_SECCOMP_ON, &prog, &n), -EINVAL);
    cr_expect_eq(sbx_bpf_get_interim(SBX_SECCOMP_OFF, &prog, &n), -EINVAL);
    cr_assert_eq(sbx_thread_filter_build(SBX_PROFILE_VCPU, SBX_SECCOMP_OFF, &f), 0);
    cr_expect_eq(f.len, 0);
    cr_expect_null(f.prog);
}

/* The vCPU threads' filter is the precompiled program itself: nothing compiled, nothing owned. */
Test(bpf, thread_filter_is_the_precompiled_program)
{
    const struct sock_filter *prog;
    struct sbx_thread_filter f;
    uint16_t n;

    cr_assert_eq(sbx_bpf_get(SBX_PROFILE_VCPU, SBX_SECCOMP_ON, &prog, &n), 0);
    cr_assert_eq(sbx_thread_filter_build(SBX_PROFILE_VCPU, SBX_SECCOMP_ON, &f), 0);
    cr_expect_eq(f.prog, (const void *)prog);
    cr_expect_eq(f.len, n);
    sbx_thread_filter_free(&f);
    cr_expect_null(f.prog);
}

Test(bpf, syscall_names_match_libseccomp)
{
    char buf[32];

    for (int nr = 0; nr < 1024; nr++) {
        char *want = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
        const char *got = sbx_bpf_syscall_name(nr);

        cr_expect((!want && !got) || (want && got && !strcmp(want, got)), "syscall %d: %s, not %s",
                  nr, got ? got : "(none)", want ? want : "(none)");
        free(want);
    }
    cr_expect_str_eq(sbx_syscall_name(__NR_openat, buf, sizeof(buf)), "openat");
    cr_expect_str_eq(sbx_syscall_name(-1, buf, sizeof(buf)), "?");
    cr_expect_str_eq(sbx_syscall_name(4000, buf, sizeof(buf)), "?");
}

/* In a forked child: no_new_privs, the program loaded as the jail loads it (TSYNC), then
 * body(); the child reports each step on a pipe before it may die. */
static pid_t run_filtered(const struct sock_filter *prog, uint16_t n, void (*body)(int), int *rd)
{
    int p[2];
    pid_t pid;

    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(p[0]);
        if (sbx_sys_set_no_new_privs() || sbx_bpf_load(prog, n))
            _exit(3);
        body(p[1]);
        _exit(0);
    }
    close(p[1]);
    *rd = p[0];
    return pid;
}

static void say(int fd, const char *what)
{
    if (write(fd, what, strlen(what)) < 0)
        _exit(5);
}

static char *collect(int fd, pid_t pid, int *status)
{
    static char out[256]; /* one child at a time */
    ssize_t n, got = 0;

    while ((n = read(fd, out + got, sizeof(out) - 1 - (size_t)got)) > 0)
        got += n;
    out[got] = '\0';
    close(fd);
    cr_assert_eq(waitpid(pid, status, 0), pid);
    return out;
}

/* Allowed (getpid, a write), an errno rule (openat, clone3), then a TCP socket. */
static void probe_body(int fd)
{
    if (getpid() > 0)
        say(fd, "getpid ");
    if (open("/etc/passwd", O_RDONLY | O_CLOEXEC) < 0 && errno == ENOENT)
        say(fd, "open-enoent ");
    if (syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS)
        say(fd, "clone3-enosys ");
    if (socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) >= 0)
        say(fd, "socket ");
}

/* body under prog in a child: it says want, then the filter kills it (SIGSYS). */
static void expect_killed(const struct sock_filter *prog, uint16_t n, void (*body)(int),
                          const char *want)
{
    int fd, st;
    pid_t pid = run_filtered(prog, n, body, &fd);
    char *out = collect(fd, pid, &st);

    cr_expect_str_eq(out, want);
    cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status 0x%x", st);
}

Test(bpf, loaded_profile_kills, .timeout = 10)
{
    const struct sock_filter *prog;
    uint16_t n;

    cr_assert_eq(sbx_bpf_get(SBX_PROFILE_BLOCKD, SBX_SECCOMP_ON, &prog, &n), 0);
    expect_killed(prog, n, probe_body, "getpid open-enoent clone3-enosys ");
}

/* Log mode: the socket call is allowed (and logged); the errno rules still answer. The audit
 * record is rate-limited by the kernel, so it is checked only when it shows up. */
Test(bpf, loaded_profile_logs, .timeout = 10)
{
    const struct sock_filter *prog;
    int kmsg = sbx_audit_open();
    uint16_t n;
    int fd, st, nr;
    pid_t pid;
    char *out;

    cr_assert_eq(sbx_bpf_get(SBX_PROFILE_BLOCKD, SBX_SECCOMP_LOG, &prog, &n), 0);
    pid = run_filtered(prog, n, probe_body, &fd);
    out = collect(fd, pid, &st);
    cr_expect_str_eq(out, "getpid open-enoent clone3-enosys socket ");
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
    if (kmsg >= 0) {
        nr = sbx_audit_syscall(kmsg, pid, 500);
        if (nr >= 0)
            cr_expect_eq(nr, __NR_socket, "audit record names syscall %d", nr);
        else
            cr_log_warn("no audit record for the logged socket call (rate-limited?)");
        close(kmsg);
    }
}

Test(bpf, loaded_interim_kills, .timeout = 10)
{
    const struct sock_filter *prog;
    uint16_t n;

    cr_assert_eq(sbx_bpf_get_interim(SBX_SECCOMP_ON, &prog, &n), 0);
    expect_killed(prog, n, probe_body, "getpid open-enoent clone3-enosys ");
}

/* The interim filter lets threads through (clone with CLONE_THREAD) but no fork. */
static void fork_body(int fd)
{
    pid_t c;

    say(fd, "forking ");
    c = fork();
    if (c == 0)
        _exit(0);
    say(fd, "forked ");
}

Test(bpf, interim_refuses_fork, .timeout = 10)
{
    const struct sock_filter *prog;
    uint16_t n;

    cr_assert_eq(sbx_bpf_get_interim(SBX_SECCOMP_ON, &prog, &n), 0);
    expect_killed(prog, n, fork_body, "forking ");
}
