/* Fuzz target: a hostile command line (a supervisor's, or one relayed from the API). The input
 * is split into argv at NUL bytes; argv[0] is supplied. Every allocation must be released by
 * cli_config_free() whatever the outcome, and the error must be one printable line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"

#define FUZZ_MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[FUZZ_MAX_ARGS + 2], err[CLI_ERR_LEN], *buf;
    struct cli_config cfg;
    size_t i, start = 0;
    int argc = 1;

    buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    argv[0] = "cellvm";
    for (i = 0; i <= size && argc <= FUZZ_MAX_ARGS; i++) {
        if (i == size || buf[i] == '\0') {
            buf[i] = '\0';
            argv[argc++] = buf + start;
            start = i + 1;
        }
    }
    argv[argc] = NULL;
    if (cli_parse(argc, argv, &cfg, err, sizeof(err)) < 0) {
        for (i = 0; err[i]; i++)
            if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] == 0x7f)
                abort();
        if (!err[0])
            abort();
    }
    cli_config_free(&cfg);
    free(buf);
    return 0;
}
