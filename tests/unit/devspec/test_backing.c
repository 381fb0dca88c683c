/* The backing-file policy (the controller's and a standalone cellvm-blockd's) on real files: off
 * by default with a message saying how to allow it, relative names against the image directory,
 * read-only only, devices, FIFOs, directories and the image itself refused, symlinks resolved
 * before the allowed-directory check, every fd O_CLOEXEC and read-only. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devspec/backing.h"

static char dir[64], sub[96], other[96];

static void mkfile(const char *path)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "%s", path);
    fputs("data", f);
    fclose(f);
}

static void setup(void)
{
    char p[160];

    snprintf(dir, sizeof(dir), "/var/tmp/cellvm-backing-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/imgs", dir);
    snprintf(other, sizeof(other), "%s/other", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    cr_assert_eq(mkdir(other, 0700), 0);
    snprintf(p, sizeof(p), "%s/base.img", sub);
    mkfile(p);
    snprintf(p, sizeof(p), "%s/top.img", sub);
    mkfile(p);
    snprintf(p, sizeof(p), "%s/secret.img", other);
    mkfile(p);
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

static struct backing_policy policy(bool allow)
{
    char p[160];
    struct stat st;
    struct backing_policy pol = { .allow = allow, .image_dir = sub };

    snprintf(p, sizeof(p), "%s/top.img", sub);
    cr_assert_eq(stat(p, &st), 0);
    pol.image_dev = st.st_dev;
    pol.image_ino = st.st_ino;
    return pol;
}

TestSuite(backing, .init = setup, .fini = teardown, .timeout = 10);

Test(backing, off_by_default_says_how_to_allow)
{
    struct backing_policy pol = policy(false);
    char err[256] = "";
    int fd = 123;

    cr_assert_eq(backing_open(&pol, "base.img", true, &fd, err, sizeof(err)), -EPERM);
    cr_assert_eq(fd, -1);
    cr_assert(strstr(err, "backing_files=on"), "message: %s", err);
}

Test(backing, relative_name_resolves_in_image_dir)
{
    struct backing_policy pol = policy(true);
    char err[256] = "";
    int fd = -1, fl;

    cr_assert_eq(backing_open(&pol, "base.img", true, &fd, err, sizeof(err)), 0, "%s", err);
    cr_assert_geq(fd, 0);
    fl = fcntl(fd, F_GETFL);
    cr_assert_eq(fl & O_ACCMODE, O_RDONLY);
    cr_assert_eq(fl & O_NONBLOCK, 0);
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
}

Test(backing, write_access_refused)
{
    struct backing_policy pol = policy(true);
    char err[256] = "";
    int fd;

    cr_assert_eq(backing_open(&pol, "base.img", false, &fd, err, sizeof(err)), -EPERM);
    cr_assert_eq(fd, -1);
}

Test(backing, image_itself_refused_also_through_a_symlink)
{
    struct backing_policy pol = policy(true);
    char err[256] = "", link[160];
    int fd;

    cr_assert_eq(backing_open(&pol, "top.img", true, &fd, err, sizeof(err)), -ELOOP);
    snprintf(link, sizeof(link), "%s/alias.img", sub);
    cr_assert_eq(symlink("top.img", link), 0);
    cr_assert_eq(backing_open(&pol, "alias.img", true, &fd, err, sizeof(err)), -ELOOP);
    cr_assert(strstr(err, "itself"), "message: %s", err);
}

Test(backing, devices_fifos_and_directories_refused)
{
    struct backing_policy pol = policy(true);
    char err[256] = "", fifo[160];
    int fd;

    cr_assert_eq(backing_open(&pol, "/dev/null", true, &fd, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "regular"), "message: %s", err);
    cr_assert_eq(backing_open(&pol, "/dev/zero", true, &fd, err, sizeof(err)), -EINVAL);
    cr_assert_eq(backing_open(&pol, ".", true, &fd, err, sizeof(err)), -EINVAL);
    snprintf(fifo, sizeof(fifo), "%s/fifo", sub);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    /* Must not block on a FIFO with no writer. */
    cr_assert_eq(backing_open(&pol, "fifo", true, &fd, err, sizeof(err)), -EINVAL);
    cr_assert_eq(fd, -1);
}

Test(backing, missing_empty_and_long_names)
{
    struct backing_policy pol = policy(true);
    char err[256] = "", *longname = malloc(PATH_MAX + 10);
    int fd;

    cr_assert_eq(backing_open(&pol, "nope.img", true, &fd, err, sizeof(err)), -ENOENT);
    cr_assert_eq(backing_open(&pol, "", true, &fd, err, sizeof(err)), -EINVAL);
    cr_assert_eq(backing_open(&pol, NULL, true, &fd, err, sizeof(err)), -EINVAL);
    memset(longname, 'a', PATH_MAX + 9);
    longname[PATH_MAX + 9] = 0;
    cr_assert_eq(backing_open(&pol, longname, true, &fd, err, sizeof(err)), -EINVAL);
    free(longname);
}

Test(backing, allowed_dirs_checked_after_symlinks)
{
    const char *const dirs[] = { sub };
    struct backing_policy pol = policy(true);
    char err[256] = "", p[160], link[160];
    int fd = -1;

    pol.allowed_dirs = dirs;
    pol.n_allowed_dirs = 1;
    snprintf(p, sizeof(p), "%s/secret.img", other);
    cr_assert_eq(backing_open(&pol, p, true, &fd, err, sizeof(err)), -EACCES);
    cr_assert_eq(backing_open(&pol, "../other/secret.img", true, &fd, err, sizeof(err)), -EACCES);
    snprintf(link, sizeof(link), "%s/escape.img", sub);
    cr_assert_eq(symlink(p, link), 0);
    cr_assert_eq(backing_open(&pol, "escape.img", true, &fd, err, sizeof(err)), -EACCES);
    cr_assert(strstr(err, "outside"), "message: %s", err);
    /* A directory whose name merely starts like the allowed one is not inside it. */
    snprintf(p, sizeof(p), "%s2", sub);
    cr_assert_eq(mkdir(p, 0700), 0);
    snprintf(link, sizeof(link), "%s2/x.img", sub);
    mkfile(link);
    cr_assert_eq(backing_open(&pol, link, true, &fd, err, sizeof(err)), -EACCES);
    cr_assert_eq(backing_open(&pol, "base.img", true, &fd, err, sizeof(err)), 0, "%s", err);
    close(fd);
}
