/*
 * virtio-rng requests on real split rings in a fake guest memory (device-procs' virtq code
 * validates every chain): the source is a pipe (data, nothing yet, end), a regular file or an fd
 * that cannot be read. Every pass is bounded; a failing source completes requests with 0 bytes
 * and the ring keeps moving; a source with nothing yet keeps the request until it has.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device-procs/devmem.h"
#include "rngd/rng.h"

#define GPA  0x100000ull
#define UVA  0x7f0000000000ull
#define SIZE 0x400000ull /* 4 MiB: rings at 0, buffers from BUFS */
#define NUM  128u
#define BUFS 0x10000ull
#define SLOT 0x10000ull /* 64 KiB per buffer slot */

static uint8_t *mem;
static struct devmem dm;
static struct virtq vq;
static struct rng_dev rng;
static uint16_t next_desc;
static int pfd[2] = { -1, -1 };

static struct vring_desc *descs(void)
{
    return (struct vring_desc *)mem;
}

static struct vring_avail *avail(void)
{
    return (struct vring_avail *)(mem + 0x1000);
}

static struct vring_used *used(void)
{
    return (struct vring_used *)(mem + 0x2000);
}

static void setup(void)
{
    mem = aligned_alloc(4096, SIZE);
    cr_assert_not_null(mem);
    memset(mem, 0, SIZE);
    devmem_init(&dm);
    cr_assert_eq(devmem_add_host(&dm, GPA, UVA, mem, SIZE), 0);
    virtq_init(&vq, 0);
    vq.num = NUM;
    cr_assert_eq(virtq_map(&vq, &dm, UVA, UVA + 0x1000, UVA + 0x2000), 0);
    virtq_prepare(&vq);
    next_desc = 0;
    cr_assert_eq(rng_init(&rng), 0);
    rng.vq = &vq;
    cr_assert_eq(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), 0);
    rng.src_fd = pfd[0];
}

static void teardown(void)
{
    rng_destroy(&rng);
    for (int i = 0; i < 2; i++)
        if (pfd[i] >= 0)
            close(pfd[i]);
    pfd[0] = pfd[1] = -1;
    free(mem);
}

static void publish(uint16_t head)
{
    struct vring_avail *a = avail();

    a->ring[a->idx % NUM] = head;
    __atomic_store_n(&a->idx, (uint16_t)(a->idx + 1), __ATOMIC_RELEASE);
}

/* A one-descriptor request of len bytes at guest address gpa. */
static uint16_t post_at(uint64_t gpa, uint32_t len, uint16_t flags)
{
    uint16_t i = next_desc++ % NUM;

    descs()[i] = (struct vring_desc){ .addr = gpa, .len = len, .flags = flags };
    publish(i);
    return i;
}

static uint16_t post(unsigned slot, uint32_t len)
{
    return post_at(GPA + BUFS + slot * SLOT, len, VRING_DESC_F_WRITE);
}

static uint8_t *slot_ptr(unsigned slot)
{
    return mem + BUFS + slot * SLOT;
}

static uint16_t used_idx(void)
{
    return __atomic_load_n(&used()->idx, __ATOMIC_ACQUIRE);
}

static struct vring_used_elem used_elem(uint16_t i)
{
    return used()->ring[i % NUM];
}

static void feed(const void *b, size_t n)
{
    cr_assert_eq(write(pfd[1], b, n), (ssize_t)n);
}

TestSuite(rng, .init = setup, .fini = teardown);

Test(rng, fills_a_request_from_the_source)
{
    uint8_t want[48];

    for (unsigned i = 0; i < sizeof(want); i++)
        want[i] = (uint8_t)(i * 7 + 1);
    feed(want, sizeof(want));
    post(0, 32);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_IDLE);
    cr_assert_eq(used_idx(), 1);
    cr_assert_eq(used_elem(0).id, 0);
    cr_assert_eq(used_elem(0).len, 32);
    cr_assert_eq(memcmp(slot_ptr(0), want, 32), 0);
    /* the rest stays in the source for the next request */
    post(1, 32);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_IDLE);
    cr_assert_eq(used_elem(1).len, 16);
    cr_assert_eq(memcmp(slot_ptr(1), want + 32, 16), 0);
    cr_assert_eq(rng.st.requests, 2);
    cr_assert_eq(rng.st.bytes, 48);
}

