#include "core/cli/cli_restore.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
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
      .supported = true },
};

struct nets_ctx {
    struct cli_restore *r;
    char *err;
    size_t errlen;
};

/* One "id@[fd,...]" of net_fds. */
static int net_item(const char *s, size_t len, void *opaque)
{
    struct nets_ctx *c = opaque;
    struct cli_restore_net *n;
    const char *at = memchr(s, '@', len);
    char why[128] = "";
    char *val;
    int r;

    if (c->r->nnets == CLI_RESTORE_MAX_NETS) {
        snprintf(c->err, c->errlen, "--restore: net_fds: more than %d nets", CLI_RESTORE_MAX_NETS);
        return -EINVAL;
    }
    if (!at || at == s || (size_t)(at - s) > 64) {
        snprintf(c->err, c->errlen, "--restore: net_fds: expected <net id>@[<fd>,...], got '%.*s'",
                 (int)(len > 64 ? 64 : len), s);
        return -EINVAL;
    }
    n = &c->r->nets[c->r->nnets];
    n->id = strndup(s, (size_t)(at - s));
    val = strndup(at + 1, len - (size_t)(at - s) - 1);
    r = n->id && val ? optparse_intlist(val, INT32_MAX, &n->fds, why, sizeof(why)) : -ENOMEM;
    free(val);
    if (!r && (!n->fds.n || n->fds.n > 8)) {
        snprintf(why, sizeof(why), "1 to 8 fds");
        r = -EINVAL;
    }
    for (size_t i = 0; !r && i < n->fds.n; i++)
        if (n->fds.v[i] <= 2) {
            snprintf(why, sizeof(why), "fd %u (0, 1 and 2 are reserved)", n->fds.v[i]);
            r = -EINVAL;
        }
    c->r->nnets++; /* freed with the rest even when refused */
    if (r)
        snprintf(c->err, c->errlen, "--restore: net_fds: '%.64s': %s", n->id ? n->id : "",
                 r == -ENOMEM ? "out of memory" : why);
    return r;
}

static int parse_nets(const char *v, struct cli_restore *r, char *err, size_t errlen)
{
    struct nets_ctx c = { .r = r, .err = err, .errlen = errlen };
    size_t len = strlen(v);
    int rc;

    if (len < 2 || v[0] != '[' || v[len - 1] != ']') {
        snprintf(err, errlen, "--restore: net_fds: expected [<net id>@[<fd>,...],...]");
        return -EINVAL;
    }
    r->nets = calloc(CLI_RESTORE_MAX_NETS, sizeof(*r->nets));
    if (!r->nets) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    err[0] = 0;
    rc = optparse_split(v + 1, len - 2, net_item, &c);
    if (rc && !err[0])
        snprintf(err, errlen, "--restore: net_fds: unbalanced brackets");
    for (size_t i = 0; !rc && i < r->nnets; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(r->nets[i].id, r->nets[j].id)) {
                snprintf(err, errlen, "--restore: net_fds: '%.64s' is named twice", r->nets[i].id);
                rc = -EINVAL;
            }
    return rc ? -EINVAL : 0;
}

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
    struct cli_restore nets = { 0 };
    struct optparse_seen seen;
    int rc = optparse_parse(&spec, value, &raw, &seen, err, errlen);

    if (!rc && !raw.source_url) {
        snprintf(err, errlen, "--restore: source_url is required");
        rc = -EINVAL;
    }
    if (!rc && !cli_snapshot_dir("--restore source_url", raw.source_url, err, errlen))
        rc = -EINVAL;
    if (!rc && raw.net_fds)
        rc = parse_nets(raw.net_fds, &nets, err, errlen);
    free(raw.net_fds);
    if (rc) {
        free(raw.source_url);
        cli_restore_free(&nets);
        return rc;
    }
    cli_restore_free(r);
    r->present = true;
    r->source_url = raw.source_url;
    r->prefault = raw.prefault;
    r->nets = nets.nets;
    r->nnets = nets.nnets;
    return 0;
}

void cli_restore_free(struct cli_restore *r)
{
    free(r->source_url);
    for (size_t i = 0; r->nets && i < r->nnets; i++) {
        free(r->nets[i].id);
        optparse_u32_list_free(&r->nets[i].fds);
    }
    free(r->nets);
    memset(r, 0, sizeof(*r));
}
