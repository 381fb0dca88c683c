/* --event-monitor: the VMM's lifecycle events as Cloud Hypervisor writes them. Each event is one
 * pretty-printed JSON object {"timestamp": {"secs", "nanos"}, "source", "event", "properties"}
 * (timestamp counted from when the monitor was opened, properties null or an object of strings),
 * followed by a blank line. Writes never block the controller: the fd is non-blocking and an
 * event the reader has no room for is dropped, as Cloud Hypervisor drops it. Every function
 * accepts a monitor that is off (or NULL), so call sites stay one line. */
#ifndef CELLVM_CORE_CONTROLLER_EVENT_MONITOR_H
#define CELLVM_CORE_CONTROLLER_EVENT_MONITOR_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "core/cli/cli.h"

struct evmon {
    int fd;                /* the --event-monitor file or fd; owned; -1 when off */
    struct timespec start; /* CLOCK_MONOTONIC when opened */
};

struct evmon_prop {
    const char *key, *value;
};

/* The most properties one event carries; more are not written. */
#define EVMON_MAX_PROPS 8

void evmon_init(struct evmon *m);

/* Opens path= (created or truncated, mode 0600 under the caller's umask) or takes fd= (the fd
 * is ours from then on). Nothing happens when ep is not present. 0 or -errno with err. */
int evmon_open(struct evmon *m, const struct cli_endpoint *ep, char *err, size_t errlen);

/* One event; props may be NULL when nprops is 0. 0, or -errno when it was not written whole. */
int evmon_emit(struct evmon *m, const char *source, const char *event,
               const struct evmon_prop *props, size_t nprops);

/* An event with no properties ("properties": null). */
int evmon_event(struct evmon *m, const char *source, const char *event);

/* source "vm", `event` ("device-added", "device-removed") with {"id": id}. */
int evmon_device(struct evmon *m, const char *event, const char *id);

/* source "vmm", event "child-exited": {"role", "id", "pid", and "exit_code" or "signal"} from a
 * wait status. */
int evmon_child_exited(struct evmon *m, const char *role, const char *id, pid_t pid, int st);

/* Formats one event into buf (no trailing blank line). Length, or -ENOSPC. For tests. */
int evmon_format(char *buf, size_t len, const struct timespec *ts, const char *source,
                 const char *event, const struct evmon_prop *props, size_t nprops);

void evmon_close(struct evmon *m);

#endif