Test(rng, chained_buffers_are_filled_in_order)
{
    uint8_t want[24];
    uint16_t h = next_desc;

    memset(want, 0xa5, 8);
    memset(want + 8, 0x5a, 16);
    feed(want, sizeof(want));
    descs()[h] = (struct vring_desc){ .addr = GPA + BUFS,
                                      .len = 8,
                                      .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
                                      .next = (uint16_t)(h + 1) };
    descs()[h + 1] =
        (struct vring_desc){ .addr = GPA + BUFS + SLOT, .len = 16, .flags = VRING_DESC_F_WRITE };
    next_desc = (uint16_t)(h + 2);
    publish(h);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_IDLE);
    cr_assert_eq(used_elem(0).len, 24);
    cr_assert_eq(memcmp(slot_ptr(0), want, 8), 0);
    cr_assert_eq(memcmp(slot_ptr(1), want + 8, 16), 0);
}

Test(rng, a_source_with_nothing_yet_keeps_the_request)
{
    uint8_t b[16] = { 1, 2, 3 };

    post(0, 16);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_WAIT_SRC);
    cr_assert_eq(used_idx(), 0, "completed although the source had nothing");
    cr_assert_eq(rng.st.src_waits, 1);
    feed(b, sizeof(b));
    cr_assert_eq(rng_pass(&rng), RNG_PASS_IDLE);
    cr_assert_eq(used_idx(), 1);
    cr_assert_eq(used_elem(0).len, 16);
    cr_assert_eq(memcmp(slot_ptr(0), b, 16), 0);
}

Test(rng, the_end_of_the_source_completes_with_zero_bytes_and_keeps_serving)
{
    close(pfd[1]);
    pfd[1] = -1;
    for (unsigned i = 0; i < 5; i++)
        post(i, 32);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_IDLE);
    cr_assert_eq(used_idx(), 5);
    for (uint16_t i = 0; i < 5; i++)
        cr_expect_eq(used_elem(i).len, 0);
    cr_assert_eq(rng.st.src_errors, 5);
    cr_assert_eq(rng.st.empty, 5);
    /* rate-limited: one line, the others counted */
    cr_assert_eq(rng.log_dropped, 4);
}

Test(rng, a_source_that_cannot_be_read_completes_with_zero_bytes)
{
    close(pfd[0]);
    pfd[0] = -1;
    rng.src_fd = pfd[1]; /* the write end: read() fails with EBADF */
    post(0, 32);
    post(1, 32);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_IDLE);
    cr_assert_eq(used_idx(), 2);
    cr_assert_eq(used_elem(0).len, 0);
    cr_assert_eq(used_elem(1).len, 0);
    cr_assert_eq(rng.st.src_errors, 2);
}

Test(rng, a_regular_file_source_is_read_to_its_end)
{
    char path[] = "/tmp/cellvm-rng-src-XXXXXX";
    int fd = mkstemp(path);
    uint8_t b[40];

    cr_assert_geq(fd, 0);
    unlink(path);
    memset(b, 0x3c, sizeof(b));
    cr_assert_eq(write(fd, b, sizeof(b)), (ssize_t)sizeof(b));
    cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
    rng.src_fd = fd;
    post(0, 32);
    post(1, 32);
    post(2, 32);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_IDLE);
    cr_assert_eq(used_elem(0).len, 32);
    cr_assert_eq(used_elem(1).len, 8);
    cr_assert_eq(used_elem(2).len, 0);
    cr_assert_eq(rng.st.src_errors, 1);
    close(fd);
}

