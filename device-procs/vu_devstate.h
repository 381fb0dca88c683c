#ifndef CELLVM_DEVICE_PROCS_VU_DEVSTATE_H
#define CELLVM_DEVICE_PROCS_VU_DEVSTATE_H

/*
 * vhost-user DEVICE_STATE (protocol feature 19, issue 18) in the backend runtime: the blob a
 * device's save_state produces, framed so that a load can tell a blob of its own kind from a
 * truncated, edited or foreign one, and the transfer over the pipe the frontend hands in with
 * SET_DEVICE_STATE_FD. The transfer never blocks the loop: the fd is non-blocking, each pump
 * moves what the pipe takes or holds, the loop comes back when it is ready again.
 *
 * Blob (host byte order, the migration peers share an architecture):
 *   magic u32 "CVDS", version u16 (1), virtio device id u16, the acked virtio features the
 *   device runs with u64 (without bit 30 and LOG_ALL, which a migration's source has on),
 *   payload length u32, CRC-32 of the payload u32, then the device's payload.
 */

#include <stddef.h>
#include <stdint.h>

#define VU_DEVSTATE_MAGIC   0x53445643u /* "CVDS" as bytes */
#define VU_DEVSTATE_VERSION 1u
#define VU_DEVSTATE_HDR     24u
#define VU_DEVSTATE_MAX     (1u << 20) /* a whole blob, header included */

/* CRC-32 (IEEE 802.3, as zlib's crc32) of len bytes. */
uint32_t vu_devstate_crc32(const uint8_t *p, size_t len);

/* Writes the header for a payload of len bytes already at buf + VU_DEVSTATE_HDR. */
void vu_devstate_seal(uint8_t *buf, uint16_t virtio_id, uint64_t features, uint32_t len);

/*
 * Checks a blob of len bytes for a device of virtio_id whose frontend acked features: 0 with
 * the payload's place in *payload and *plen, or -EINVAL with a printable reason in why
 * (truncated, not a device state, another version or device, other features, corrupt).
 */
int vu_devstate_open(const uint8_t *buf, size_t len, uint16_t virtio_id, uint64_t features,
                     const uint8_t **payload, uint32_t *plen, const char **why);

#endif
