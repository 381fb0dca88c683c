/* --serial/--console and the --api-socket/--event-monitor endpoints. */
#include "cli_console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

struct console_raw {
    bool off, pty, tty, null, iommu;
    char *file, *socket;
};

#define CON_KEY(n, t, m, sup, d)                                                                 \
    {                                                                                            \
        .name = n, .type = t, OPTPARSE_FIELD(struct console_raw, m), .supported = sup, .dflt = d \
    }

static const struct optparse_key serial_keys[] = {
    CON_KEY("off", OPTPARSE_FLAG, off, true, NULL),
    CON_KEY("pty", OPTPARSE_FLAG, pty, true, NULL),
    CON_KEY("tty", OPTPARSE_FLAG, tty, true, NULL),
    CON_KEY("null", OPTPARSE_FLAG, null, true, NULL),
    CON_KEY("file", OPTPARSE_STR, file, true, NULL),
    /* CH accepts iommu on the serial port and ignores it: the port is not a PCI device. */
    CON_KEY("iommu", OPTPARSE_TOGGLE, iommu, true, NULL),
    CON_KEY("socket", OPTPARSE_STR, socket, true, NULL),
};

static const struct optparse_key console_keys[] = {
    CON_KEY("off", OPTPARSE_FLAG, off, true, NULL),
    CON_KEY("pty", OPTPARSE_FLAG, pty, true, NULL),
    CON_KEY("tty", OPTPARSE_FLAG, tty, true, NULL),
    CON_KEY("null", OPTPARSE_FLAG, null, true, NULL),
    CON_KEY("file", OPTPARSE_STR, file, true, NULL),
    CON_KEY("iommu", OPTPARSE_TOGGLE, iommu, true, NULL),
    CON_KEY("socket", OPTPARSE_STR, socket, true, NULL),
};

static const struct optparse_spec serial_spec = {
    .opt = "--serial",
    .keys = serial_keys,
    .nkeys = sizeof(serial_keys) / sizeof(serial_keys[0]),
};

static const struct optparse_spec console_spec = {
    .opt = "--console",
    .keys = console_keys,
    .nkeys = sizeof(console_keys) / sizeof(console_keys[0]),
};

void cli_console_free(struct cli_console *c)
{
    free(c->path);
    c->path = NULL;
}

/* CH takes the first mode in this order when several are given. */
static int console_parse(const struct optparse_spec *spec, const char *value, struct cli_console *c,
                         char *err, size_t errlen)
{
    struct console_raw raw;
    struct optparse_seen seen;
    int r;

    memset(&raw, 0, sizeof(raw));
    cli_console_free(c);
    c->iommu = false;
    r = optparse_parse(spec, value, &raw, &seen, err, errlen);
    if (r < 0)
        goto out;
    r = -EINVAL;
    if (raw.off) {
        c->mode = CLI_CONSOLE_OFF;
    } else if (raw.pty) {
        c->mode = CLI_CONSOLE_PTY;
    } else if (raw.tty) {
        c->mode = CLI_CONSOLE_TTY;
    } else if (raw.null) {
        c->mode = CLI_CONSOLE_NULL;
    } else if (optparse_present(spec, &seen, "file")) {
        c->mode = CLI_CONSOLE_FILE;
        if (!raw.file) {
            cli_err(err, errlen, "%s: missing value for 'file' (expected file=<path>)", spec->opt);
            goto out;
        }
        if (cli_check_path(spec->opt, "file", raw.file, err, errlen) < 0)
            goto out;
        c->path = raw.file;
        raw.file = NULL;
    } else if (optparse_present(spec, &seen, "socket")) {
        c->mode = CLI_CONSOLE_SOCKET;
        if (!raw.socket) {
            cli_err(err, errlen, "%s: missing value for 'socket' (expected socket=<path>)",
                    spec->opt);
            goto out;
        }
        if (cli_check_path(spec->opt, "socket", raw.socket, err, errlen) < 0)
            goto out;
        c->path = raw.socket;
        raw.socket = NULL;
    } else {
        cli_err(err, errlen,
                "%s: no mode given (expected off, null, pty, tty, file=<path> or "
                "socket=<path>)",
                spec->opt);
        goto out;
    }
    c->iommu = raw.iommu;
    r = 0;
out:
    free(raw.file);
    free(raw.socket);
    return r;
}

