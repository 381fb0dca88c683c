#include "validate_device.h"
#include "validate.h"
#include "validate_util.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int pb_validate_device_configure(const Cellvm__DeviceConfigure *m, size_t nfds, const char **why)
{
    if (!pb_text_ok(m->option, PB_MAX_OPTION_LEN, false, false))
        return pb_fail(why, "device_configure.option");
    if (!pb_text_ok(m->spec, PB_MAX_SPEC_LEN, true, false))
        return pb_fail(why, "device_configure.spec");
    if (m->nfds != nfds || nfds > PB_MAX_DEVICE_FDS)
        return pb_fail(why, "device_configure.nfds");
    if (m->seccomp <= CELLVM__SECCOMP_MODE__SECCOMP_UNSPECIFIED ||
        m->seccomp > CELLVM__SECCOMP_MODE__SECCOMP_LOG)
        return pb_fail(why, "device_configure.seccomp");
    if (m->verbosity > 4)
        return pb_fail(why, "device_configure.verbosity");
    if (!pb_text_ok(m->rate_limit_group, PB_MAX_ID_LEN, true, false) ||
        (m->rate_limit_group && m->rate_limit_group[0] && nfds == 0))
        return pb_fail(why, "device_configure.rate_limit_group");
    return 0;
}

int pb_validate_device_stats(const Cellvm__DeviceStats *m, const char **why)
{
    if (m->n_queues > PB_MAX_QUEUES)
        return pb_fail(why, "device_stats.queues");
    for (size_t i = 0; i < m->n_queues; i++)
        if (!m->queues[i] || m->queues[i]->index >= PB_MAX_QUEUES)
            return pb_fail(why, "device_stats.queues.index");
    /* Latencies describe completed requests only: none without ops, min never above max. */
    if (m->read_ops ? m->read_latency_min > m->read_latency_max
                    : (m->read_latency_min | m->read_latency_max | m->read_latency_total))
        return pb_fail(why, "device_stats.read_latency");
    if (m->write_ops ? m->write_latency_min > m->write_latency_max
                     : (m->write_latency_min | m->write_latency_max | m->write_latency_total))
        return pb_fail(why, "device_stats.write_latency");
    return 0;
}

int pb_validate_resize(const Cellvm__Resize *m, const char **why)
{
    /* 512-byte sectors; the top bits stay clear so sector arithmetic cannot overflow. */
    if (m->size == 0 || (m->size & 511) || m->size > (1ull << 62))
        return pb_fail(why, "resize.size");
    return 0;
}

int pb_validate_open_backing_file(const Cellvm__OpenBackingFile *m, const char **why)
{
    if (!pb_text_ok(m->path, PB_MAX_PATH_LEN, false, false))
        return pb_fail(why, "open_backing_file.path");
    return 0;
}

int pb_validate_backing_file(const Cellvm__BackingFile *m, size_t nfds, const char **why)
{
    if (!pb_text_ok(m->path, PB_MAX_PATH_LEN, false, false))
        return pb_fail(why, "backing_file.path");
    if (nfds != 1)
        return pb_fail(why, "backing_file.fds");
    return 0;
}

int pb_validate_device_event(const Cellvm__DeviceEvent *m, const char **why)
{
    if (m->kind <= CELLVM__DEVICE_EVENT__KIND__KIND_UNSPECIFIED ||
        m->kind > CELLVM__DEVICE_EVENT__KIND__KIND_NEEDS_RESET)
        return pb_fail(why, "device_event.kind");
    if (m->queue >= PB_MAX_QUEUES)
        return pb_fail(why, "device_event.queue");
    if (m->errnum < 0 || m->errnum > 4095)
        return pb_fail(why, "device_event.errnum");
    return 0;
}

int pb_validate_vsock_connect(const Cellvm__VsockConnect *m, const char **why)
{
    (void)m; /* every u32 port names a socket: <socket>_<port> */
    (void)why;
    return 0;
}

