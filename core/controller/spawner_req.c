/* The spawner's wire format (spawner.h): packing on the controller's side, the checks on the
 * spawner's. No side effects but fstat, so the unit tests run it as is. */
#include "core/controller/spawner.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const daemons[SPAWNER_NDAEMONS] = SPAWNER_DAEMONS;

int spawner_req_pack(struct spawner_req *q, const char *name, char *const argv[])
{
    size_t off = 0, n = strlen(name);
    uint32_t argc = 0;

    memset(q, 0, sizeof(*q));
    if (!argv || !argv[0] || n == 0 || n >= SPAWNER_NAME_MAX)
        return -EINVAL;
    q->magic = SPAWNER_MAGIC;
    memcpy(q->name, name, n + 1);
    for (; argv[argc]; argc++) {
        size_t len = strlen(argv[argc]) + 1;

        if (argc == SPAWNER_MAX_ARGV || len > SPAWNER_ARGS_MAX - off)
            return -E2BIG;
        memcpy(q->args + off, argv[argc], len);
        off += len;
    }
    q->argc = argc;
    q->args_len = (uint32_t)off;
    return 0;
}

static int bad(char *why, size_t whylen, const char *what)
{
    snprintf(why, whylen, "refused request: %s", what);
    return -EINVAL;
}

int spawner_req_check(struct spawner_req *q, size_t len, size_t nfds, char *argv[],
                      unsigned *daemon, char *why, size_t whylen)
{
    size_t off = 0;
    unsigned d;

    if (len != sizeof(*q) || q->magic != SPAWNER_MAGIC)
        return bad(why, whylen, "not a spawn request");
    if (!memchr(q->name, '\0', sizeof(q->name)))
        return bad(why, whylen, "name not terminated");
    for (d = 0; d < SPAWNER_NDAEMONS && strcmp(q->name, daemons[d]); d++)
        ;
    if (d == SPAWNER_NDAEMONS)
        return bad(why, whylen, "not one of cellvm's daemons");
    if (q->argc < 1 || q->argc > SPAWNER_MAX_ARGV)
        return bad(why, whylen, "argument count out of range");
    if (q->args_len < 1 || q->args_len > sizeof(q->args) || q->args[q->args_len - 1] != '\0')
        return bad(why, whylen, "arguments not terminated");
    if (nfds < 2 || nfds > SPAWNER_MAX_FDS)
        return bad(why, whylen, "fd count out of range (stderr, channel, at most 12 more)");
    for (uint32_t i = 0; i < q->argc; i++) {
        size_t n;

        if (off >= q->args_len)
            return bad(why, whylen, "fewer arguments than announced");
        argv[i] = q->args + off;
        n = strlen(argv[i]); /* bounded: args[args_len - 1] is a NUL */
        for (size_t k = 0; k < n; k++)
            if (argv[i][k] < 0x20 || argv[i][k] > 0x7e)
                return bad(why, whylen, "unprintable argument");
        off += n + 1;
    }
    if (off != q->args_len)
        return bad(why, whylen, "more arguments than announced");
    argv[q->argc] = NULL;
    if (strcmp(argv[0], daemons[d]))
        return bad(why, whylen, "argv[0] is not the daemon's name");
    *daemon = d;
    return 0;
}

int spawner_fds_check(const int *fds, size_t nfds, char *why, size_t whylen)
{
    for (size_t i = 0; i < nfds; i++) {
        struct stat st;

        if (fstat(fds[i], &st) < 0)
            return bad(why, whylen, "an fd cannot be examined");
        if (i == 0 ? !S_ISFIFO(st.st_mode) : !S_ISSOCK(st.st_mode))
            return bad(why, whylen, i == 0 ? "stderr is not a pipe" : "an fd is not a socket");
    }
    return 0;
}
