#include "validate_api.h"
#include "validate_util.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define MAX_DEPTH 8 /* the schema nests four deep; anything deeper is not ours */

static bool string_ok(const ProtobufCFieldDescriptor *f, const char *s)
{
    bool cmdline = !strcmp(f->name, "cmdline");

    return !s || pb_text_ok(s, cmdline ? PB_API_MAX_CMDLINE : PB_API_MAX_STRING, true, cmdline);
}

static int shape(const ProtobufCMessage *m, unsigned depth, const char **why)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    if (depth > MAX_DEPTH)
        return pb_fail(why, d->short_name);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        const void *at = base + f->offset;
        size_t n = 1;
        int r;

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)(base + f->quantifier_offset);
            if (n > (f->type == PROTOBUF_C_TYPE_UINT32 ? PB_API_MAX_INTS : PB_API_MAX_REPEATED))
                return pb_fail(why, f->name);
            if (!n)
                continue;
            at = *(const void *const *)at;
        }
        for (size_t j = 0; j < n; j++) {
            if (f->type == PROTOBUF_C_TYPE_STRING) {
                const char *s = ((const char *const *)at)[j];

                if (!string_ok(f, s) || (f->label == PROTOBUF_C_LABEL_REPEATED && !s))
                    return pb_fail(why, f->name);
            } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                const ProtobufCMessage *sub = ((const ProtobufCMessage *const *)at)[j];

                if (!sub) {
                    if (f->label == PROTOBUF_C_LABEL_REPEATED)
                        return pb_fail(why, f->name);
                    continue;
                }
                r = shape(sub, depth + 1, why);
                if (r)
                    return r;
            }
        }
    }
    return 0;
}

int pb_validate_api_shape(const ProtobufCMessage *m, const char **why)
{
    return shape(m, 0, why);
}

int pb_validate_api_serve(const Cellvm__ApiServe *m, size_t nfds, const char **why)
{
    if (nfds != 1)
        return pb_fail(why, "api_serve.fds");
    if (m->seccomp <= CELLVM__SECCOMP_MODE__SECCOMP_UNSPECIFIED ||
        m->seccomp > CELLVM__SECCOMP_MODE__SECCOMP_LOG)
        return pb_fail(why, "api_serve.seccomp");
    if (m->verbosity > 4)
        return pb_fail(why, "api_serve.verbosity");
    return 0;
}

