/*
 * cellvm-api: the REST API process. Started by the controller with its control channel only; the
 * listening --api-socket arrives with ApiServe. It jails itself, then serves HTTP/1.1 with
 * libevent's evhttp, turns each request into a validated ApiRequest for the controller and
 * each ApiResponse into Cloud Hypervisor's status and body. It never acts on the VM itself.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/api/api_front.h"
#include "core/api/api_json.h"
#include "core/api/api_restore.h"
#include "core/api/api_routes.h"
#include "ipc/channel.h"
#include "ipc/msg.h"
#include "sandbox/jail.h"
#include "validate_api.h"

#define HTTP_TIMEOUT     10 /* seconds a client may take to send a request */
#define MAX_HEADERS_SIZE 8192
#define MAX_PENDING      64 /* requests waiting for the controller; more get 503 */

/* A request handed to the controller, waiting for its ApiResponse. */
struct pending {
    struct pending *next;
    struct api *api;
    uint64_t id;
    struct evhttp_request *req; /* NULL once the client went away */
    struct evhttp_connection *evcon;
};

struct api {
    int chan; /* control channel to the controller; owned */
    struct event_base *base;
    struct evhttp *http;
    struct api_front front;
    struct event *ev_chan;
    struct pending *pending;
    unsigned npending;
    uint64_t next_id;
    enum sbx_seccomp seccomp;
};

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

/* An answer with an optional body; JSON for 200, one text line otherwise. */
static void reply(struct evhttp_request *req, int status, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (body && status != 204) {
        evhttp_add_header(h, "Content-Type", status == 200 ? "application/json" : "text/plain");
        if (b)
            evbuffer_add_printf(b, "%s%s", body, status == 200 ? "" : "\n");
    }
    evhttp_send_reply(req, status, reason(status), b);
    if (b)
        evbuffer_free(b);
}

static void on_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct pending *p = arg;

    (void)evcon;
    p->req = NULL; /* evhttp frees the request with the connection */
    p->evcon = NULL;
}

static void pending_remove(struct api *a, struct pending *p)
{
    for (struct pending **pp = &a->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    a->npending--;
    if (p->evcon)
        evhttp_connection_set_closecb(p->evcon, NULL, NULL);
    free(p);
}

static int send_request(struct api *a, Cellvm__ApiRequest *rq, const int *fds, size_t nfds,
                        struct evhttp_request *req)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    struct pending *p;
    const char *why = NULL;
    int r;

    if (a->npending >= MAX_PENDING)
        return -EBUSY;
    rq->id = ++a->next_id;
    rq->has_id = 1;
    rq->nfds = (uint32_t)nfds;
    rq->has_nfds = 1;
    /* What we send must pass the controller's checks; failing here names the field. */
    r = pb_validate_api_request(rq, nfds, &why);
    if (r)
        return r;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    env.body_case = CELLVM__ENVELOPE__BODY_API_REQUEST;
    env.api_request = rq;
    r = ipc_send_envelope(a->chan, &env, fds, nfds);
    if (r) {
        free(p);
        return r;
    }
    p->api = a;
    p->id = rq->id;
    p->req = req;
    p->evcon = evhttp_request_get_connection(req);
    if (p->evcon)
        evhttp_connection_set_closecb(p->evcon, on_conn_closed, p);
    p->next = a->pending;
    a->pending = p;
    a->npending++;
    return 0;
}

/* Reads and parses the body of a route that takes one. 0, or an HTTP status with err set. */
static int read_body(struct evhttp_request *req, const struct api_route *rt, ProtobufCMessage **out,
                     char *err, size_t errlen)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body;

    if (!len) {
        snprintf(err, errlen, "%s needs a JSON body", rt->path + 1);
        return 400;
    }
    if (len > APIJ_MAX_BODY) {
        snprintf(err, errlen, "request body larger than %d bytes", APIJ_MAX_BODY);
        return 413;
    }
    body = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return 500;
    }
    return apij_parse(body, len, rt->body, out, err, errlen) == -ENOMEM ? 500 : *out ? 0 : 400;
}

