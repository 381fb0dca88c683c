#include "acpi_test_util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/platform.h"

extern char **environ;

uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t rd32(const uint8_t *p)
{
    return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

uint8_t byte_sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

long image_build(struct acpi_image *img, const struct acpi_cpu *cpus, uint32_t ncpus)
{
    struct acpi_params p = { .cpus = cpus, .ncpus = ncpus };

    return image_build_params(img, &p);
}

long image_build_params(struct acpi_image *img, const struct acpi_params *p)
{
    memset(img->buf, 0, sizeof(img->buf));
    img->gpa = GPA_ACPI_TABLES;
    img->len = acpi_build(p, img->buf, img->gpa, sizeof(img->buf));
    return img->len;
}

const uint8_t *image_at(const struct acpi_image *img, uint64_t gpa, size_t len)
{
    if (img->len < 0 || gpa < img->gpa || gpa - img->gpa > (uint64_t)img->len ||
        len > (uint64_t)img->len - (gpa - img->gpa))
        return NULL;
    return img->buf + (gpa - img->gpa);
}

static const uint8_t *table_at(const struct acpi_image *img, uint64_t gpa)
{
    const uint8_t *t = image_at(img, gpa, 36);

    return t ? image_at(img, gpa, rd32(t + 4)) : NULL;
}

const uint8_t *image_table(const struct acpi_image *img, const char sig[4])
{
    const uint8_t *xsdt = table_at(img, rd64(img->buf + 24));

    if (!xsdt)
        return NULL;
    if (!memcmp(sig, "XSDT", 4))
        return xsdt;
    for (uint32_t off = 36; off + 8 <= rd32(xsdt + 4); off += 8) {
        const uint8_t *t = table_at(img, rd64(xsdt + off));

        if (t && !memcmp(t, sig, 4))
            return t;
        if (t && !memcmp(sig, "DSDT", 4) && !memcmp(t, "FACP", 4) && rd32(t + 4) >= 148)
            return table_at(img, rd64(t + 140));
    }
    return NULL;
}

int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wbe");
    int err = 0;

    if (!f)
        return -errno;
    if (fwrite(data, 1, len, f) != len)
        err = -EIO;
    if (fclose(f) && !err)
        err = -errno;
    return err;
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    char *data = NULL;
    size_t cap = 0, n = 0;

    if (!f)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            char *grown = realloc(data, cap + 65536);

            if (!grown) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = grown;
            cap += 65536;
        }
        size_t got = fread(data + n, 1, cap - n - 1, f);

        n += got;
        if (!got)
            break;
    }
    fclose(f);
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

bool find_in_path(const char *prog)
{
    const char *path = getenv("PATH");
    char *copy, *save = NULL;
    bool found = false;

    if (!path)
        path = "/usr/bin:/bin";
    copy = strdup(path);
    if (!copy)
        return false;
    for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char full[4096];

        snprintf(full, sizeof(full), "%s/%s", dir, prog);
        found = access(full, X_OK) == 0;
    }
    free(copy);
    return found;
}

int run_logged(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    int err, status;
    pid_t pid;

    err = posix_spawn_file_actions_init(&fa);
    if (err)
        return -err;
    err = posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (!err)
        err = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (!err)
        err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err)
        return -err;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *const bad_words[] = { "Error", "Warning", "Invalid", "Incorrect" };

char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir;

    cr_assert_gt(asprintf(&dir, "%s/cellvm-acpi-XXXXXX", base ? base : "/tmp"), 0);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    return dir;
}

const char *find_bad_word(const char *text)
{
    for (size_t i = 0; i < sizeof(bad_words) / sizeof(bad_words[0]); i++) {
        if (strstr(text, bad_words[i]))
            return bad_words[i];
    }
    return NULL;
}

char *acpiexec_init(const struct acpi_image *img, const char *dir, const char *fill,
                    const char *init, const char *cmds)
{
    static const char *const sigs[] = { "FACP", "DSDT", "APIC" };
    static int runs;
    char files[3][4096], initf[4096], log[4096], *text;
    char *argv[12] = { "acpiexec", "-vr", "-fv", (char *)fill, "-b", (char *)cmds };
    int argc = 6;
    const char *bad;
    int rc;

    for (int i = 0; i < 3; i++) {
        const uint8_t *t = image_table(img, sigs[i]);

        cr_assert_not_null(t);
        snprintf(files[i], sizeof(files[i]), "%s/%s.dat", dir, sigs[i]);
        cr_assert_eq(write_file(files[i], t, rd32(t + 4)), 0);
    }
    if (init) {
        snprintf(initf, sizeof(initf), "%s/init-%d.txt", dir, runs);
        cr_assert_eq(write_file(initf, init, strlen(init)), 0);
        argv[argc++] = "-fi";
        argv[argc++] = initf;
    }
    for (int i = 0; i < 3; i++)
        argv[argc++] = files[i]; /* options first: acpiexec takes the rest as tables */
    argv[argc] = NULL;
    snprintf(log, sizeof(log), "%s/acpiexec-%d.log", dir, runs++);
    rc = run_logged(argv, log);
    text = read_file(log, NULL);
    cr_assert_not_null(text);
    cr_assert_eq(rc, 0, "acpiexec failed (%d):\n%s", rc, text);
    bad = find_bad_word(text);
    cr_assert_null(bad, "acpiexec says \"%s\":\n%s", bad, text);
    cr_assert_null(strstr(text, "Exception"), "acpiexec:\n%s", text);
    return text;
}

char *acpiexec(const struct acpi_image *img, const char *dir, const char *fill, const char *cmds)
{
    return acpiexec_init(img, dir, fill, NULL, cmds);
}

void require_acpiexec(void)
{
    if (!find_in_path("acpiexec"))
        cr_skip_test("acpiexec not found in PATH (Debian: acpica-tools); skipping");
}

const char *after_evaluating(const char *text)
{
    const char *e = strstr(text, "Evaluating ");

    cr_assert_not_null(e, "nothing evaluated:\n%s", text);
    return e;
}

const char *region_access(const char *from, const char *op, uint32_t val, uint64_t addr)
{
    char want[96];

    snprintf(want, sizeof(want), "SystemMemory %s: Val %08X Addr %llX", op, (unsigned)val,
             (unsigned long long)addr);
    return strstr(from, want);
}

int count_lines(const char *text, const char *const *all)
{
    int n = 0;

    while (*text) {
        size_t len = strcspn(text, "\n");
        bool match = true;

        for (const char *const *w = all; *w && match; w++)
            match = memmem(text, len, *w, strlen(*w)) != NULL;
        n += match;
        text += len + (text[len] == '\n');
    }
    return n;
}