int pb_validate_api_request(const Cellvm__ApiRequest *m, size_t nfds, const char **why)
{
    if (!m->has_endpoint || m->endpoint <= CELLVM__API_ENDPOINT__API_UNSPECIFIED ||
        (m->endpoint > CELLVM__API_ENDPOINT__API_VM_RECEIVE_MIGRATION &&
         m->endpoint != CELLVM__API_ENDPOINT__API_VM_RESIZE_ZONE &&
         m->endpoint != CELLVM__API_ENDPOINT__API_VM_ADD_PMEM))
        return pb_fail(why, "api_request.endpoint");
    if (!m->has_id)
        return pb_fail(why, "api_request.id");
    if ((m->has_nfds ? m->nfds : 0) != nfds)
        return pb_fail(why, "api_request.nfds");
    if (nfds && ((m->endpoint != CELLVM__API_ENDPOINT__API_VM_ADD_NET &&
                  m->endpoint != CELLVM__API_ENDPOINT__API_VM_RESTORE) ||
                 nfds > PB_API_MAX_NET_FDS))
        return pb_fail(why, "api_request.nfds");
    switch (m->endpoint) {
    case CELLVM__API_ENDPOINT__API_VM_CREATE:
        if (!m->vm_config)
            return pb_fail(why, "api_request.vm_config");
        return shape(&m->vm_config->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_ADD_NET:
        if (!m->net)
            return pb_fail(why, "api_request.net");
        return shape(&m->net->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_ADD_DISK:
        if (!m->disk)
            return pb_fail(why, "api_request.disk");
        return shape(&m->disk->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_ADD_VSOCK:
        if (!m->vsock)
            return pb_fail(why, "api_request.vsock");
        return shape(&m->vsock->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_ADD_DEVICE:
        if (!m->device)
            return pb_fail(why, "api_request.device");
        return shape(&m->device->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_ADD_USER_DEVICE:
        if (!m->user_device)
            return pb_fail(why, "api_request.user_device");
        return shape(&m->user_device->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_ADD_FS:
        if (!m->fs)
            return pb_fail(why, "api_request.fs");
        return shape(&m->fs->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_ADD_PMEM:
        if (!m->pmem)
            return pb_fail(why, "api_request.pmem");
        return shape(&m->pmem->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_REMOVE_DEVICE:
        if (!m->remove_device || !m->remove_device->id)
            return pb_fail(why, "api_request.remove_device");
        return shape(&m->remove_device->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_RESIZE:
        if (!m->resize)
            return pb_fail(why, "api_request.resize");
        return shape(&m->resize->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_RESIZE_ZONE:
        if (!m->resize_zone || !m->resize_zone->id || !m->resize_zone->has_desired_ram)
            return pb_fail(why, "api_request.resize_zone");
        return shape(&m->resize_zone->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_SNAPSHOT:
        if (!m->snapshot || !m->snapshot->destination_url)
            return pb_fail(why, "api_request.snapshot");
        return shape(&m->snapshot->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_RESTORE:
        if (!m->restore || !m->restore->source_url)
            return pb_fail(why, "api_request.restore");
        for (size_t i = 0, sum = 0; i < m->restore->n_net_fds; i++) {
            const Cellvm__ApiRestoredNetConfig *n = m->restore->net_fds[i];

            if (!n->id || !n->has_num_fds || !n->num_fds || n->num_fds > PB_API_MAX_NET_FDS)
                return pb_fail(why, "api_request.restore.net_fds");
            sum += n->num_fds;
            if (i + 1 == m->restore->n_net_fds && sum != nfds)
                return pb_fail(why, "api_request.restore.net_fds");
        }
        if (!m->restore->n_net_fds && nfds)
            return pb_fail(why, "api_request.nfds");
        return shape(&m->restore->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_SEND_MIGRATION:
        if (!m->send_migration || !m->send_migration->destination_url)
            return pb_fail(why, "api_request.send_migration");
        return shape(&m->send_migration->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_RECEIVE_MIGRATION:
        if (!m->receive_migration || !m->receive_migration->receiver_url)
            return pb_fail(why, "api_request.receive_migration");
        return shape(&m->receive_migration->base, 0, why);
    case CELLVM__API_ENDPOINT__API_VM_RESIZE_DISK:
        if (!m->resize_disk || !m->resize_disk->id || !m->resize_disk->has_desired_size)
            return pb_fail(why, "api_request.resize_disk");
        return shape(&m->resize_disk->base, 0, why);
    default:
        return 0;
    }
}

int pb_validate_api_response(const Cellvm__ApiResponse *m, const char **why)
{
    if (!m->has_id)
        return pb_fail(why, "api_response.id");
    if (!m->has_status || m->status < 200 || m->status > 599)
        return pb_fail(why, "api_response.status");
    if (m->error && !pb_text_ok(m->error, 512, true, false))
        return pb_fail(why, "api_response.error");
    if (m->info && m->info->has_state &&
        (m->info->state <= CELLVM__API_VM_STATE__API_VM_STATE_UNSPECIFIED ||
         m->info->state > CELLVM__API_VM_STATE__API_VM_STATE_PAUSED))
        return pb_fail(why, "api_response.info.state");
    return shape(&m->base, 0, why);
}

int pb_validate_vm_control(const Cellvm__VmControl *m, const char **why)
{
    if (m->op <= CELLVM__VM_CONTROL__OP__OP_UNSPECIFIED || m->op > CELLVM__VM_CONTROL__OP__OP_NMI)
        return pb_fail(why, "vm_control.op");
    return 0;
}

int pb_validate_vm_control_done(const Cellvm__VmControlDone *m, const char **why)
{
    if (m->op <= CELLVM__VM_CONTROL__OP__OP_UNSPECIFIED || m->op > CELLVM__VM_CONTROL__OP__OP_NMI)
        return pb_fail(why, "vm_control_done.op");
    if (m->errnum < 0 || m->errnum > 4095)
        return pb_fail(why, "vm_control_done.errnum");
    return 0;
}

int pb_validate_api_envelope(const Cellvm__Envelope *m, size_t nfds, const char **why)
{
    switch (m->body_case) {
    case CELLVM__ENVELOPE__BODY_API_SERVE:
        return pb_validate_api_serve(m->api_serve, nfds, why);
    case CELLVM__ENVELOPE__BODY_API_REQUEST:
        return pb_validate_api_request(m->api_request, nfds, why);
    case CELLVM__ENVELOPE__BODY_API_RESPONSE:
        return nfds ? pb_fail(why, "envelope.fds") : pb_validate_api_response(m->api_response, why);
    case CELLVM__ENVELOPE__BODY_VM_CONTROL:
        return nfds ? pb_fail(why, "envelope.fds") : pb_validate_vm_control(m->vm_control, why);
    case CELLVM__ENVELOPE__BODY_VM_CONTROL_DONE:
        return nfds ? pb_fail(why, "envelope.fds")
                    : pb_validate_vm_control_done(m->vm_control_done, why);
    default:
        return -ENOENT;
    }
}