static int take_fds(struct api *a, struct evhttp_request *req, int *fds, size_t max)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    int r;

    if (!bev)
        return 0;
    r = api_front_take_fds(&a->front, bufferevent_getfd(bev), fds, max);
    return r == -ENOENT ? 0 : r;
}

static void handle(struct evhttp_request *req, void *arg)
{
    struct api *a = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const struct api_route *rt = path ? api_route_find(path) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    Cellvm__ApiRequest rq = CELLVM__API_REQUEST__INIT;
    ProtobufCMessage *body = NULL;
    char err[APIJ_ERR_LEN];
    int fds[API_FRONT_MAX_FDS];
    int nfds, status = 0, r;

    nfds = take_fds(a, req, fds, API_FRONT_MAX_FDS);
    if (!rt) {
        status = 404;
        snprintf(err, sizeof(err), "no such endpoint");
    } else if (cmd != (rt->method == API_GET ? EVHTTP_REQ_GET : EVHTTP_REQ_PUT)) {
        status = 400;
        snprintf(err, sizeof(err), "%s takes %s", rt->path + 1,
                 rt->method == API_GET ? "GET" : "PUT");
    } else if (nfds == -E2BIG) {
        status = 400;
        snprintf(err, sizeof(err), "too many file descriptors with the request (max %d)",
                 API_FRONT_MAX_FDS);
    } else if (nfds > 0 && !rt->takes_fds && rt->endpoint != CELLVM__API_ENDPOINT__API_VM_CREATE) {
        status = 400;
        snprintf(err, sizeof(err), "%s takes no file descriptors", rt->path + 1);
    } else if (rt->endpoint == CELLVM__API_ENDPOINT__API_UNSPECIFIED) {
        status = rt->missing_status;
        snprintf(err, sizeof(err), "%s is not supported by cellvm yet", rt->missing);
    } else if (rt->body) {
        status = read_body(req, rt, &body, err, sizeof(err));
    }
    /* vm.restore's net_fds name the fds that came with it (issue 18). */
    if (!status && rt->body == &cellvm__api_restore_config__descriptor &&
        api_restore_check_fds((Cellvm__ApiRestoreConfig *)body, nfds > 0 ? (size_t)nfds : 0, err,
                              sizeof(err)))
        status = 400;
    /* vm.create ignores fds, as Cloud Hypervisor does. */
    if (nfds > 0 && (status || !rt->takes_fds)) {
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        nfds = 0;
    }
    if (status) {
        reply(req, status, err);
        goto out;
    }
    rq.endpoint = rt->endpoint;
    rq.has_endpoint = 1;
    if (rt->body == &cellvm__api_vm_config__descriptor)
        rq.vm_config = (Cellvm__ApiVmConfig *)body;
    else if (rt->body == &cellvm__api_net_config__descriptor)
        rq.net = (Cellvm__ApiNetConfig *)body;
    else if (rt->body == &cellvm__api_resize_disk__descriptor)
        rq.resize_disk = (Cellvm__ApiResizeDisk *)body;
    else if (rt->body == &cellvm__api_disk_config__descriptor)
        rq.disk = (Cellvm__ApiDiskConfig *)body;
    else if (rt->body == &cellvm__api_vsock_config__descriptor)
        rq.vsock = (Cellvm__ApiVsockConfig *)body;
    else if (rt->body == &cellvm__api_device_config__descriptor)
        rq.device = (Cellvm__ApiDeviceConfig *)body;
    else if (rt->body == &cellvm__api_user_device_config__descriptor)
        rq.user_device = (Cellvm__ApiUserDeviceConfig *)body;
    else if (rt->body == &cellvm__api_vm_remove_device__descriptor)
        rq.remove_device = (Cellvm__ApiVmRemoveDevice *)body;
    else if (rt->body == &cellvm__api_vm_resize__descriptor)
        rq.resize = (Cellvm__ApiVmResize *)body;
    else if (rt->body == &cellvm__api_vm_resize_zone__descriptor)
        rq.resize_zone = (Cellvm__ApiVmResizeZone *)body;
    else if (rt->body == &cellvm__api_fs_config__descriptor)
        rq.fs = (Cellvm__ApiFsConfig *)body;
    else if (rt->body == &cellvm__api_pmem_config__descriptor)
        rq.pmem = (Cellvm__ApiPmemConfig *)body;
    else if (rt->body == &cellvm__api_vm_snapshot_config__descriptor)
        rq.snapshot = (Cellvm__ApiVmSnapshotConfig *)body;
    else if (rt->body == &cellvm__api_restore_config__descriptor)
        rq.restore = (Cellvm__ApiRestoreConfig *)body;
    else if (rt->body == &cellvm__api_send_migration_data__descriptor)
        rq.send_migration = (Cellvm__ApiSendMigrationData *)body;
    else if (rt->body == &cellvm__api_receive_migration_data__descriptor)
        rq.receive_migration = (Cellvm__ApiReceiveMigrationData *)body;
    r = send_request(a, &rq, fds, nfds > 0 ? (size_t)nfds : 0, req);
    if (r == -EINVAL) {
        reply(req, 400, "request refused by validation");
    } else if (r == -EBUSY) {
        reply(req, 503, "too many requests in flight");
    } else if (r) {
        snprintf(err, sizeof(err), "cannot reach the VMM: %s", strerror(-r));
        reply(req, 500, err);
    }
out:
    for (int i = 0; i < nfds; i++)
        close(fds[i]); /* sent copies, or refused */
    protobuf_c_message_free_unpacked(body, NULL);
}

