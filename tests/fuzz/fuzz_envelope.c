/* Fuzz target: a control packet from a hostile peer, unpacked and validated as the receiving
 * process does. The first byte chooses how many fds "arrived" with the packet. */
#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Cellvm__Envelope *env;
    const char *why = NULL;
    size_t nfds;

    if (size < 1)
        return 0;
    nfds = data[0] % 8;
    env = cellvm__envelope__unpack(NULL, size - 1, data + 1);
    if (!env)
        return 0;
    (void)pb_validate_envelope(env, nfds, &why);
    cellvm__envelope__free_unpacked(env, NULL);
    return 0;
}
