/* A guest that reboots forever: the VMM must give up with an error instead of spinning. */
#include "lib.h"

void payload_main(uint64_t start_info)
{
    (void)start_info;
    acpi_reset();
}
