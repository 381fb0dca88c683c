/* See remote_dev.h. */
#include "core/api/remote_dev.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api/api_json.h"
#include "core/controller/api_cfg.h"
#include "devspec/devspec.h"
#include "devspec/optparse.h"

/* --pmem has no parser in cellvm yet (no virtio-pmem): its keys, as Cloud Hypervisor's. */
struct pmem_spec {
    char *file, *id;
    bool has_size;
    uint64_t size;
    bool iommu, discard_writes;
    uint16_t pci_segment;
};

#define PMEM_KEY(n, t, m)                                                            \
    {                                                                                \
        .name = n, .type = t, OPTPARSE_FIELD(struct pmem_spec, m), .supported = true \
    }

static const struct optparse_key pmem_keys[] = {
    PMEM_KEY("file", OPTPARSE_STR, file),
    PMEM_KEY("size", OPTPARSE_SIZE, size),
    PMEM_KEY("iommu", OPTPARSE_TOGGLE, iommu),
    PMEM_KEY("discard_writes", OPTPARSE_TOGGLE, discard_writes),
    PMEM_KEY("id", OPTPARSE_STR, id),
    PMEM_KEY("pci_segment", OPTPARSE_U16, pci_segment),
};

static const struct optparse_spec pmem_spec = {
    .opt = "add-pmem",
    .keys = pmem_keys,
    .nkeys = sizeof(pmem_keys) / sizeof(pmem_keys[0]),
};

static const char *const commands[] = { "add-disk", "add-net",    "add-vsock",      "add-fs",
                                        "add-pmem", "add-device", "add-user-device" };

int remote_dev_command(const char *cmd)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(cmd, commands[i]))
            return 1;
    return 0;
}

static char *json_of(json_object *o)
{
    char *s = o ? strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE))
                : NULL;

    json_object_put(o);
    return s;
}

static void add_str(json_object *o, const char *k, const char *v)
{
    if (v)
        json_object_object_add(o, k, json_object_new_string(v));
}

static char *pmem_body(const char *spec, char *err, size_t errlen)
{
    struct pmem_spec p = { 0 };
    struct optparse_seen seen;
    json_object *o;
    char *s = NULL;

    if (optparse_parse(&pmem_spec, spec, &p, &seen, err, errlen))
        goto out;
    if (!p.file) {
        snprintf(err, errlen, "add-pmem: missing required key 'file'");
        goto out;
    }
    o = json_object_new_object();
    if (!o)
        goto out;
    add_str(o, "file", p.file);
    if (optparse_valued(&pmem_spec, &seen, "size"))
        json_object_object_add(o, "size", json_object_new_uint64(p.size));
    json_object_object_add(o, "iommu", json_object_new_boolean(p.iommu));
    json_object_object_add(o, "discard_writes", json_object_new_boolean(p.discard_writes));
    add_str(o, "id", p.id);
    json_object_object_add(o, "pci_segment", json_object_new_int(p.pci_segment));
    s = json_of(o);
out:
    free(p.file);
    free(p.id);
    return s;
}

/* A device the controller's parsers know: parsed, shown as vm.info would show it. */
static char *cli_body(const char *cmd, const char *spec, int *fds, size_t *nfds, char *err,
                      size_t errlen)
{
    union {
        struct cli_disk disk;
        struct cli_net net;
        struct cli_vsock vsock;
        struct cli_device device;
        struct cli_user_device user;
        struct cli_fs fs;
    } u;
    ProtobufCMessage *m = NULL;
    char *s = NULL;

    memset(&u, 0, sizeof(u));
    if (!strcmp(cmd, "add-disk")) {
        if (!cli_disk_parse(spec, &u.disk, err, errlen))
            m = (ProtobufCMessage *)api_cfg_disk(&u.disk);
        cli_disk_free(&u.disk);
    } else if (!strcmp(cmd, "add-net")) {
        if (!cli_net_parse(spec, &u.net, err, errlen)) {
            if (u.net.fds.n > REMOTE_MAX_FDS) {
                snprintf(err, errlen, "add-net: more than %d fds", REMOTE_MAX_FDS);
            } else {
                for (size_t i = 0; i < u.net.fds.n; i++)
                    fds[i] = (int)u.net.fds.v[i];
                *nfds = u.net.fds.n;
                m = (ProtobufCMessage *)api_cfg_net(&u.net);
            }
        }
        cli_net_free(&u.net);
    } else if (!strcmp(cmd, "add-vsock")) {
        if (!cli_vsock_parse(spec, &u.vsock, err, errlen))
            m = (ProtobufCMessage *)api_cfg_vsock(&u.vsock);
        cli_vsock_free(&u.vsock);
    } else if (!strcmp(cmd, "add-device")) {
        if (!cli_device_parse(spec, &u.device, err, errlen))
            m = (ProtobufCMessage *)api_cfg_device(&u.device);
        cli_device_free(&u.device);
    } else if (!strcmp(cmd, "add-fs")) {
        if (!cli_fs_parse(spec, &u.fs, err, errlen))
            m = (ProtobufCMessage *)api_cfg_fs(&u.fs);
        cli_fs_free(&u.fs);
    } else {
        if (!cli_user_device_parse(spec, &u.user, err, errlen))
            m = (ProtobufCMessage *)api_cfg_user_device(&u.user);
        cli_user_device_free(&u.user);
    }
    if (m) {
        s = apij_render(m);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return s;
}

int remote_dev_body(const char *cmd, const char *spec, char **body, int *fds, size_t *nfds,
                    char *err, size_t errlen)
{
    err[0] = '\0';
    *nfds = 0;
    if (!strcmp(cmd, "add-pmem"))
        *body = pmem_body(spec, err, errlen);
    else
        *body = cli_body(cmd, spec, fds, nfds, err, errlen);
    if (*body)
        return 0;
    if (!err[0])
        snprintf(err, errlen, "out of memory");
    return -EINVAL;
}
