#ifndef CELLVM_IPC_STARTUP_H
#define CELLVM_IPC_STARTUP_H

/*
 * Start-up timestamps (issue 21): where the time from exec to the first guest instruction goes,
 * for anyone running with -v. The controller takes its start time first thing and passes it to
 * every process it starts in the environment (STARTUP_ENV, CLOCK_MONOTONIC nanoseconds, which
 * all processes of one host share); each process reads it before its jail clears the
 * environment and prints its phases as milliseconds since then:
 *
 *   cellvm: startup +12.4 ms: core: jailed (namespaces, seccomp)
 */

#include <stdint.h>

#define STARTUP_ENV "CELLVM_START_NS"

/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t startup_now(void);

/* The controller: now becomes the origin, exported to the processes it starts. */
uint64_t startup_begin(void);

/* A started process: the controller's origin, or 0 when the environment has none. */
uint64_t startup_origin(void);

/* One line on fd: "<prefix>startup +T ms: <what>" (nothing when origin is 0). */
void startup_note(int fd, const char *prefix, uint64_t origin, const char *what);

#endif
