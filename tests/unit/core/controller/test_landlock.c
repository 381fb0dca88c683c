/* --landlock (issue 20): the rights per Landlock ABI, the rule set built from a configuration,
 * the spawner's request checks, and on this host's kernel the whole mechanism: a process that
 * restricted itself cannot open outside its rules, while a child it asks its spawner for
 * (forked before the restriction) is its own child, reaped with waitpid, and is not
 * restricted: it writes outside the rules and, in its user namespace, mounts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cli/cli.h"
#include "core/controller/landlock_ctl.h"
#include "core/controller/spawner.h"
#include "sandbox/landlock.h"

#define FS_REFER    (1ULL << 13)
#define FS_TRUNCATE (1ULL << 14)
#define FS_READ \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)

Test(landlock, rights_per_abi)
{
    uint64_t abi1 = (1ULL << 13) - 1;

    cr_expect_eq(sbx_ll_handled(0), 0);
    cr_expect_eq(sbx_ll_handled(-38), 0);
    cr_expect_eq(sbx_ll_handled(1), abi1);
    cr_expect_eq(sbx_ll_handled(2), abi1 | FS_REFER);
    cr_expect_eq(sbx_ll_handled(3), abi1 | FS_REFER | FS_TRUNCATE);
    /* Later ABIs (IOCTL_DEV, network, scopes) are not asked for, as in Cloud Hypervisor. */
    cr_expect_eq(sbx_ll_handled(7), sbx_ll_handled(3));
    /* Cloud Hypervisor's "r" and "w" (its test_try_from_access), on a directory. */
    cr_expect_eq(sbx_ll_rights(SBX_LL_READ, 3, true), FS_READ);
    cr_expect_eq(sbx_ll_rights(SBX_LL_WRITE, 3, true), sbx_ll_handled(3) & ~FS_READ);
    cr_expect_eq(sbx_ll_rights(SBX_LL_READ | SBX_LL_WRITE, 3, true), sbx_ll_handled(3));
    /* Debian 12's 6.1 kernel (ABI 2): no TRUNCATE; ABI 1: no REFER either. */
    cr_expect_eq(sbx_ll_rights(SBX_LL_WRITE, 2, true) & FS_TRUNCATE, 0);
    cr_expect_neq(sbx_ll_rights(SBX_LL_WRITE, 2, true) & FS_REFER, 0);
    cr_expect_eq(sbx_ll_rights(SBX_LL_WRITE, 1, true) & FS_REFER, 0);
    /* On a file only the file rights: the kernel refuses the others there. */
    cr_expect_eq(sbx_ll_rights(SBX_LL_READ | SBX_LL_WRITE, 3, false),
                 LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE |
                     LANDLOCK_ACCESS_FS_WRITE_FILE | FS_TRUNCATE);
    cr_expect_eq(sbx_ll_rights(SBX_LL_WRITE, 2, false), LANDLOCK_ACCESS_FS_WRITE_FILE);
    cr_expect_eq(sbx_ll_rights(SBX_LL_READ, 0, true), 0);
}

static int parse(const char *const *args, struct cli_config *c, char *err)
{
    char *argv[40] = { (char *)"cellvm" };
    int n = 1;

    for (; args[n - 1]; n++)
        argv[n] = (char *)args[n - 1];
    return cli_parse(n, argv, c, err, CLI_ERR_LEN);
}

static const struct sbx_ll_rule *find(const struct landlock_rules *r, const char *path)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].path, path))
            return &r->v[i];
    return NULL;
}

/* A rule's access, or ~0u when there is none for path. */
static unsigned acc(const struct landlock_rules *r, const char *path)
{
    const struct sbx_ll_rule *x = find(r, path);

    return x ? x->access : ~0u;
}

static bool opt(const struct landlock_rules *r, const char *path)
{
    const struct sbx_ll_rule *x = find(r, path);

    return x && x->optional;
}

