/* --vsock: the key table and per-option checks (Cloud Hypervisor v51.0 semantics). */
#include "devspec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devspec_util.h"

#define VSOCK_KEY(n, t, m, sup, dflt_)                                                             \
    {                                                                                              \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_vsock, m), .supported = sup, .dflt = dflt_ \
    }

static const struct optparse_key vsock_keys[] = {
    VSOCK_KEY("socket", OPTPARSE_STR, socket, true, NULL),
    VSOCK_KEY("cid", OPTPARSE_U32, cid, true, NULL),
    VSOCK_KEY("iommu", OPTPARSE_TOGGLE, iommu, true, NULL),
    VSOCK_KEY("id", OPTPARSE_STR, id, true, NULL),
    VSOCK_KEY("pci_segment", OPTPARSE_U16, pci_segment, true, "0"),
};

static const struct optparse_spec vsock_spec = {
    .opt = "--vsock",
    .keys = vsock_keys,
    .nkeys = sizeof(vsock_keys) / sizeof(vsock_keys[0]),
};

void cli_vsock_free(struct cli_vsock *v)
{
    free(v->socket);
    free(v->id);
    v->socket = v->id = NULL;
}

int cli_vsock_parse(const char *value, struct cli_vsock *v, char *err, size_t errlen)
{
    struct optparse_seen seen;
    int r;

    memset(v, 0, sizeof(*v));
    r = optparse_parse(&vsock_spec, value, v, &seen, err, errlen);
    if (r < 0)
        return r;
    if (!v->socket) {
        cli_err(err, errlen, "--vsock: missing required key 'socket'");
        return -EINVAL;
    }
    if (cli_check_path("--vsock", "socket", v->socket, err, errlen) < 0)
        return -EINVAL;
    if (!optparse_valued(&vsock_spec, &seen, "cid")) {
        cli_err(err, errlen, "--vsock: missing required key 'cid'");
        return -EINVAL;
    }
    /* 0 hypervisor, 1 local, 2 host; -1 is VMADDR_CID_ANY. */
    if (v->cid <= 2 || v->cid == UINT32_MAX) {
        cli_err(err, errlen,
                "--vsock: invalid value for 'cid': '%u' (0, 1, 2 and 4294967295 are "
                "reserved)",
                v->cid);
        return -EINVAL;
    }
    v->present = true;
    return devspec_check_id("--vsock", v->id, err, errlen);
}
