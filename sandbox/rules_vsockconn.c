#include <sys/socket.h>

#include "sandbox/profile_rules.h"

/*
 * cellvm-vsockd's connector (vsockd/connector.c), forked before the daemon's jail and left
 * outside it with the invoking user's identity, so that guests reach host listeners that only
 * that user may connect to. Its whole life is: receive a port, connect a unix stream to
 * <socket>_<port>, send the socket or an errno back, close it. No base table: no threads, no
 * heap growth, no signals handled, no files.
 */
static const struct sbx_rule vsockconn[] = {
    SBX_ALLOW(recvmsg, "the daemon's requests on the SOCK_SEQPACKET channel"),
    SBX_ALLOW(sendmsg, "the answer, with the connected socket in SCM_RIGHTS"),
    SBX_ALLOW2(socket, SBX_ARG(0, SCMP_CMP_EQ, AF_UNIX, 0),
               SBX_ARG(1, SCMP_CMP_EQ, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
               "one unix stream per request, non-blocking so connect never waits"),
    SBX_ALLOW(connect, "to <socket>_<port>, the only path the connector builds"),
    SBX_ALLOW(close, "our copy of each socket once it is sent"),
    SBX_ALLOW(exit_group, "the daemon's end closed: the connector ends"),
};

const struct sbx_rule_table sbx_rules_vsockconn = { vsockconn,
                                                    sizeof(vsockconn) / sizeof(vsockconn[0]) };