Test(landlock, rules_from_config)
{
    const char *a[] = { "--kernel",
                        "/k/vmlinux",
                        "--initramfs",
                        "/k/initrd",
                        "--disk",
                        "path=/img/a.raw",
                        "path=/img/b.qcow2,readonly=on",
                        "--pmem",
                        "file=/img/p,discard_writes=on",
                        "--serial",
                        "file=/log/serial",
                        "--vsock",
                        "cid=3,socket=/run/v/vsock.sock",
                        "--net",
                        "tap=",
                        "--rng",
                        "src=/dev/hwrng",
                        "--landlock",
                        "--landlock-rules",
                        "path=/tmp,access=w",
                        "path=/dev/null,access=rw",
                        NULL };
    const unsigned rw = SBX_LL_READ | SBX_LL_WRITE;
    struct landlock_rules *r = malloc(sizeof(*r));
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(a, &c, err), 0, "%s", err);
    cr_assert_eq(landlock_rules_build(&c, r, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(acc(r, "/k/vmlinux"), SBX_LL_READ);
    cr_expect_eq(acc(r, "/k/initrd"), SBX_LL_READ);
    cr_expect_eq(acc(r, "/img/a.raw"), rw);
    cr_expect_eq(acc(r, "/img/b.qcow2"), rw, "Cloud Hypervisor: rw, readonly or not");
    cr_expect_eq(acc(r, "/img/p"), SBX_LL_READ, "discard_writes: read only");
    cr_expect_eq(acc(r, "/log/serial"), rw);
    cr_expect_eq(acc(r, "/run/v"), SBX_LL_WRITE, "the vsock socket's directory");
    cr_expect_eq(acc(r, "/run/v/vsock.sock"), rw);
    cr_expect_eq(acc(r, "/dev/net/tun"), rw);
    cr_expect_eq(acc(r, "/dev/hwrng"), SBX_LL_READ);
    cr_expect_eq(acc(r, "/dev/kvm"), rw);
    cr_expect_null(find(r, "/dev/urandom"));
    cr_expect_null(find(r, "/dev/ptmx"));
    cr_expect_eq(acc(r, "/tmp"), SBX_LL_WRITE);
    cr_expect_not(opt(r, "/tmp"), "a --landlock-rules path must exist");
    cr_expect(opt(r, "/img/a.raw"));
    cr_expect_eq(acc(r, "/dev/null"), rw);
    landlock_rules_free(r);
    cli_config_free(&c);

    /* Nothing but a kernel: the kernel, the default rng source, cellvm's own three. */
    const char *b[] = { "--kernel", "/k/vmlinux", "--serial", "pty", NULL };

    cr_assert_eq(parse(b, &c, err), 0, "%s", err);
    cr_assert_eq(landlock_rules_build(&c, r, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(r->n, 7, "%zu rules", r->n);
    cr_expect_eq(acc(r, "/dev/null"), rw);
    cr_expect_eq(acc(r, "/dev/urandom"), SBX_LL_READ);
    cr_expect_eq(acc(r, "/dev/ptmx"), rw);
    cr_expect_eq(acc(r, "/dev/pts"), rw);
    cr_expect_null(find(r, "/dev/net/tun"));
    landlock_rules_free(r);
    cli_config_free(&c);
    free(r);
}

static int check(const struct spawner_req *q, size_t nfds, char *why)
{
    struct spawner_req copy = *q;
    char *argv[SPAWNER_MAX_ARGV + 1];
    unsigned d = 99;

    return spawner_req_check(&copy, sizeof(copy), nfds, argv, &d, why, 160);
}

Test(landlock, spawner_requests)
{
    char *const good[] = { (char *)"cellvm-blockd", (char *)"--control-fd", (char *)"3", NULL };
    char *const other0[] = { (char *)"cellvm-netd", NULL };
    char *const bad_char[] = { (char *)"cellvm-blockd", (char *)"a\nb", NULL };
    char *argv[SPAWNER_MAX_ARGV + 1], *many[SPAWNER_MAX_ARGV + 2];
    struct spawner_req q, t;
    char why[160];
    unsigned d = 99;

    cr_assert_eq(spawner_req_pack(&q, "cellvm-blockd", good), 0);
    cr_assert_eq(spawner_req_check(&q, sizeof(q), 3, argv, &d, why, sizeof(why)), 0, "%s", why);
    cr_expect_eq(d, 2);
    cr_expect_str_eq(argv[1], "--control-fd");
    cr_expect_null(argv[3]);
    /* Size, magic, name, fd count. */
    cr_expect_neq(spawner_req_check(&q, sizeof(q) - 1, 3, argv, &d, why, sizeof(why)), 0);
    t = q;
    t.magic ^= 1;
    cr_expect_neq(check(&t, 3, why), 0);
    cr_expect_neq(check(&q, 1, why), 0, "stderr and channel at least");
    cr_expect_neq(check(&q, SPAWNER_MAX_FDS + 1, why), 0);
    cr_expect_eq(spawner_req_pack(&t, "/bin/sh", good), 0);
    cr_expect_neq(check(&t, 3, why), 0);
    cr_expect(strstr(why, "not one of cellvm's daemons"), "%s", why);
    t = q;
    memset(t.name, 'a', sizeof(t.name));
    cr_expect_neq(check(&t, 3, why), 0);
    /* argv[0] must be the daemon's name; strings printable, count and length exact. */
    cr_expect_eq(spawner_req_pack(&t, "cellvm-blockd", other0), 0);
    cr_expect_neq(check(&t, 3, why), 0);
    cr_expect(strstr(why, "argv[0]"), "%s", why);
    cr_expect_eq(spawner_req_pack(&t, "cellvm-blockd", bad_char), 0);
    cr_expect_neq(check(&t, 3, why), 0);
    t = q;
    t.argc = 4;
    cr_expect_neq(check(&t, 3, why), 0);
    t = q;
    t.argc = 2;
    cr_expect_neq(check(&t, 3, why), 0);
    t = q;
    t.args_len = sizeof(t.args) + 1;
    cr_expect_neq(check(&t, 3, why), 0);
    t = q;
    t.args[t.args_len - 1] = 'x';
    cr_expect_neq(check(&t, 3, why), 0);
    t = q;
    t.argc = 0;
    cr_expect_neq(check(&t, 3, why), 0);
    for (int i = 0; i <= SPAWNER_MAX_ARGV; i++)
        many[i] = (char *)"cellvm-blockd";
    many[SPAWNER_MAX_ARGV + 1] = NULL;
    cr_expect_eq(spawner_req_pack(&t, "cellvm-blockd", many), -E2BIG);
}

/* What a child wrote to its stderr pipe, for the failure message. */
static void drain(int fd, char *buf, size_t len)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    ssize_t n = 0;

    buf[0] = '\0';
    if (poll(&p, 1, 2000) == 1)
        n = read(fd, buf, len - 1);
    buf[n > 0 ? n : 0] = '\0';
}

#define FAIL(code, ...)                     \
    do {                                    \
        fprintf(stderr, "step %d: ", code); \
        fprintf(stderr, __VA_ARGS__);       \
        fprintf(stderr, "\n");              \
        return code;                        \
    } while (0)

/* The controller's part, in a process of its own (it cannot be undone): 0 or the failed step. */
static int restricted_controller(const char *in, const char *out, const char *bin, int abi)
{
    char path[300], script[600], log[512], err[256];
    char *argv[4];
    int lp[2], sp[2], fds[2], st, fd;
    struct spawner s;
    struct sbx_child ch = { 0 };
    struct sbx_ll_rule rule = { .path = in, .access = SBX_LL_READ | SBX_LL_WRITE };

    spawner_init(&s);
    if (spawner_start(&s, err, sizeof(err)))
        FAIL(1, "spawner_start: %s", err);
    if (sbx_ll_restrict(&rule, 1, err, sizeof(err)) != abi)
        FAIL(2, "sbx_ll_restrict: %s", err);
    /* Restricted: outside the rules EACCES, inside fine. */
    snprintf(path, sizeof(path), "%s/refused", out);
    if (open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) >= 0 || errno != EACCES)
        FAIL(3, "open outside the rules: %s", strerror(errno));
    if (open("/etc/hostname", O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES)
        FAIL(4, "read outside the rules: %s", strerror(errno));
    snprintf(path, sizeof(path), "%s/allowed", in);
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        FAIL(5, "open inside the rules: %s", strerror(errno));
    close(fd);

    /* A child through the spawner: ours to reap, free of our Landlock domain (it writes
     * outside our rules and, in its own user and mount namespaces, mounts). */
    if (pipe2(lp, O_CLOEXEC) || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp))
        FAIL(6, "pipe: %s", strerror(errno));
    fds[0] = lp[1];
    fds[1] = sp[1];
    snprintf(script, sizeof(script),
             "echo child > %s/written || exit 3; "
             "case \"$CELLVM_SANDBOX\" in userns) mount -t tmpfs none %s || exit 4;; esac; "
             "exit 7",
             out, bin);
    argv[0] = (char *)"cellvm-blockd";
    argv[1] = (char *)"-c";
    argv[2] = script;
    argv[3] = NULL;
    if (spawner_spawn(&s, "cellvm-blockd", argv, fds, 2, &ch, err, sizeof(err)))
        FAIL(7, "spawner_spawn: %s", err);
    close(lp[1]);
    if (ch.pid <= 0 || ch.pidfd < 0)
        FAIL(8, "pid %d pidfd %d", (int)ch.pid, ch.pidfd);
    if (waitpid(ch.pid, &st, 0) != ch.pid)
        FAIL(9, "the child is not ours to reap: %s", strerror(errno));
    drain(lp[0], log, sizeof(log));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 7)
        FAIL(10, "child status 0x%x, jail %s, stderr: %s", st, ch.how, log);
    close(ch.pidfd);
    printf("child %d (%s) exited 7 after writing outside the rules%s\n", (int)ch.pid, ch.how,
           strncmp(ch.how, "userns", 6) ? "" : " and mounting a tmpfs");

    /* Only the daemons it opened, with their own name as argv[0], and a pipe as stderr. */
    fds[0] = lp[0]; /* a pipe still open */
    argv[0] = (char *)"sh";
    if (!spawner_spawn(&s, "cellvm-blockd", argv, fds, 2, &ch, err, sizeof(err)) ||
        !strstr(err, "argv[0]"))
        FAIL(11, "argv[0] sh: %s", err);
    argv[0] = (char *)"cellvm-blockd";
    fds[0] = sp[0];
    if (!spawner_spawn(&s, "cellvm-blockd", argv, fds, 2, &ch, err, sizeof(err)) ||
        !strstr(err, "stderr is not a pipe"))
        FAIL(12, "a socket as stderr: %s", err);
    argv[0] = (char *)"cellvm-netd";
    fds[0] = lp[0];
    if (!spawner_spawn(&s, "cellvm-netd", argv, fds, 2, &ch, err, sizeof(err)) ||
        !strstr(err, "not found"))
        FAIL(13, "a daemon it does not have: %s", err);
    spawner_close(&s);
    if (s.pid != 0)
        FAIL(14, "spawner not reaped");
    return 0;
}