static void answer(struct api *a, const Cellvm__ApiResponse *rs)
{
    struct pending *p;
    char *body = NULL;

    for (p = a->pending; p && p->id != rs->id; p = p->next)
        ;
    if (!p)
        return;
    if (p->req) {
        if (rs->status >= 400)
            reply(p->req, (int)rs->status, rs->error ? rs->error : "error");
        else if (rs->status == 204)
            reply(p->req, 204, NULL);
        else {
            if (rs->ping)
                body = apij_render_ping(rs->ping);
            else if (rs->info)
                body = apij_render_info(rs->info);
            else if (rs->counters)
                body = apij_render_counters(rs->counters);
            else if (rs->pci_device)
                body = apij_render_pci_device(rs->pci_device);
            if (body)
                reply(p->req, (int)rs->status, body);
            else
                reply(p->req, 500, "cannot render the answer");
            free(body);
        }
    }
    pending_remove(a, p);
}

/* The answer to vmm.shutdown is usually still on its way out: no new client is taken, and
 * the loop ends once the answers have had a moment to leave. */
static void stop_serving(struct api *a)
{
    struct timeval flush = { .tv_usec = 200 * 1000 };

    if (a->front.ev_accept)
        event_del(a->front.ev_accept);
    event_base_loopexit(a->base, &flush);
}

static void on_chan(evutil_socket_t fd, short what, void *arg)
{
    struct api *a = arg;
    Cellvm__Envelope *env;
    const char *why = NULL;
    int fds[1];
    size_t nfds;
    int r;

    (void)what;
    r = ipc_recv_envelope(fd, &env, fds, 1, &nfds, &why);
    if (r == -EINVAL || r == -EBADMSG || r == -EMSGSIZE) {
        fprintf(stderr, "control message rejected: %s\n", why);
        return;
    }
    if (r) {
        /* The controller is gone: nothing left to serve for. */
        event_base_loopexit(a->base, NULL);
        return;
    }
    if (env->body_case == CELLVM__ENVELOPE__BODY_API_RESPONSE)
        answer(a, env->api_response);
    else if (env->body_case == CELLVM__ENVELOPE__BODY_SHUTDOWN)
        stop_serving(a);
    else
        fprintf(stderr, "unexpected control message %d ignored\n", (int)env->body_case);
    ipc_free_envelope(env);
}

static int send_hello(int chan)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Hello h = CELLVM__HELLO__INIT;

    h.protocol_version = 1;
    h.role = CELLVM__ROLE__ROLE_API;
    h.id = (char *)"api";
    h.pid = (uint32_t)getpid();
    env.body_case = CELLVM__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    return ipc_send_envelope(chan, &env, NULL, 0);
}

static int send_ready(int chan)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Ready rd = CELLVM__READY__INIT;

    env.body_case = CELLVM__ENVELOPE__BODY_READY;
    env.ready = &rd;
    return ipc_send_envelope(chan, &env, NULL, 0);
}

