/*
 * --console (virtio-console, served by cellvm-consoled): every mode of Cloud Hypervisor v51.0's
 * option, its precedence when several are given, iommu, and what it refuses (socket=, a file
 * without a path, unknown keys, iommu=on). The defaults (console tty, serial null) are in
 * test_cli.c's defaults.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/cli/cli.h"

static int parse(const char *v, struct cli_config *c, char *err, size_t errlen)
{
    char *argv[] = { "cellvm", "--kernel", "k", "--console", (char *)v, NULL };

    return cli_parse(5, argv, c, err, errlen);
}

Test(cli_console, modes)
{
    static const struct {
        const char *v;
        enum cli_console_mode mode;
        const char *path;
    } cases[] = {
        { "off", CLI_CONSOLE_OFF, NULL },
        { "null", CLI_CONSOLE_NULL, NULL },
        { "pty", CLI_CONSOLE_PTY, NULL },
        { "tty", CLI_CONSOLE_TTY, NULL },
        { "file=/tmp/c.log", CLI_CONSOLE_FILE, "/tmp/c.log" },
        { "file=\"/tmp/a,b\"", CLI_CONSOLE_FILE, "/tmp/a,b" },
        { "tty,iommu=off", CLI_CONSOLE_TTY, NULL },
        /* Several modes: the first in CH's order (off, pty, tty, null, file) wins, as in CH. */
        { "tty,file=/tmp/f", CLI_CONSOLE_TTY, NULL },
        { "null,pty", CLI_CONSOLE_PTY, NULL },
        { "file=/tmp/f,off", CLI_CONSOLE_OFF, NULL },
    };
    char err[CLI_ERR_LEN];
    struct cli_config c;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(parse(cases[i].v, &c, err, sizeof(err)), 0, "%s: %s", cases[i].v, err);
        cr_expect_eq(c.console.mode, cases[i].mode, "%s", cases[i].v);
        if (cases[i].path)
            cr_expect_str_eq(c.console.path, cases[i].path, "%s", cases[i].v);
        else
            cr_expect_null(c.console.path, "%s", cases[i].v);
        cr_expect_eq(c.serial.mode, CLI_CONSOLE_NULL, "%s: the serial port stays null", cases[i].v);
        cli_config_free(&c);
    }
}

Test(cli_console, refused)
{
    static const struct {
        const char *v, *msg;
    } cases[] = {
        { "socket=/tmp/c",
          "--console: invalid value for 'socket': socket mode is for --serial only" },
        { "file=", "--console: missing value for 'file' (expected file=<path>)" },
        { "file", "--console: missing value for 'file'" },
        { "", "--console: no mode given" },
        { "iommu=off", "--console: no mode given" },
        { "tty,colour=on", "--console: unknown key 'colour'" },
        { "tty,iommu=maybe", "--console: invalid value for 'iommu'" },
    };
    char err[CLI_ERR_LEN];
    struct cli_config c;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        cr_expect_eq(parse(cases[i].v, &c, err, sizeof(err)), -EINVAL, "%s: accepted", cases[i].v);
        cr_expect(strstr(err, cases[i].msg), "%s: '%s', expected '%s'", cases[i].v, err,
                  cases[i].msg);
        cli_config_free(&c);
    }
}

/* Two terminal users are allowed, with a warning (CH warns too). */
Test(cli_console, both_on_the_terminal_warns)
{
    char *argv[] = { "cellvm", "--kernel", "k", "--serial", "tty", "--console", "tty", NULL };
    char err[CLI_ERR_LEN];
    struct cli_config c;
    bool warned = false;

    cr_assert_eq(cli_parse(7, argv, &c, err, sizeof(err)), 0, "%s", err);
    for (unsigned i = 0; i < c.nwarnings; i++)
        warned = warned || strstr(c.warnings[i], "--serial and --console both use the terminal");
    cr_expect(warned);
    cli_config_free(&c);
    argv[6] = "off";
    cr_assert_eq(cli_parse(7, argv, &c, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(c.nwarnings, 0);
    cli_config_free(&c);
}
