/*
 * Fuzz target: a hostile REST API request body, parsed as the API process does for each route
 * that reads one (vm.create, vm.resize-disk, vm.add-net). The first byte picks the route among
 * those with a body schema; the rest is the body. Contracts checked:
 *  - a refusal leaves *out NULL and one printable line in err;
 *  - an accepted body passes the shape validator (the API process relies on it), and the
 *    ApiRequest built from it, once validated, survives the trip to the controller (pack,
 *    unpack, pb_validate_envelope);
 *  - rendering is the inverse of parsing: render -> parse -> render is a fixpoint.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.pb-c.h"
#include "core/api/api_json.h"
#include "core/api/api_routes.h"
#include "validate.h"
#include "validate_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(const char *err)
{
    if (!err[0])
        abort();
    for (size_t i = 0; err[i]; i++)
        if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] >= 0x7f)
            abort();
}

/* The route table's body routes, in table order. */
static const struct api_route *body_route(uint8_t pick)
{
    const struct api_route *all, *with[16];
    unsigned n, nb = 0;

    all = api_routes(&n);
    for (unsigned i = 0; i < n && nb < 16; i++)
        if (all[i].body)
            with[nb++] = &all[i];
    return nb ? with[pick % nb] : NULL;
}

/* What the API process sends for this body must be accepted by the controller. */
static void to_controller(const struct api_route *rt, ProtobufCMessage *body)
{
    Cellvm__ApiRequest rq = CELLVM__API_REQUEST__INIT;
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT, *back;
    const char *why = NULL;
    uint8_t *buf;
    size_t len;

    rq.endpoint = rt->endpoint;
    rq.has_endpoint = 1;
    rq.id = 1;
    rq.has_id = 1;
    rq.has_nfds = 1;
    if (rt->body == &cellvm__api_vm_config__descriptor)
        rq.vm_config = (Cellvm__ApiVmConfig *)body;
    else if (rt->body == &cellvm__api_net_config__descriptor)
        rq.net = (Cellvm__ApiNetConfig *)body;
    else if (rt->body == &cellvm__api_resize_disk__descriptor)
        rq.resize_disk = (Cellvm__ApiResizeDisk *)body;
    if (pb_validate_api_request(&rq, 0, &why))
        return; /* refused with 400 before sending (a resize-disk without id, say) */
    env.body_case = CELLVM__ENVELOPE__BODY_API_REQUEST;
    env.api_request = &rq;
    len = cellvm__envelope__get_packed_size(&env);
    buf = malloc(len ? len : 1);
    if (!buf)
        return;
    cellvm__envelope__pack(&env, buf);
    back = cellvm__envelope__unpack(NULL, len, buf);
    if (!back || pb_validate_envelope(back, 0, &why))
        abort();
    cellvm__envelope__free_unpacked(back, NULL);
    free(buf);
}

static void round_trip(const struct api_route *rt, const ProtobufCMessage *m)
{
    char err[APIJ_ERR_LEN] = "";
    ProtobufCMessage *again = NULL;
    char *s1 = apij_render(m), *s2 = NULL;

    if (!s1)
        return;
    if (apij_parse(s1, strlen(s1), rt->body, &again, err, sizeof(err)) || !again)
        abort(); /* we rendered something we refuse */
    s2 = apij_render(again);
    if (s2 && strcmp(s1, s2))
        abort();
    free(s2);
    free(s1);
    protobuf_c_message_free_unpacked(again, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[APIJ_ERR_LEN];
    const struct api_route *rt;
    ProtobufCMessage *m = NULL;
    const char *why = NULL;
    int r;

    if (size < 1 || !(rt = body_route(data[0])))
        return 0;
    err[0] = '\0';
    r = apij_parse((const char *)data + 1, size - 1, rt->body, &m, err, sizeof(err));
    if (r) {
        if (m)
            abort();
        check_err(err);
        return 0;
    }
    if (!m || m->descriptor != rt->body)
        abort();
    if (pb_validate_api_shape(m, &why))
        abort(); /* accepted JSON the validator refuses */
    to_controller(rt, m);
    round_trip(rt, m);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
