#include "lib.h"

/* A guest that reboots forever: the VMM must give up with an error instead of spinning. */
void payload_main(uint32_t start_info)
{
    (void)start_info;
    payload_say("boot loop: acpi reset", "");
    payload_acpi_reset();
}
