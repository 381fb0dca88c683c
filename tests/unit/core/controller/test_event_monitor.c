/* --event-monitor's writer: Cloud Hypervisor's pretty-printed event shape, escaping, the blank
 * line between events, and that a reader who does not read never blocks the controller. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/controller/event_monitor.h"

Test(evmon, format_without_properties)
{
    struct timespec ts = { .tv_sec = 2, .tv_nsec = 345 };
    char buf[512];
    int n = evmon_format(buf, sizeof(buf), &ts, "vm", "booting", NULL, 0);

    cr_assert_gt(n, 0);
    cr_assert_str_eq(buf, "{\n"
                          "  \"timestamp\": {\n"
                          "    \"secs\": 2,\n"
                          "    \"nanos\": 345\n"
                          "  },\n"
                          "  \"source\": \"vm\",\n"
                          "  \"event\": \"booting\",\n"
                          "  \"properties\": null\n"
                          "}");
    cr_assert_eq((size_t)n, strlen(buf));
}

Test(evmon, format_escapes_properties)
{
    struct timespec ts = { 0 };
    const struct evmon_prop p[2] = { { "id", "a\"b\\c\n\x01\xc3" }, { "bdf", "0000:00:05.0" } };
    char buf[512];

    cr_assert_gt(evmon_format(buf, sizeof(buf), &ts, "vm", "device-removed", p, 2), 0);
    cr_assert(strstr(buf, "  \"properties\": {\n"
                          "    \"id\": \"a\\\"b\\\\c\\n\\u0001?\",\n"
                          "    \"bdf\": \"0000:00:05.0\"\n"
                          "  }\n}"),
              "got %s", buf);
}

Test(evmon, format_refuses_a_small_buffer)
{
    struct timespec ts = { 0 };
    char buf[40];

    cr_assert_eq(evmon_format(buf, sizeof(buf), &ts, "vmm", "starting", NULL, 0), -ENOSPC);
}

static char *slurp(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n;

    cr_assert_not_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(evmon, path_truncates_and_separates_events)
{
    char path[] = "/tmp/cellvm-evmon-XXXXXX";
    int fd = mkstemp(path);
    struct cli_endpoint ep = { .present = true, .path = path, .fd = -1 };
    struct evmon m;
    char err[128];
    const char *s;

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "old junk", 8), 8);
    close(fd);
    evmon_init(&m);
    cr_assert_eq(evmon_open(&m, &ep, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(evmon_event(&m, "vmm", "starting"), 0);
    cr_assert_eq(evmon_device(&m, "device-added", "disk0"), 0);
    cr_assert_eq(evmon_child_exited(&m, "blockd", "disk0", 42, 9), 0); /* killed by SIGKILL */
    cr_assert_eq(evmon_event(&m, "vm", NULL), 0);                      /* no event: no-op */
    evmon_close(&m);
    s = slurp(path);
    unlink(path);
    cr_assert_eq(strncmp(s, "{\n  \"timestamp\"", 15), 0, "%s", s);
    cr_assert(strstr(s, "\"event\": \"starting\",\n  \"properties\": null\n}\n\n{\n"));
    cr_assert(
        strstr(s, "\"event\": \"device-added\",\n  \"properties\": {\n    \"id\": \"disk0\"\n"));
    cr_assert(strstr(s, "\"role\": \"blockd\""));
    cr_assert(strstr(s, "\"pid\": \"42\""));
    cr_assert(strstr(s, "\"signal\": \"9\"\n  }\n}\n\n"));
    cr_assert_null(strstr(s, "old junk"));
    cr_assert_eq(s[strlen(s) - 3], '}');
}

Test(evmon, fd_is_taken_and_a_full_pipe_drops_events)
{
    int p[2];
    struct cli_endpoint ep = { .present = true, .fd = -1 };
    struct evmon m;
    char err[128], buf[256];
    int dropped = 0;

    cr_assert_eq(pipe(p), 0);
    ep.fd = p[1];
    evmon_init(&m);
    cr_assert_eq(evmon_open(&m, &ep, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(fcntl(p[1], F_GETFD), -1, "fd= is owned by the monitor (closed and duplicated)");
    cr_assert(fcntl(m.fd, F_GETFD) & FD_CLOEXEC);
    /* Nobody reads: within a bounded number of events the writer drops instead of blocking. */
    for (int i = 0; i < 10000 && !dropped; i++)
        dropped = evmon_event(&m, "vm", "paused") < 0;
    cr_assert(dropped);
    cr_assert_gt(read(p[0], buf, sizeof(buf)), 0);
    evmon_close(&m);
    close(p[0]);
}

Test(evmon, off_monitor_is_a_no_op)
{
    struct cli_endpoint ep = { .present = false, .fd = -1 };
    struct evmon m;
    char err[64];

    evmon_init(&m);
    cr_assert_eq(evmon_open(&m, &ep, err, sizeof(err)), 0);
    cr_assert_eq(m.fd, -1);
    cr_assert_eq(evmon_event(&m, "vmm", "starting"), 0);
    cr_assert_eq(evmon_event(NULL, "vmm", "starting"), 0);
    evmon_close(&m);
}

Test(evmon, bad_path_is_reported)
{
    struct cli_endpoint ep = { .present = true, .path = (char *)"/nonexistent-dir/x", .fd = -1 };
    struct evmon m;
    char err[128];

    evmon_init(&m);
    cr_assert_eq(evmon_open(&m, &ep, err, sizeof(err)), -ENOENT);
    cr_assert(strstr(err, "--event-monitor"));
}
