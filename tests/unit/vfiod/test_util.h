#ifndef CELLVM_TESTS_UNIT_VFIOD_TEST_UTIL_H
#define CELLVM_TESTS_UNIT_VFIOD_TEST_UTIL_H

/* A vfiod server on one end of a socketpair and a tiny test client on the other. */

#include <stddef.h>
#include <stdint.h>

#include "tests/unit/vfiod/fake_dev.h"
#include "vfiod/vfiod_server.h"

struct tconn {
    int cli, srv;
    uint16_t next_id;
    unsigned nlogs;
    char last_log[256];
    struct fake_dev dev;
    struct vfiod_server s;
};

/* calloc'd, socketpair + fake device + server; VERSION done when negotiate. */
struct tconn *t_open(bool negotiate);
void t_close(struct tconn *t);

/* Sends a raw message: header fields given, size computed; fds attached to the first byte. */
void t_send(struct tconn *t, uint16_t cmd, uint32_t flags, const void *p, size_t len,
            const int *fds, unsigned nfds);
/* Sends bytes with fds as one sendmsg (no header computed). */
void t_send_raw(int sock, const void *p, size_t len, const int *fds, unsigned nfds);

/* Runs the server once (expects 1) and receives the reply into r: returns its error field. */
uint32_t t_serve_reply(struct tconn *t, struct vfu_msg *r);

/* t_send + t_serve_reply. */
uint32_t t_call(struct tconn *t, uint16_t cmd, const void *p, size_t len, const int *fds,
                unsigned nfds, struct vfu_msg *r);

/* A call that must fail with err, be logged exactly once, and carry no payload or fd. */
void t_expect_err(struct tconn *t, uint16_t cmd, const void *p, size_t len, const int *fds,
                  unsigned nfds, uint32_t err);

/* A good request (DEVICE_GET_INFO, then a config-space read) still answered. */
void t_still_works(struct tconn *t);

int t_count_fds(void);
int t_memfd(size_t size);
int t_eventfd(void);

#endif
