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
    SBX_ALLOW1(recvfrom, SBX_ARG(4, SCMP_CMP_EQ, 0, 0),
               "recv(): the rest of a vhost-user message after its header"),
    SBX_ALLOW(pread64, "QCOW2 metadata and the synchronous fallback path"),
    SBX_ALLOW(pwrite64, "QCOW2 metadata updates"),
    SBX_ALLOW(preadv, "synchronous reads into guest buffers"),
    SBX_ALLOW(pwritev, "synchronous writes from guest buffers"),
    SBX_ALLOW(fdatasync, "VIRTIO_BLK_T_FLUSH"),
    SBX_ALLOW(fsync, "VIRTIO_BLK_T_FLUSH on images opened without O_DSYNC"),
    SBX_ALLOW(fallocate, "DISCARD and WRITE_ZEROES punch or zero ranges"),
    SBX_ALLOW(lseek, "image size (SEEK_END), SEEK_DATA/SEEK_HOLE"),
    SBX_ALLOW(ftruncate, "sizing the inflight memfd; QCOW2 image growth"),
    SBX_ALLOW1(fcntl, SBX_ARG(1, SCMP_CMP_EQ, F_OFD_SETLK, 0),
               "QEMU-compatible image locks, released at exit (imglock.c)"),
    SBX_IOCTL(BLKGETSIZE64, "capacity of a block-device image"),
    SBX_IOCTL(BLKSSZGET, "logical block size of a block-device image"),
    SBX_IOCTL(BLKDISCARD, "DISCARD on a block-device image"),
    SBX_IOCTL(BLKZEROOUT, "WRITE_ZEROES on a block-device image"),
    SBX_ERRNO(openat, ENOENT, "every file is handed in; library probes fail softly"),
    SBX_ERRNO(open, ENOENT, "every file is handed in; library probes fail softly"),
};

const struct sbx_rule_table sbx_rules_blockd = { blockd, sizeof(blockd) / sizeof(blockd[0]) };
