/*
 * Feeds vfio-user messages to vfiod's server over a socketpair, with the unit tests' fake device
 * behind it. Input: one byte (bit 0: negotiate VERSION first), then records: {u8 kind}; kind
 * even: a message {u16 command, u8 header flags, u8 fd count, u16 size, size payload bytes}
 * whose fds are dups of a 1 MiB memfd (DMA_MAP) or eventfds (anything else); kind odd: raw bytes
 * {u16 size, bytes} written to the stream as they are, to break framing. The server answers each
 * message; the replies are drained and their fds closed. The run ends at the end of the stream
 * or when the server says it cannot continue, and the server is torn down as at a disconnect.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/fdsend.h"
#include "ipc/vfio_user.h"
#include "tests/unit/vfiod/fake_dev.h"
#include "vfiod/vfiod_server.h"

#define MEM_SIZE  (1u << 20)
#define MAX_FDS   20
#define MAX_INPUT (96u << 10) /* below the socket buffer: the server reads after it all */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *opaque, const char *line)
{
    (void)opaque;
    (void)line;
}

static void drain(int sock)
{
    struct pollfd p = { .fd = sock, .events = POLLIN };
    struct vfu_msg r;

    while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
        if (vfu_recv(sock, &r, VFU_MAX_MSG, VFU_MAX_FDS) != 1)
            return;
        vfu_msg_release(&r);
    }
}

static void send_all(int sock, const void *p, size_t len, const int *fds, unsigned nfds)
{
    struct iovec iov = { .iov_base = (void *)p, .iov_len = len };

    (void)ipc_sendv(sock, &iov, 1, fds, nfds);
}

static uint8_t msgbuf[sizeof(struct vfu_hdr) + 65536];

/* One record; returns the bytes it used, 0 at the end of the input. */
static size_t send_record(int sock, int mem_fd, const uint8_t *d, size_t left, uint16_t *id)
{
    struct vfu_hdr h = { 0 };
    int fds[MAX_FDS];
    unsigned nfds = 0;
    uint16_t len;

    if (left < 1)
        return 0;
    if (d[0] & 1) {
        if (left < 3)
            return 0;
        memcpy(&len, d + 1, 2);
        if (len > left - 3)
            len = (uint16_t)(left - 3);
        send_all(sock, d + 3, len, NULL, 0);
        return 3u + len;
    }
    if (left < 7)
        return 0;
    memcpy(&h.command, d + 1, 2);
    h.flags = d[3];
    nfds = d[4] % (MAX_FDS + 1);
    memcpy(&len, d + 5, 2);
    if (len > left - 7)
        len = (uint16_t)(left - 7);
    h.msg_id = (*id)++;
    h.size = (uint32_t)(sizeof(h) + len);
    for (unsigned i = 0; i < nfds; i++)
        fds[i] = h.command == VFU_CMD_DMA_MAP ? dup(mem_fd) : eventfd(0, EFD_CLOEXEC);
    memcpy(msgbuf, &h, sizeof(h));
    memcpy(msgbuf + sizeof(h), d + 7, len);
    send_all(sock, msgbuf, sizeof(h) + len, fds, nfds);
    for (unsigned i = 0; i < nfds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return 7u + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char json[] = "{\"capabilities\":{\"max_msg_fds\":16}}";
    static struct fake_dev dev;
    static struct vfiod_server s;
    uint16_t id = 1;
    int sv[2], mem_fd;
    size_t off = 1;

    if (size < 1 || fake_dev_init(&dev))
        return 0;
    mem_fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
    if (mem_fd < 0 || ftruncate(mem_fd, MEM_SIZE) ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        if (mem_fd >= 0)
            close(mem_fd);
        fake_dev_fini(&dev);
        return 0;
    }
    if (vfiod_server_init(&s, &fake_dev_ops, &dev) == 0) {
        vfiod_server_set_log(&s, quiet, NULL);
        if (data[0] & 1) {
            struct vfu_hdr h = { .msg_id = id++, .command = VFU_CMD_VERSION };
            uint8_t v[4 + sizeof(json)] = { 0, 0, 1, 0 };

            memcpy(v + 4, json, sizeof(json));
            vfu_send(sv[0], &h, v, sizeof(v), NULL, 0);
            vfiod_server_handle(&s, sv[1]);
            drain(sv[0]);
        }
        /* Everything goes in first and the stream is closed, so the server never waits. */
        for (int n = 0; n < 256 && off < size && off < MAX_INPUT; n++) {
            size_t used = send_record(sv[0], mem_fd, data + off, size - off, &id);

            if (!used)
                break;
            off += used;
        }
        shutdown(sv[0], SHUT_WR);
        for (int n = 0; n < 512 && vfiod_server_handle(&s, sv[1]) > 0; n++)
            drain(sv[0]);
        vfiod_server_destroy(&s);
    }
    close(sv[0]);
    close(sv[1]);
    close(mem_fd);
    fake_dev_fini(&dev);
    return 0;
}
