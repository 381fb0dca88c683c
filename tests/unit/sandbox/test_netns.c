/*
 * The VM's shared network namespace (sandbox/netns.h) through the launcher (sandbox/spawn.h):
 * children started with it are all in it, one started without gets one of its own, and the
 * starting thread is back in its own namespace after each start. Root only (the namespace is
 * made with CAP_SYS_ADMIN); every child is this test's own, killed and reaped here.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/netns.h"
#include "sandbox/spawn.h"

static ino_t ns_of(const char *path)
{
    struct stat st;

    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return st.st_ino;
}

static ino_t ns_of_pid(pid_t pid)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
    return ns_of(path);
}

static ino_t ns_of_fd(int fd)
{
    struct stat st;

    cr_assert_eq(fstat(fd, &st), 0);
    return st.st_ino;
}

/* A sleeping child from the launcher, with the given namespace (or NULL). */
static struct sbx_child start(const struct sbx_netns *n)
{
    char *const argv[] = { (char *)"sleep", (char *)"30", NULL };
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int exe = open("/bin/sleep", O_RDONLY | O_CLOEXEC);
    int fds[3] = { null, null, null };
    struct sbx_spawn s = { .exe_fd = exe, .argv = argv, .fds = fds, .nfds = 3, .netns = n };
    struct sbx_child c;
    char err[160];

    cr_assert(null >= 0 && exe >= 0);
    cr_assert_eq(sbx_spawn(&s, &c, err, sizeof(err)), 0, "sbx_spawn: %s", err);
    close(null);
    close(exe);
    return c;
}

static void stop(struct sbx_child *c)
{
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    close(c->pidfd);
}

Test(netns, children_share_it_and_the_caller_stays_home)
{
    struct sbx_netns n;
    struct sbx_child a, b, own;
    ino_t home = ns_of("/proc/thread-self/ns/net");

    if (geteuid() != 0)
        cr_skip_test("needs root (CAP_SYS_ADMIN makes the namespace)");
    sbx_netns_init(&n);
    cr_assert_eq(sbx_netns_make(&n), 0);
    cr_assert_eq(sbx_netns_make(&n), 0, "a second call keeps the first namespace");
    cr_assert_neq(ns_of_fd(n.vm), home);
    cr_assert_eq(ns_of_fd(n.host), home);
    cr_assert_eq(ns_of("/proc/thread-self/ns/net"), home, "made, and back home");

    a = start(&n);
    b = start(&n);
    own = start(NULL);
    cr_assert_eq(ns_of("/proc/thread-self/ns/net"), home, "the launcher went back home");
    cr_assert_eq(ns_of_pid(a.pid), ns_of_fd(n.vm));
    cr_assert_eq(ns_of_pid(b.pid), ns_of_fd(n.vm));
    cr_assert_neq(ns_of_pid(own.pid), ns_of_fd(n.vm));
    cr_assert_neq(ns_of_pid(own.pid), home);
    if (strncmp(a.how, "none", 4))
        cr_assert(strstr(a.how, ", VM netns"), "how: %s", a.how);
    cr_assert_null(strstr(own.how, "VM netns"), "how: %s", own.how);
    stop(&a);
    stop(&b);
    stop(&own);
    sbx_netns_close(&n);
    cr_assert_eq(n.vm, -1);
}

Test(netns, unusable_when_not_made)
{
    struct sbx_netns n;

    sbx_netns_init(&n);
    cr_assert_lt(sbx_netns_enter(&n), 0, "nothing to enter before it is made");
    sbx_netns_close(&n);
}
