#ifndef CELLVM_CORE_SUPERVISE_H
#define CELLVM_CORE_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>

#include "control.pb-c.h"
#include "core/controller/launch.h"

struct event_base;

/*
 * Runs one VM's processes to the end: hands the core its configuration after a valid Hello,
 * relays the children's log lines with a role prefix, forwards SIGINT/SIGTERM as Shutdown,
 * and turns the core's ExitStatus (or its death) into the controller's exit status.
 */
struct supervisor {
    struct event_base *base;        /* borrowed */
    struct child *core;             /* borrowed */
    int log_out;                    /* prefixed log lines go here; borrowed */
    const Cellvm__Envelope *config; /* sent after Hello; borrowed */
    const int *config_fds;          /* sent with it; borrowed */
    size_t config_nfds;
    void (*on_config_sent)(void *arg); /* lets the caller drop its copies of the fds */
    void *arg;
};

/* Returns the process exit status: 0 after a guest poweroff or a requested shutdown that
 * completed, 1 when the VM failed or a child died. */
int supervise_run(struct supervisor *sv);

#endif
