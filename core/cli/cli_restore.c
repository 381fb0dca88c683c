#include "core/cli/cli_restore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devspec/optparse.h"

struct restore_raw {
    char *source_url;
    bool prefault;
    char *net_fds;
};

static const struct optparse_key restore_keys[] = {
    { .name = "source_url",
      .type = OPTPARSE_STR,
      OPTPARSE_FIELD(struct restore_raw, source_url),
      .supported = true },
    { .name = "prefault",
      .type = OPTPARSE_TOGGLE,
      OPTPARSE_FIELD(struct restore_raw, prefault),
      .supported = true },
    { .name = "net_fds",
      .type = OPTPARSE_STR,
      OPTPARSE_FIELD(struct restore_raw, net_fds),
      .supported = false },
};

const char *cli_snapshot_dir(const char *what, const char *url, char *err, size_t errlen)
{
    static const char scheme[] = "file://";

    if (!url || strncmp(url, scheme, sizeof(scheme) - 1) || url[sizeof(scheme) - 1] != '/') {
        snprintf(err, errlen, "%s: '%.64s' is not a file:///absolute/directory URL", what,
                 url ? url : "");
        return NULL;
    }
    if (strlen(url) - (sizeof(scheme) - 1) > 4000) {
        snprintf(err, errlen, "%s: the path is longer than 4000 bytes", what);
        return NULL;
    }
    return url + sizeof(scheme) - 1;
}

int cli_restore_parse(const char *value, struct cli_restore *r, char *err, size_t errlen)
{
    const struct optparse_spec spec = {
        .opt = "--restore",
        .keys = restore_keys,
        .nkeys = sizeof(restore_keys) / sizeof(restore_keys[0]),
    };
    struct restore_raw raw = { 0 };
    struct optparse_seen seen;
    int rc = optparse_parse(&spec, value, &raw, &seen, err, errlen);

    if (!rc && !raw.source_url) {
        snprintf(err, errlen, "--restore: source_url is required");
        rc = -EINVAL;
    }
    if (!rc && !cli_snapshot_dir("--restore source_url", raw.source_url, err, errlen))
        rc = -EINVAL;
    if (rc) {
        free(raw.source_url);
        free(raw.net_fds);
        return rc;
    }
    cli_restore_free(r);
    r->present = true;
    r->source_url = raw.source_url;
    r->prefault = raw.prefault;
    free(raw.net_fds);
    return 0;
}

void cli_restore_free(struct cli_restore *r)
{
    free(r->source_url);
    memset(r, 0, sizeof(*r));
}