int cli_serial_parse(const char *value, struct cli_console *serial, char *err, size_t errlen)
{
    return console_parse(&serial_spec, value, serial, err, errlen);
}

int cli_console_parse(const char *value, struct cli_console *console, char *err, size_t errlen)
{
    int r = console_parse(&console_spec, value, console, err, errlen);

    if (r < 0)
        return r;
    if (console->mode == CLI_CONSOLE_SOCKET) {
        cli_err(err, errlen,
                "--console: invalid value for 'socket': socket mode is for --serial "
                "only");
        return -EINVAL;
    }
    return 0;
}

struct endpoint_raw {
    char *path, *fd;
};

static const struct optparse_key endpoint_keys[] = {
    { .name = "path",
      .type = OPTPARSE_STR,
      OPTPARSE_FIELD(struct endpoint_raw, path),
      .supported = true },
    { .name = "fd",
      .type = OPTPARSE_STR,
      OPTPARSE_FIELD(struct endpoint_raw, fd),
      .supported = true },
};

void cli_endpoint_free(struct cli_endpoint *ep)
{
    free(ep->path);
    ep->path = NULL;
    ep->fd = -1;
    ep->present = false;
}

static int endpoint_fd(const char *opt, const char *s, int *fd, char *err, size_t errlen)
{
    char shown[OPTPARSE_MAX_SHOWN + 8];
    uint64_t v;

    if (optparse_u64(s, INT32_MAX, &v) < 0) {
        optparse_show(s, shown, sizeof(shown));
        cli_err(err, errlen,
                "%s: invalid value for 'fd': '%s' (expected a file descriptor "
                "number)",
                opt, shown);
        return -EINVAL;
    }
    *fd = (int)v;
    return 0;
}

/* Fills `ep` from a parsed endpoint; `bare` is the whole value when there is no key. */
static int endpoint_set(const char *opt, struct endpoint_raw *raw, const char *bare,
                        struct cli_endpoint *ep, char *err, size_t errlen)
{
    const char *path = raw->path ? raw->path : bare;

    cli_endpoint_free(ep);
    if (raw->fd) {
        if (endpoint_fd(opt, raw->fd, &ep->fd, err, errlen) < 0)
            return -EINVAL;
        ep->present = true;
        return 0;
    }
    if (!path) {
        cli_err(err, errlen, "%s: expected path=<path> or fd=<fd>", opt);
        return -EINVAL;
    }
    if (cli_check_path(opt, raw->path ? "path" : NULL, path, err, errlen) < 0)
        return -EINVAL;
    ep->path = strdup(path);
    if (!ep->path) {
        cli_err(err, errlen, "%s: out of memory", opt);
        return -ENOMEM;
    }
    ep->present = true;
    return 0;
}

int cli_api_socket_parse(const char *value, struct cli_endpoint *ep, char *err, size_t errlen)
{
    const struct optparse_spec spec = {
        .opt = "--api-socket",
        .keys = endpoint_keys,
        .nkeys = 2,
    };
    struct endpoint_raw raw = { 0 };
    struct optparse_seen seen;
    int r;

    /* CH ignores parse errors here: anything that is not path= or fd= is a bare path. */
    if (optparse_parse(&spec, value, &raw, &seen, err, errlen) < 0) {
        free(raw.path);
        free(raw.fd);
        memset(&raw, 0, sizeof(raw));
    }
    err[0] = '\0';
    r = endpoint_set(spec.opt, &raw, value, ep, err, errlen);
    free(raw.path);
    free(raw.fd);
    return r;
}

int cli_event_monitor_parse(const char *value, struct cli_endpoint *ep, char *err, size_t errlen)
{
    const struct optparse_spec spec = {
        .opt = "--event-monitor",
        .keys = endpoint_keys,
        .nkeys = 2,
    };
    struct endpoint_raw raw = { 0 };
    struct optparse_seen seen;
    int r;

    r = optparse_parse(&spec, value, &raw, &seen, err, errlen);
    if (r == 0)
        r = endpoint_set(spec.opt, &raw, NULL, ep, err, errlen);
    free(raw.path);
    free(raw.fd);
    return r;
}
