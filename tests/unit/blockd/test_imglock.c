/* Image locks against the real peer: QEMU's qemu-io (Debian's qemu-utils) must refuse an image
 * cellvm writes, and cellvm must refuse an image qemu-io holds. Also cellvm against itself. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blockd/imglock.h"

extern char **environ;

static char path[64];

static void setup(void)
{
    int fd;

    snprintf(path, sizeof(path), "/var/tmp/cellvm-lock-XXXXXX");
    fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(ftruncate(fd, 1 << 20), 0);
    close(fd);
}

static void teardown(void)
{
    unlink(path);
}

TestSuite(imglock, .init = setup, .fini = teardown);

static bool have_qemu_io(void)
{
    return access("/usr/bin/qemu-io", X_OK) == 0;
}

/* Runs qemu-io on the image with one command; returns its exit status. */
static int qemu_io(bool readonly, const char *cmd)
{
    char *argv[] = {
        "qemu-io", "-f", "raw", readonly ? "-r" : "-n", "-c", (char *)cmd, path, NULL
    };
    pid_t pid;
    int st;

    cr_assert_eq(posix_spawn(&pid, "/usr/bin/qemu-io", NULL, NULL, argv, environ), 0);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int open_img(bool write)
{
    int fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);

    cr_assert(fd >= 0);
    return fd;
}

Test(imglock, two_cellvm_writers_conflict)
{
    int a = open_img(true), b = open_img(true);

    cr_assert_eq(imglock_acquire(a, true), 0);
    cr_assert_eq(imglock_acquire(b, true), -EBUSY);
    cr_assert_eq(imglock_acquire(b, false), -EBUSY);
    close(a);
    cr_assert_eq(imglock_acquire(b, true), 0, "closing the holder releases the locks");
    close(b);
}

Test(imglock, readers_share)
{
    int a = open_img(false), b = open_img(false), w = open_img(true);

    cr_assert_eq(imglock_acquire(a, false), 0);
    cr_assert_eq(imglock_acquire(b, false), 0);
    cr_assert_eq(imglock_acquire(w, true), -EBUSY);
    close(a);
    close(b);
    close(w);
}

Test(imglock, qemu_refuses_what_cellvm_writes)
{
    int fd;

    if (!have_qemu_io())
        cr_skip_test("qemu-io not installed (Debian qemu-utils)");
    cr_assert_eq(qemu_io(false, "read 0 512"), 0, "unlocked image opens");
    fd = open_img(true);
    cr_assert_eq(imglock_acquire(fd, true), 0);
    cr_assert_neq(qemu_io(false, "read 0 512"), 0, "qemu-io writer must be refused");
    /* QEMU's read-only tools share writing (they do so against a QEMU writer too). */
    cr_assert_eq(qemu_io(true, "read 0 512"), 0, "qemu-io -r tolerates writers");
    close(fd);
    cr_assert_eq(qemu_io(false, "read 0 512"), 0);
}

Test(imglock, qemu_reader_shares_with_cellvm_reader)
{
    int fd;

    if (!have_qemu_io())
        cr_skip_test("qemu-io not installed (Debian qemu-utils)");
    fd = open_img(false);
    cr_assert_eq(imglock_acquire(fd, false), 0);
    cr_assert_eq(qemu_io(true, "read 0 512"), 0);
    cr_assert_neq(qemu_io(false, "read 0 512"), 0, "but a qemu-io writer is refused");
    close(fd);
}

Test(imglock, cellvm_refuses_what_qemu_writes)
{
    char *argv[] = { "qemu-io", "-f", "raw", "-n", "-c", "sleep 4000", path, NULL };
    struct timespec pause = { 0, 50 * 1000 * 1000 };
    int fd = open_img(true), r = 0;
    pid_t pid;

    if (!have_qemu_io())
        cr_skip_test("qemu-io not installed (Debian qemu-utils)");
    cr_assert_eq(posix_spawn(&pid, "/usr/bin/qemu-io", NULL, NULL, argv, environ), 0);
    /* Wait (bounded) until qemu-io has taken its locks. */
    for (int i = 0; i < 60; i++) {
        r = imglock_acquire(fd, false);
        if (r == -EBUSY)
            break;
        cr_assert_eq(r, 0);
        cr_assert_eq(imglock_release(fd), 0);
        nanosleep(&pause, NULL);
    }
    cr_assert_eq(r, -EBUSY, "a reader is refused while qemu-io writes");
    cr_assert_eq(imglock_acquire(fd, true), -EBUSY);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    cr_assert_eq(imglock_acquire(fd, true), 0);
    close(fd);
}
