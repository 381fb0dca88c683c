#ifndef CELLVM_VSOCKD_CONNECTOR_H
#define CELLVM_VSOCKD_CONNECTOR_H

/*
 * Standalone cellvm-vsockd's connector (see vconn.h for why): a small process that keeps the
 * invoking user's identity and does nothing but connect to <dir>/<name>_<port> for the ports
 * the jailed daemon asks for, under its own seccomp filter (sandbox's SBX_PROFILE_VSOCKCONN).
 */

#include "sandbox/profile.h"

/*
 * Starts the connector, before the jail and before any thread exists. It forks twice: the
 * middle process exits at once and is reaped here, so the connector is nobody's child in this
 * process and never becomes a zombie the jailed daemon would have to reap. The connector keeps
 * its end of a SOCK_SEQPACKET pair (and stdin, stdout, stderr) and ends when the other end,
 * *fd (the caller's), closes. dir is absolute. 0 or -errno.
 */
int vconn_spawn(const char *dir, const char *name, enum sbx_seccomp mode, int *fd);

/* The connector's loop: one answer per request until chan closes (0), or -errno when the
   channel breaks or a request is malformed. Exposed for tests. */
int vconn_serve(int chan, const char *dir, const char *name);

#endif
