#ifndef CELLVM_CORE_VM_VIRTIO_PMEM_H
#define CELLVM_CORE_VM_VIRTIO_PMEM_H

#include <stddef.h>
#include <stdint.h>

/*
 * The virtio-pmem device model (virtio 1.2, 5.19), without transport: its config (where the
 * region sits in guest-physical space and how long it is) and the answer to each request of its
 * one queue. There is no data path: the guest reads and writes the mapped file directly; a
 * request only asks for the file to be made durable (FLUSH).
 */

#define PMEM_VIRTIO_ID   27
#define PMEM_ALIGN       (2ull << 20) /* start and size, as Cloud Hypervisor */
#define PMEM_CONFIG_SIZE 16
#define PMEM_REQ_SIZE    4
#define PMEM_RESP_SIZE   4

enum pmem_req_type { PMEM_REQ_FLUSH = 0 };
enum pmem_resp { PMEM_RESP_OK = 0, PMEM_RESP_EIO = 1 };

/* Makes the backing file durable; 0 or -errno. */
typedef int (*pmem_flush_fn)(void *arg);

/* The config block as the driver reads it: le64 start, le64 size. */
void pmem_config(uint64_t start, uint64_t size, uint8_t out[PMEM_CONFIG_SIZE]);

/*
 * One request (in: what the driver's readable descriptors held, len bytes) answered in out
 * (PMEM_RESP_SIZE bytes, le32). FLUSH calls flush once and answers OK when it succeeded; a
 * request shorter than PMEM_REQ_SIZE or of another type is answered EIO without a flush.
 */
void pmem_request(const uint8_t *in, size_t len, pmem_flush_fn flush, void *arg,
                  uint8_t out[PMEM_RESP_SIZE]);

#endif
