#include "consoled/console_spec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devspec/devspec_util.h"
#include "devspec/optparse.h"

struct spec_raw {
    bool off, pty, tty, null, iommu;
    char *file, *socket;
};

#define KEY(n, t, m, sup, d)                                                                  \
    {                                                                                         \
        .name = n, .type = t, OPTPARSE_FIELD(struct spec_raw, m), .supported = sup, .dflt = d \
    }

static const struct optparse_key keys[] = {
    KEY("off", OPTPARSE_FLAG, off, true, NULL),
    KEY("pty", OPTPARSE_FLAG, pty, true, NULL),
    KEY("tty", OPTPARSE_FLAG, tty, true, NULL),
    KEY("null", OPTPARSE_FLAG, null, true, NULL),
    KEY("file", OPTPARSE_STR, file, true, NULL),
    KEY("iommu", OPTPARSE_TOGGLE, iommu, false, "off"), /* no virtio-iommu */
    KEY("socket", OPTPARSE_STR, socket, true, NULL),
};

static const struct optparse_spec spec = {
    .opt = "--console",
    .keys = keys,
    .nkeys = sizeof(keys) / sizeof(keys[0]),
};

const char *con_mode_name(enum con_mode m)
{
    static const char *const names[] = { [CON_MODE_NULL] = "null",
                                         [CON_MODE_TTY] = "tty",
                                         [CON_MODE_PTY] = "pty",
                                         [CON_MODE_FILE] = "file" };

    return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

void con_spec_free(struct con_spec *s)
{
    free(s->file);
    s->file = NULL;
}

int con_spec_parse(const char *value, struct con_spec *s, char *err, size_t errlen)
{
    struct spec_raw raw;
    struct optparse_seen seen;
    int r;

    memset(&raw, 0, sizeof(raw));
    memset(s, 0, sizeof(*s));
    r = optparse_parse(&spec, value, &raw, &seen, err, errlen);
    if (r < 0)
        goto out;
    r = -EINVAL;
    if (raw.off) {
        cli_err(err, errlen,
                "--console: off means no device: nothing for cellvm-consoled to serve");
    } else if (raw.pty) {
        s->mode = CON_MODE_PTY;
        r = 0;
    } else if (raw.tty) {
        s->mode = CON_MODE_TTY;
        r = 0;
    } else if (raw.null) {
        s->mode = CON_MODE_NULL;
        r = 0;
    } else if (optparse_present(&spec, &seen, "file")) {
        if (!raw.file)
            cli_err(err, errlen, "--console: missing value for 'file' (expected file=<path>)");
        else if (cli_check_path("--console", "file", raw.file, err, errlen) == 0) {
            s->mode = CON_MODE_FILE;
            s->file = raw.file;
            raw.file = NULL;
            r = 0;
        }
    } else if (optparse_present(&spec, &seen, "socket")) {
        cli_err(err, errlen,
                "--console: invalid value for 'socket': socket mode is for --serial only");
    } else {
        cli_err(err, errlen, "--console: no mode given (expected null, pty, tty or file=<path>)");
    }
out:
    free(raw.file);
    free(raw.socket);
    return r;
}
