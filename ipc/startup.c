#include "ipc/startup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

uint64_t startup_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t startup_begin(void)
{
    uint64_t t0 = startup_now();
    char v[24];

    snprintf(v, sizeof(v), "%" PRIu64, t0);
    (void)setenv(STARTUP_ENV, v, 1); /* on failure the children print nothing */
    return t0;
}

uint64_t startup_origin(void)
{
    const char *v = getenv(STARTUP_ENV);
    unsigned long long t;
    char *end;

    if (!v || !*v)
        return 0;
    errno = 0;
    t = strtoull(v, &end, 10);
    return errno || *end || t > startup_now() ? 0 : (uint64_t)t;
}

void startup_note(int fd, const char *prefix, uint64_t origin, const char *what)
{
    char line[256];
    uint64_t dt;
    int n;

    if (!origin)
        return;
    dt = startup_now() - origin;
    n = snprintf(line, sizeof(line), "%sstartup +%" PRIu64 ".%01" PRIu64 " ms: %s\n", prefix,
                 dt / 1000000, dt / 100000 % 10, what);
    if (n > 0)
        (void)!write(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
