/* vm.send-migration's connection to its destination_url, made without blocking the
 * controller's event loop (issue 18): a tcp: destination that does not answer costs the loop
 * nothing while the connect waits (MIG_URL_CONNECT_MS at most, every resolved address in
 * turn). unix: connects at once, as a local listener answers or refuses immediately. */
#ifndef CELLVM_CORE_CONTROLLER_MIG_CONNECT_H
#define CELLVM_CORE_CONTROLLER_MIG_CONNECT_H

#include <stddef.h>

#include "core/controller/mig_url.h"

struct event_base;
struct mig_connect;

/* Called once, from the loop: r 0 with fd (blocking, CLOEXEC, TCP_NODELAY on TCP; now the
 * callee's), or -errno with a printable err naming the URL (fd -1). The connector is gone
 * when it returns. */
typedef void (*mig_connect_done)(void *arg, int fd, int r, const char *err);

/* Starts connecting to u within timeout_ms; done follows from the loop, never from here.
 * 0 with *out (mig_connect_cancel drops it before done), or -errno with err (the name does not
 * resolve, no memory): then done is never called. */
int mig_connect_start(struct event_base *base, const struct mig_url *u, int timeout_ms,
                      mig_connect_done done, void *arg, struct mig_connect **out, char *err,
                      size_t errlen);

/* Stops a connect in progress: its socket closed, done never called. NULL is ignored. */
void mig_connect_cancel(struct mig_connect *c);

#endif