/* Hello, then ApiServe with the listening socket. */
static int configure(struct api *a, int *listen_fd)
{
    Cellvm__Envelope *env = NULL;
    const char *why = NULL;
    size_t nfds = 0;
    int r;

    r = send_hello(a->chan);
    if (!r)
        r = ipc_recv_envelope(a->chan, &env, listen_fd, 1, &nfds, &why);
    if (r) {
        fprintf(stderr, "no configuration from the controller: %s\n", why ? why : strerror(-r));
        return r;
    }
    if (env->body_case != CELLVM__ENVELOPE__BODY_API_SERVE) {
        fprintf(stderr, "expected ApiServe first\n");
        ipc_close_fds(listen_fd, nfds);
        ipc_free_envelope(env);
        return -EPROTO;
    }
    a->seccomp = env->api_serve->seccomp == CELLVM__SECCOMP_MODE__SECCOMP_OFF   ? SBX_SECCOMP_OFF
                 : env->api_serve->seccomp == CELLVM__SECCOMP_MODE__SECCOMP_LOG ? SBX_SECCOMP_LOG
                                                                                : SBX_SECCOMP_ON;
    ipc_free_envelope(env);
    return 0;
}

static int jail(struct api *a, int listen_fd)
{
    const int keep[] = { a->chan, listen_fd, a->front.inner_fd };
    struct sbx_config cfg = {
        .profile = SBX_PROFILE_API,
        .seccomp = a->seccomp,
        .keep_fds = keep,
        .nkeep = 3,
        .nofile = 4 * API_FRONT_MAX_CONNS + 64, /* three sockets per client, fds in flight */
    };
    char err[256];
    int r = sbx_enter(&cfg, err, sizeof(err));

    if (r)
        fprintf(stderr, "cannot enter the jail: %s\n", err);
    return r;
}

static int serve(struct api *a)
{
    int listen_fd = -1;
    int r;

    r = configure(a, &listen_fd);
    if (!r)
        r = api_front_prepare(&a->front);
    if (!r)
        r = jail(a, listen_fd);
    if (r)
        goto fail;
    /* libevent's fds (epoll, signal pipe) are made after the jail closed everything else. */
    a->base = event_base_new();
    a->http = a->base ? evhttp_new(a->base) : NULL;
    if (!a->http) {
        r = -ENOMEM;
        goto fail;
    }
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(a->http, APIJ_MAX_BODY);
    evhttp_set_max_headers_size(a->http, MAX_HEADERS_SIZE);
    evhttp_set_timeout(a->http, HTTP_TIMEOUT);
    evhttp_set_gencb(a->http, handle, a);
    r = api_front_start(&a->front, a->base, a->http, listen_fd);
    listen_fd = -1; /* the front's */
    a->ev_chan = event_new(a->base, a->chan, EV_READ | EV_PERSIST, on_chan, a);
    if (r || !a->ev_chan || event_add(a->ev_chan, NULL)) {
        r = r ? r : -ENOMEM;
        goto fail;
    }
    r = send_ready(a->chan);
    if (!r)
        event_base_dispatch(a->base);
fail:
    if (listen_fd >= 0)
        close(listen_fd);
    return r;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "channel-fd", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct api a = { .chan = -1 };
    int o, r;

    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        long v;

        if (o == 'c') {
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (!errno && !*end && v >= 3 && v <= 1024)
                a.chan = (int)v;
            continue;
        }
        printf("usage: cellvm-api --channel-fd N\n"
               "The REST API process of cellvm, started by cellvm --api-socket; not run by "
               "hand.\n");
        return o == 'h' ? 0 : 2;
    }
    if (a.chan < 0 || optind != argc) {
        fprintf(stderr, "usage: cellvm-api --channel-fd N (started by cellvm)\n");
        return 2;
    }
    api_front_init(&a.front);
    r = serve(&a);
    while (a.pending)
        pending_remove(&a, a.pending);
    api_front_close(&a.front);
    if (a.ev_chan)
        event_free(a.ev_chan);
    if (a.http)
        evhttp_free(a.http);
    if (a.base)
        event_base_free(a.base);
    close(a.chan);
    return r ? 1 : 0;
}
