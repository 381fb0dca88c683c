#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <linux/fs.h>
#include <sys/socket.h>

#include "sandbox/profile_rules.h"

/*
 * A vhost-user-blk backend on io_uring: guest memory arrives as fds (SET_MEM_TABLE, ADD_MEM_REG)
 * and is mapped shared, never executable (the base's mmap rule); kick and call eventfds arrive
 * the same way; the image and its backing chain are open before the jail. Opening anything is
 * answered with ENOENT rather than a kill, so a library probing a file fails softly.
 */
static const struct sbx_rule blockd[] = {
    SBX_ALLOW(io_uring_setup, "one ring per queue thread, created disabled (sandbox/uring_sys.c)"),
    SBX_ALLOW(io_uring_enter, "submit and reap; the ring's restrictions bound the opcodes"),
    SBX_ALLOW(io_uring_register, "fixed files and restrictions before the ring is enabled"),
    SBX_ALLOW(eventfd2, "queue-thread stop signals"),
    SBX_ALLOW(epoll_create1, "libevent control loop"),
    SBX_ALLOW(epoll_ctl, "libevent control loop"),
    SBX_ALLOW(epoll_wait, "libevent control loop"),
    SBX_ALLOW(epoll_pwait, "libevent control loop"),
    SBX_ALLOW1(pipe2, SBX_ARG(1, SCMP_CMP_MASKED_EQ, (uint32_t) ~(O_CLOEXEC | O_NONBLOCK), 0),
               "libevent's signal pipe, made when the loop starts after the jail"),
    SBX_ALLOW(getuid, "libevent checks for set-uid execution when it reads its environment"),
    SBX_ALLOW(geteuid, "libevent checks for set-uid execution when it reads its environment"),
    SBX_ALLOW(getgid, "libevent checks for set-gid execution when it reads its environment"),
    SBX_ALLOW(getegid, "libevent checks for set-gid execution when it reads its environment"),
    SBX_ALLOW(accept4, "--socket-path: the next frontend after a disconnect"),
    SBX_ALLOW1(recvfrom, SBX_ARG(4, SCMP_CMP_EQ, 0, 0),
               "recv(): the rest of a vhost-user message after its header"),
    SBX_ALLOW2(setsockopt, SBX_ARG(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
               SBX_ARG(2, SCMP_CMP_EQ, SO_RCVTIMEO, 0),
               "a frontend that stalls mid-message times out instead of hanging the loop"),
    SBX_ALLOW1(getrusage, SBX_ARG(0, SCMP_CMP_EQ, 0 /* RUSAGE_SELF */, 0),
               "CPU time in the controller's Stats"),
    SBX_ALLOW(pread64, "QCOW2 metadata and the synchronous fallback path"),
    SBX_ALLOW(pwrite64, "QCOW2 metadata updates"),
    SBX_ALLOW(preadv, "synchronous reads into guest buffers"),
    SBX_ALLOW(pwritev, "synchronous writes from guest buffers"),
    SBX_ALLOW(fdatasync, "VIRTIO_BLK_T_FLUSH"),
    SBX_ALLOW(fsync, "VIRTIO_BLK_T_FLUSH on images opened without O_DSYNC"),
    SBX_ALLOW(fallocate, "DISCARD and WRITE_ZEROES punch or zero ranges"),
    SBX_ALLOW(lseek, "image size (SEEK_END), SEEK_DATA/SEEK_HOLE"),
    SBX_ALLOW(ftruncate, "sizing the inflight memfd; QCOW2 image growth"),
    SBX_ALLOW1(memfd_create,
               SBX_ARG(1, SCMP_CMP_MASKED_EQ, (uint32_t) ~(MFD_CLOEXEC | MFD_ALLOW_SEALING), 0),
               "GET_INFLIGHT_FD: the inflight buffer shared with the frontend"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GETFL, 0), "libevent: non-blocking sockets"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_SETFL, 0), "libevent: non-blocking sockets"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GETFD, 0), "libevent: close-on-exec check"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_SETFD, 0), "libevent: close-on-exec"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_OFD_SETLK, 0),
               "QEMU-compatible image locks, released at exit (imglock.c)"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_GET_SEALS, 0), "received memory must be sealed"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_ADD_SEALS, 0), "sealing the inflight memfd"),
    SBX_IOCTL(BLKGETSIZE64, "capacity of a block-device image"),
    SBX_IOCTL(BLKSSZGET, "logical block size of a block-device image"),
    SBX_IOCTL(BLKDISCARD, "DISCARD on a block-device image"),
    SBX_IOCTL(BLKZEROOUT, "WRITE_ZEROES on a block-device image"),
    SBX_ERRNO(openat, ENOENT, "every file is handed in; library probes fail softly"),
    SBX_ERRNO(open, ENOENT, "every file is handed in; library probes fail softly"),
};

const struct sbx_rule_table sbx_rules_blockd = { blockd, sizeof(blockd) / sizeof(blockd[0]) };