Test(landlock, restricted_parent_unrestricted_children, .timeout = 30)
{
    char base[] = "/tmp/cellvm-landlock-XXXXXX", in[200], out[200], bin[200], path[300];
    int abi = sbx_ll_abi(), st;
    pid_t pid;

    if (abi < 1)
        cr_skip_test("this kernel has no usable Landlock (%d)", abi);
    cr_assert_not_null(mkdtemp(base));
    snprintf(in, sizeof(in), "%s/in", base);
    snprintf(out, sizeof(out), "%s/out", base);
    snprintf(bin, sizeof(bin), "%s/bin", base);
    cr_assert_eq(mkdir(in, 0700), 0);
    cr_assert_eq(mkdir(out, 0700), 0);
    cr_assert_eq(mkdir(bin, 0700), 0);
    /* Run as root, the child is the per-VM uid (sandbox/spawn.h): let it through and write. */
    cr_assert_eq(chmod(base, 0711), 0);
    cr_assert_eq(chmod(out, 0777), 0);
    cr_assert_eq(chmod(bin, 0755), 0);
    /* The spawner opens its daemons by name at start-up; here "cellvm-blockd" is a shell. */
    snprintf(path, sizeof(path), "%s/cellvm-blockd", bin);
    cr_assert_eq(symlink("/bin/sh", path), 0);
    setenv("CELLVM_LIBEXEC_DIR", bin, 1);
    fflush(NULL);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(restricted_controller(in, out, bin, abi));
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "failed at step %d (see stderr)",
              WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    snprintf(path, sizeof(path), "%s/written", out);
    cr_expect_eq(access(path, F_OK), 0, "the child's file is missing");
    unlink(path);
    snprintf(path, sizeof(path), "%s/allowed", in);
    unlink(path);
    snprintf(path, sizeof(path), "%s/cellvm-blockd", bin);
    unlink(path);
    rmdir(in);
    rmdir(out);
    rmdir(bin);
    cr_expect_eq(rmdir(base), 0, "%s", strerror(errno));
}
