/* The controller's one context (struct controller), shared by main.c, which boots the VM, and
 * vm_stop.c, which stops it while the VMM stays. */
#ifndef CELLVM_CORE_CONTROLLER_CONTROLLER_H
#define CELLVM_CORE_CONTROLLER_CONTROLLER_H

#include <stdbool.h>

#include "core/cli/cli.h"
#include "core/controller/api_ctl.h"
#include "core/controller/devices.h"
#include "core/controller/event_monitor.h"
#include "core/controller/launch.h"
#include "core/controller/linkwatch.h"
#include "core/controller/resources.h"
#include "core/controller/console_host.h"
#include "core/controller/serial.h"
#include "core/controller/spawner.h"
#include "core/controller/supervise.h"
#include "sandbox/netns.h"

enum core_state { CORE_WAIT_HELLO, CORE_WAIT_READY, CORE_RUNNING, CORE_DONE };

struct core_msg;
struct event;
struct event_base;

/* A VM stop that leaves the VMM serving (vm_stop.h); inactive when !active. */
struct vm_stop {
    bool active;
    bool failed;             /* a vm.boot that failed: its answer is `why` */
    char why[CLI_ERR_LEN];   /* the reason of a failed boot */
    struct event *ev_kill;   /* kills what did not stop in time; owned */
    struct event *ev_finish; /* runs the end from the loop; owned */
};

struct controller {
    struct cli_config cfg;
    struct vm_resources res;
    struct serial_backend serial;
    struct console_host console; /* --console's host side (cellvm-consoled gets dups) */
    struct devices devs;
    struct api_ctl api;  /* --api-socket: cellvm-api and the VM lifecycle it drives */
    struct evmon evmon;  /* --event-monitor */
    struct linkwatch lw; /* host link state of the --net TAPs */
    struct child core;
    struct sv_child core_svc;
    bool core_watched; /* core_svc is in sv (until the VM's stop removes it) */
    enum core_state core_state;
    struct core_msg *msg; /* the CoreConfig, sent after the core's Hello; borrowed */
    struct supervisor sv;
    bool sv_inited;
    struct vm_stop stop;
    struct event_base *base;
    int log_fd; /* --log-file, or -1 for stderr; owned */
    /* --landlock (landlock_ctl.h): restricted once, for the rest of the process */
    bool landlocked;
    struct spawner spawner; /* starts every child once landlocked */
    struct sbx_netns netns; /* the VM's processes' network namespace (sandbox/netns.h) */
    uint64_t t0;            /* start-up origin (ipc/startup.h) */
    char err[CLI_ERR_LEN];
};

#endif