Test(rng, urandom_fills_large_requests_up_to_the_request_bound)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    uint8_t zero[256] = { 0 };

    cr_assert_geq(fd, 0);
    rng.src_fd = fd;
    /* 128 KiB in one descriptor: capped at RNG_MAX_REQ_BYTES */
    post(0, 2 * RNG_MAX_REQ_BYTES);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_IDLE);
    cr_assert_eq(used_elem(0).len, RNG_MAX_REQ_BYTES);
    cr_assert_neq(memcmp(slot_ptr(0) + RNG_MAX_REQ_BYTES - sizeof(zero), zero, sizeof(zero)), 0);
    close(fd);
}

Test(rng, a_pass_stops_at_its_byte_budget)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    unsigned per = RNG_MAX_PASS_BYTES / RNG_MAX_REQ_BYTES;

    cr_assert_geq(fd, 0);
    rng.src_fd = fd;
    for (unsigned i = 0; i < per + 2; i++)
        post(i, RNG_MAX_REQ_BYTES);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_MORE);
    cr_assert_eq(used_idx(), per);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_IDLE);
    cr_assert_eq(used_idx(), per + 2);
    close(fd);
}

Test(rng, a_pass_stops_at_its_request_budget)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    cr_assert_geq(fd, 0);
    rng.src_fd = fd;
    for (unsigned i = 0; i < RNG_MAX_PASS_REQS + 10; i++)
        post(i % 32, 16);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_MORE);
    cr_assert_eq(used_idx(), RNG_MAX_PASS_REQS);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_IDLE);
    cr_assert_eq(used_idx(), RNG_MAX_PASS_REQS + 10);
    close(fd);
}

Test(rng, a_request_without_writable_buffers_gets_zero_bytes)
{
    uint8_t b[8] = { 9 };

    feed(b, sizeof(b));
    post_at(GPA + BUFS, 16, 0); /* driver-readable only */
    cr_assert_eq(rng_pass(&rng), RNG_PASS_IDLE);
    cr_assert_eq(used_idx(), 1);
    cr_assert_eq(used_elem(0).len, 0);
    cr_assert_eq(rng.st.empty, 1);
    cr_assert_eq(rng.st.src_errors, 0, "nothing was read, so nothing failed");
}

Test(rng, a_buffer_outside_guest_memory_breaks_the_ring)
{
    uint8_t b[8] = { 9 };

    feed(b, sizeof(b));
    post_at(GPA + SIZE - 4, 16, VRING_DESC_F_WRITE); /* runs past the end of RAM */
    cr_assert_eq(rng_pass(&rng), RNG_PASS_BROKEN);
    cr_assert_eq(used_idx(), 0);
    cr_assert_neq(vq.broken, 0);
    /* and it stays broken: nothing more is touched */
    post(0, 8);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_BROKEN);
    cr_assert_eq(used_idx(), 0);
}

Test(rng, a_descriptor_loop_breaks_the_ring)
{
    uint16_t h = next_desc;

    descs()[h] = (struct vring_desc){
        .addr = GPA + BUFS, .len = 8, .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, .next = h
    };
    next_desc++;
    publish(h);
    cr_assert_eq(rng_pass(&rng), RNG_PASS_BROKEN);
    cr_assert_eq(used_idx(), 0);
}

Test(rng, fill_stops_at_max_and_at_a_short_read)
{
    uint8_t a[8], b[8], src[12];
    struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
    int err;

    memset(src, 0x11, sizeof(src));
    feed(src, sizeof(src));
    cr_assert_eq(rng_fill(pfd[0], iov, 2, 10, &err), 10);
    cr_assert_eq(err, 0);
    /* 2 bytes left in the pipe: a short read ends the fill without an error */
    cr_assert_eq(rng_fill(pfd[0], iov, 2, 16, &err), 2);
    cr_assert_eq(err, 0);
    cr_assert_eq(rng_fill(pfd[0], iov, 2, 16, &err), 0);
    cr_assert_eq(err, -EAGAIN);
}
