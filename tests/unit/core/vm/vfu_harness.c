#include "tests/unit/core/vm/vfu_harness.h"

#include <criterion/criterion.h>
#include <sys/socket.h>
#include <unistd.h>

static void quiet(void *opaque, const char *line)
{
    (void)opaque;
    (void)line;
}

static void *serve(void *arg)
{
    struct vfu_harness *h = arg;

    while (vfiod_server_handle(&h->srv, h->srv_sock) > 0)
        ;
    vfiod_server_disconnect(&h->srv);
    return NULL;
}

int harness_start(struct vfu_harness *h)
{
    int sv[2];

    cr_assert_eq(fake_dev_init(&h->dev), 0);
    cr_assert_eq(vfiod_server_init(&h->srv, &fake_dev_ops, &h->dev), 0);
    vfiod_server_set_log(&h->srv, quiet, NULL);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    h->srv_sock = sv[1];
    cr_assert_eq(pthread_create(&h->thread, NULL, serve, h), 0);
    return sv[0];
}

void harness_stop(struct vfu_harness *h)
{
    pthread_join(h->thread, NULL);
    close(h->srv_sock);
    vfiod_server_destroy(&h->srv);
    fake_dev_fini(&h->dev);
}
