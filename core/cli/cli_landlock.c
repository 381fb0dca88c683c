#include "core/cli/cli_landlock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "devspec/optparse.h"
#include "sandbox/landlock.h"

struct landlock_raw {
    char *path;
    char *access;
};

static const struct optparse_key landlock_keys[] = {
    { .name = "path",
      .type = OPTPARSE_STR,
      OPTPARSE_FIELD(struct landlock_raw, path),
      .supported = true },
    { .name = "access",
      .type = OPTPARSE_STR,
      OPTPARSE_FIELD(struct landlock_raw, access),
      .supported = true },
};

int cli_landlock_access(const char *s, unsigned *out, char *why, size_t whylen)
{
    unsigned a = 0;

    if (!s || !*s) {
        snprintf(why, whylen, "access cannot be empty (r, w or rw)");
        return -EINVAL;
    }
    if (strlen(s) > 2) {
        snprintf(why, whylen, "access '%.16s%s' is longer than two characters (r, w or rw)", s,
                 strlen(s) > 16 ? "..." : "");
        return -EINVAL;
    }
    for (const char *c = s; *c; c++) {
        if (*c == 'r') {
            a |= SBX_LL_READ;
        } else if (*c == 'w') {
            a |= SBX_LL_WRITE;
        } else {
            snprintf(why, whylen, "invalid access '%c' (r, w or rw)",
                     *c >= 0x20 && *c < 0x7f ? *c : '?');
            return -EINVAL;
        }
    }
    *out = a;
    return 0;
}

int cli_landlock_rule_parse(const char *value, struct cli_landlock_rule *out, char *err,
                            size_t errlen)
{
    const struct optparse_spec spec = {
        .opt = "--landlock-rules",
        .keys = landlock_keys,
        .nkeys = sizeof(landlock_keys) / sizeof(landlock_keys[0]),
    };
    struct landlock_raw raw = { 0 };
    struct optparse_seen seen;
    struct stat st;
    unsigned access;
    char why[96];
    int rc = optparse_parse(&spec, value, &raw, &seen, err, errlen);

    if (!rc && (!raw.path || !*raw.path || !raw.access)) {
        snprintf(err, errlen, "--landlock-rules: path/access field missing");
        rc = -EINVAL;
    }
    if (!rc && strlen(raw.path) > 4095) {
        snprintf(err, errlen, "--landlock-rules: path longer than 4095 bytes");
        rc = -EINVAL;
    }
    if (!rc && cli_landlock_access(raw.access, &access, why, sizeof(why))) {
        snprintf(err, errlen, "--landlock-rules: %s", why);
        rc = -EINVAL;
    }
    if (!rc && stat(raw.path, &st) < 0) {
        snprintf(err, errlen, "--landlock-rules: path '%.200s' does not exist (%s)", raw.path,
                 strerror(errno));
        rc = -EINVAL;
    }
    if (rc) {
        free(raw.path);
        free(raw.access);
        return rc;
    }
    cli_landlock_rule_free(out);
    out->path = raw.path;
    out->access = raw.access;
    return 0;
}

void cli_landlock_rule_free(struct cli_landlock_rule *r)
{
    free(r->path);
    free(r->access);
    r->path = r->access = NULL;
}
