#include "tests/unit/vfiod/test_util.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/fdsend.h"

static void count_log(void *opaque, const char *line)
{
    struct tconn *t = opaque;

    t->nlogs++;
    snprintf(t->last_log, sizeof(t->last_log), "%s", line);
}

struct tconn *t_open(bool negotiate)
{
    struct tconn *t = calloc(1, sizeof(*t));
    int sv[2];

    cr_assert_not_null(t);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    t->cli = sv[0];
    t->srv = sv[1];
    cr_assert_eq(fake_dev_init(&t->dev), 0);
    cr_assert_eq(vfiod_server_init(&t->s, &fake_dev_ops, &t->dev), 0);
    vfiod_server_set_log(&t->s, count_log, t);
    if (negotiate) {
        const char *json = "{\"capabilities\":{\"max_msg_fds\":8}}";
        uint8_t buf[128];
        struct vfu_version v = { .major = 0, .minor = 1 };
        struct vfu_msg r;

        memcpy(buf, &v, sizeof(v));
        memcpy(buf + sizeof(v), json, strlen(json) + 1);
        cr_assert_eq(t_call(t, VFU_CMD_VERSION, buf, sizeof(v) + strlen(json) + 1, NULL, 0, &r), 0);
        vfu_msg_release(&r);
    }
    return t;
}

void t_close(struct tconn *t)
{
    vfiod_server_destroy(&t->s);
    fake_dev_fini(&t->dev);
    if (t->cli >= 0)
        close(t->cli);
    close(t->srv);
    free(t);
}

void t_send_raw(int sock, const void *p, size_t len, const int *fds, unsigned nfds)
{
    struct iovec iov = { .iov_base = (void *)p, .iov_len = len };

    cr_assert_eq(ipc_sendv(sock, &iov, 1, fds, nfds), 0);
}

void t_send(struct tconn *t, uint16_t cmd, uint32_t flags, const void *p, size_t len,
            const int *fds, unsigned nfds)
{
    struct vfu_hdr h = { .msg_id = ++t->next_id, .command = cmd, .flags = flags };

    if (nfds <= VFU_MAX_FDS) {
        cr_assert_eq(vfu_send(t->cli, &h, p, len, fds, nfds), 0);
        return;
    }
    /* More fds than the codec sends: build the message by hand. */
    uint8_t *buf = malloc(sizeof(h) + len);

    cr_assert_not_null(buf);
    h.size = (uint32_t)(sizeof(h) + len);
    memcpy(buf, &h, sizeof(h));
    if (len)
        memcpy(buf + sizeof(h), p, len);
    t_send_raw(t->cli, buf, sizeof(h) + len, fds, nfds);
    free(buf);
}

uint32_t t_serve_reply(struct tconn *t, struct vfu_msg *r)
{
    cr_assert_eq(vfiod_server_handle(&t->s, t->srv), 1);
    cr_assert_eq(vfu_recv(t->cli, r, VFU_MAX_MSG, 1), 1);
    cr_assert_eq(r->hdr.msg_id, t->next_id, "reply to the request just sent");
    cr_assert_eq(r->hdr.flags & VFU_F_TYPE_MASK, VFU_F_TYPE_REPLY);
    return r->hdr.error;
}

uint32_t t_call(struct tconn *t, uint16_t cmd, const void *p, size_t len, const int *fds,
                unsigned nfds, struct vfu_msg *r)
{
    t_send(t, cmd, 0, p, len, fds, nfds);
    return t_serve_reply(t, r);
}

void t_expect_err(struct tconn *t, uint16_t cmd, const void *p, size_t len, const int *fds,
                  unsigned nfds, uint32_t err)
{
    unsigned logs = t->nlogs;
    struct vfu_msg r;

    cr_assert_eq(t_call(t, cmd, p, len, fds, nfds, &r), err, "command %u: error %u, want %u (%s)",
                 cmd, r.hdr.error, err, t->last_log);
    cr_assert(r.hdr.flags & VFU_F_ERROR);
    cr_assert_eq(r.hdr.command, cmd);
    cr_assert_eq(r.len, 0);
    cr_assert_eq(r.nfds, 0);
    cr_assert_eq(t->nlogs, logs + 1, "logged once");
    vfu_msg_release(&r);
    t_still_works(t);
}

void t_still_works(struct tconn *t)
{
    struct vfu_device_info info = { .argsz = sizeof(info) };
    struct vfu_region_access a = { .offset = 0, .region = VFU_PCI_CONFIG_REGION_INDEX, .count = 4 };
    unsigned logs = t->nlogs;
    struct vfu_msg r;
    uint32_t id;

    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_GET_INFO, &info, sizeof(info), NULL, 0, &r), 0);
    cr_assert_eq(r.len, sizeof(info));
    memcpy(&info, r.payload, sizeof(info));
    cr_assert_eq(info.num_regions, VFU_PCI_NUM_REGIONS);
    vfu_msg_release(&r);
    cr_assert_eq(t_call(t, VFU_CMD_REGION_READ, &a, sizeof(a), NULL, 0, &r), 0);
    cr_assert_eq(r.len, sizeof(a) + 4);
    memcpy(&id, r.payload + sizeof(a), 4);
    cr_assert_eq(id, 0x11e81234u);
    vfu_msg_release(&r);
    cr_assert_eq(t->nlogs, logs);
}

int t_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    cr_assert_not_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

int t_memfd(size_t size)
{
    int fd = memfd_create("t-guest", MFD_CLOEXEC);

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    return fd;
}

int t_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC);

    cr_assert_geq(fd, 0);
    return fd;
}
