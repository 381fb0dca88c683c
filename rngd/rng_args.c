#include "rngd/rng_args.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "device-procs/devproc_util.h"

int rngd_rewrite_args(int argc, char **argv, char **out, char *spec, size_t speclen, char *err,
                      size_t errlen)
{
    int n = 0;
    bool seen = false;

    for (int i = 0; i < argc; i++) {
        const char *path = NULL;
        int w;

        if (n + 2 > RNGD_MAX_ARGS)
            return devproc_err(err, errlen, -E2BIG, "%s", "too many arguments");
        if (!strcmp(argv[i], "--source")) {
            if (i + 1 >= argc)
                return devproc_err(err, errlen, -EINVAL, "%s", "--source needs a path");
            path = argv[++i];
        } else if (!strncmp(argv[i], "--source=", 9)) {
            path = argv[i] + 9;
        }
        if (!path) {
            out[n++] = argv[i];
            continue;
        }
        if (seen)
            return devproc_err(err, errlen, -EINVAL, "%s", "--source given twice");
        if (!path[0] || strchr(path, '"'))
            return devproc_err(err, errlen, -EINVAL, "%s",
                               "--source: an empty path or one with '\"' cannot be used");
        w = snprintf(spec, speclen, "src=\"%s\"", path);
        if (w < 0 || (size_t)w >= speclen)
            return devproc_err(err, errlen, -ENAMETOOLONG, "%s", "--source: path too long");
        seen = true;
        out[n++] = (char *)"--rng";
        out[n++] = spec;
    }
    out[n] = NULL;
    return n;
}
