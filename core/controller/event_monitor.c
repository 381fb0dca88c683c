#include "core/controller/event_monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Large enough for EVMON_MAX_PROPS properties of ids and paths; longer events are dropped. */
#define EVMON_BUF_LEN 8192

/* Bounded write retries: a pipe reader that keeps taking a few bytes cannot hold us here. */
#define EVMON_WRITE_TRIES 16

struct out {
    char *p;
    size_t len, used;
    bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->overflow || n >= o->len - o->used) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->used, s, n);
    o->used += n;
    o->p[o->used] = '\0';
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* A JSON string as serde_json writes it; bytes outside printable ASCII become '?' so the file
 * stays valid UTF-8 whatever an id holds. */
static void put_str(struct out *o, const char *s)
{
    char esc[8];

    put(o, "\"", 1);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        switch (c) {
        case '"':
            puts_(o, "\\\"");
            break;
        case '\\':
            puts_(o, "\\\\");
            break;
        case '\n':
            puts_(o, "\\n");
            break;
        case '\t':
            puts_(o, "\\t");
            break;
        case '\r':
            puts_(o, "\\r");
            break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                puts_(o, esc);
            } else {
                put(o, c < 0x7f ? (const char *)&c : "?", 1);
            }
            break;
        }
    }
    put(o, "\"", 1);
}

int evmon_format(char *buf, size_t len, const struct timespec *ts, const char *source,
                 const char *event, const struct evmon_prop *props, size_t nprops)
{
    struct out o = { .p = buf, .len = len };
    char num[64];

    if (!len)
        return -ENOSPC;
    buf[0] = '\0';
    snprintf(num, sizeof(num),
             "{\n  \"timestamp\": {\n    \"secs\": %lld,\n    \"nanos\": %ld\n  },\n",
             (long long)ts->tv_sec, ts->tv_nsec);
    puts_(&o, num);
    puts_(&o, "  \"source\": ");
    put_str(&o, source);
    puts_(&o, ",\n  \"event\": ");
    put_str(&o, event);
    puts_(&o, ",\n  \"properties\": ");
    if (!nprops || !props) {
        puts_(&o, "null\n}");
    } else {
        if (nprops > EVMON_MAX_PROPS)
            nprops = EVMON_MAX_PROPS;
        puts_(&o, "{\n");
        for (size_t i = 0; i < nprops; i++) {
            puts_(&o, "    ");
            put_str(&o, props[i].key);
            puts_(&o, ": ");
            put_str(&o, props[i].value);
            puts_(&o, i + 1 < nprops ? ",\n" : "\n");
        }
        puts_(&o, "  }\n}");
    }
    return o.overflow ? -ENOSPC : (int)o.used;
}

void evmon_init(struct evmon *m)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
}

int evmon_open(struct evmon *m, const struct cli_endpoint *ep, char *err, size_t errlen)
{
    int fd, fl;

    if (!ep->present)
        return 0;
    if (ep->fd >= 0) {
        fd = fcntl(ep->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
            snprintf(err, errlen, "--event-monitor fd=%d: %s", ep->fd, strerror(errno));
            return -errno;
        }
        close(ep->fd);
    } else {
        fd = ep->path ? open(ep->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
        if (fd < 0) {
            int e = ep->path ? errno : EINVAL;

            snprintf(err, errlen, "--event-monitor: cannot open '%s': %s", ep->path ? ep->path : "",
                     strerror(e));
            return -e;
        }
    }
    /* As Cloud Hypervisor: a slow reader loses events rather than stalling the VMM. */
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        int e = errno;

        snprintf(err, errlen, "--event-monitor: %s", strerror(e));
        close(fd);
        return -e;
    }
    m->fd = fd;
    clock_gettime(CLOCK_MONOTONIC, &m->start);
    return 0;
}

static void elapsed(const struct evmon *m, struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec -= m->start.tv_sec;
    ts->tv_nsec -= m->start.tv_nsec;
    if (ts->tv_nsec < 0) {
        ts->tv_nsec += 1000000000L;
        ts->tv_sec--;
    }
    if (ts->tv_sec < 0)
        ts->tv_sec = ts->tv_nsec = 0;
}

int evmon_emit(struct evmon *m, const char *source, const char *event,
               const struct evmon_prop *props, size_t nprops)
{
    char buf[EVMON_BUF_LEN];
    struct timespec ts;
    size_t off = 0, n;
    int len;

    if (!m || m->fd < 0 || !source || !event)
        return 0;
    elapsed(m, &ts);
    /* Room for the blank line that separates events. */
    len = evmon_format(buf, sizeof(buf) - 2, &ts, source, event, props, nprops);
    if (len < 0)
        return len;
    memcpy(buf + len, "\n\n", 2);
    n = (size_t)len + 2;
    for (int tries = 0; off < n && tries < EVMON_WRITE_TRIES; tries++) {
        ssize_t w = write(m->fd, buf + off, n - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        off += (size_t)w;
    }
    return off == n ? 0 : -EAGAIN;
}

int evmon_event(struct evmon *m, const char *source, const char *event)
{
    return evmon_emit(m, source, event, NULL, 0);
}

int evmon_device(struct evmon *m, const char *event, const char *id)
{
    const struct evmon_prop p = { "id", id };

    return evmon_emit(m, "vm", event, &p, 1);
}

int evmon_child_exited(struct evmon *m, const char *role, const char *id, pid_t pid, int st)
{
    char pidbuf[24], code[16];
    struct evmon_prop p[4] = {
        { "role", role },
        { "id", id },
        { "pid", pidbuf },
        { WIFSIGNALED(st) ? "signal" : "exit_code", code },
    };

    snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)pid);
    snprintf(code, sizeof(code), "%d", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return evmon_emit(m, "vmm", "child-exited", p, 4);
}

void evmon_close(struct evmon *m)
{
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}