int pb_validate_vsock_connect_result(const Cellvm__VsockConnectResult *m, size_t nfds,
                                     const char **why)
{
    if (m->errnum < 0 || m->errnum > 4095)
        return pb_fail(why, "vsock_connect_result.errnum");
    if (nfds != (m->errnum ? 0u : 1u))
        return pb_fail(why, "vsock_connect_result.fds");
    if (!pb_text_ok(m->message, PB_MAX_MESSAGE_LEN, true, false))
        return pb_fail(why, "vsock_connect_result.message");
    return 0;
}

/* Pages are 32-bit in the balloon's config (num_pages, actual): at most 2^32 - 1 of 4 KiB. */
#define BALLOON_MAX_BYTES (0xffffffffull << 12)

int pb_validate_balloon_target(const Cellvm__BalloonTarget *m, const char **why)
{
    if ((m->size & 4095) || m->size > BALLOON_MAX_BYTES)
        return pb_fail(why, "balloon_target.size");
    return 0;
}

int pb_validate_balloon_actual(const Cellvm__BalloonActual *m, const char **why)
{
    if ((m->size & 4095) || m->size > BALLOON_MAX_BYTES)
        return pb_fail(why, "balloon_actual.size");
    return 0;
}

int pb_validate_device_envelope(const Cellvm__Envelope *m, size_t nfds, const char **why)
{
    bool carries_fds = m->body_case == CELLVM__ENVELOPE__BODY_DEVICE_CONFIGURE ||
                       m->body_case == CELLVM__ENVELOPE__BODY_BACKING_FILE ||
                       m->body_case == CELLVM__ENVELOPE__BODY_VSOCK_CONNECT_RESULT;

    switch (m->body_case) {
    case CELLVM__ENVELOPE__BODY_DEVICE_CONFIGURE:
    case CELLVM__ENVELOPE__BODY_STATS_REQUEST:
    case CELLVM__ENVELOPE__BODY_DEVICE_STATS:
    case CELLVM__ENVELOPE__BODY_RESIZE:
    case CELLVM__ENVELOPE__BODY_LINK_STATE:
    case CELLVM__ENVELOPE__BODY_OPEN_BACKING_FILE:
    case CELLVM__ENVELOPE__BODY_BACKING_FILE:
    case CELLVM__ENVELOPE__BODY_DEVICE_EVENT:
    case CELLVM__ENVELOPE__BODY_VSOCK_CONNECT:
    case CELLVM__ENVELOPE__BODY_VSOCK_CONNECT_RESULT:
    case CELLVM__ENVELOPE__BODY_BALLOON_TARGET:
    case CELLVM__ENVELOPE__BODY_BALLOON_ACTUAL:
        break;
    default:
        return -ENOENT;
    }
    if (!carries_fds && nfds)
        return pb_fail(why, "envelope.fds");
    switch (m->body_case) {
    case CELLVM__ENVELOPE__BODY_DEVICE_CONFIGURE:
        return pb_validate_device_configure(m->device_configure, nfds, why);
    case CELLVM__ENVELOPE__BODY_DEVICE_STATS:
        return pb_validate_device_stats(m->device_stats, why);
    case CELLVM__ENVELOPE__BODY_RESIZE:
        return pb_validate_resize(m->resize, why);
    case CELLVM__ENVELOPE__BODY_OPEN_BACKING_FILE:
        return pb_validate_open_backing_file(m->open_backing_file, why);
    case CELLVM__ENVELOPE__BODY_BACKING_FILE:
        return pb_validate_backing_file(m->backing_file, nfds, why);
    case CELLVM__ENVELOPE__BODY_DEVICE_EVENT:
        return pb_validate_device_event(m->device_event, why);
    case CELLVM__ENVELOPE__BODY_VSOCK_CONNECT:
        return pb_validate_vsock_connect(m->vsock_connect, why);
    case CELLVM__ENVELOPE__BODY_VSOCK_CONNECT_RESULT:
        return pb_validate_vsock_connect_result(m->vsock_connect_result, nfds, why);
    case CELLVM__ENVELOPE__BODY_BALLOON_TARGET:
        return pb_validate_balloon_target(m->balloon_target, why);
    case CELLVM__ENVELOPE__BODY_BALLOON_ACTUAL:
        return pb_validate_balloon_actual(m->balloon_actual, why);
    default:
        return 0;
    }
}
