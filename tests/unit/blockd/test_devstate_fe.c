/*
 * cellvm-blockd's DEVICE_STATE (issue 18) through a real socket: a disk whose guest turned the
 * write cache off and wrote to it is stopped (GET_VRING_BASE) and saved; a second process on
 * the same image loads the state and shows the write cache off again, before any ring runs.
 * A state for another disk size, truncated or corrupt, is refused by CHECK_DEVICE_STATE and
 * the process goes on serving.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "device-procs/vu_devstate.h"
#include "fe_util.h"

#define WCE_OFF   offsetof(struct virtio_blk_config, wce)
#define STATS_LEN 80 /* one queue's blk_stats: read and write, 5 u64 each */

static struct fe_daemon a, b;

static void setup(void)
{
    fe_init(&a);
    fe_init(&b);
}

static void teardown(void)
{
    fe_fini(&a);
    fe_fini(&b);
}

TestSuite(blockd_devstate, .init = setup, .fini = teardown, .timeout = 60);

static uint8_t wce(struct fe_daemon *d)
{
    uint8_t v = 0xff;

    cr_assert_eq(vu_fe_get_config(&d->fe, WCE_OFF, &v, 1), 0);
    return v;
}

Test(blockd_devstate, write_cache_and_counters_move_to_a_new_process)
{
    char img[128], spec[160];
    uint8_t *blob = NULL, *bad;
    const uint8_t *payload;
    const char *why = NULL;
    uint32_t plen;
    uint64_t wr_ops, size, f;
    uint16_t base;
    uint8_t off = 0;
    size_t len;
    FILE *fp;

    snprintf(img, sizeof(img), "%s/disk.img", a.dir);
    fp = fopen(img, "w");
    cr_assert_not_null(fp);
    cr_assert_eq(ftruncate(fileno(fp), 1 << 20), 0);
    fclose(fp);
    snprintf(spec, sizeof(spec), "path=%s", img);
    cr_assert_eq(fe_start(&a, spec, false), 0);
    fe_connect(&a, 1);
    cr_assert(vu_fe_has_device_state(&a.fe), "cellvm-blockd offers DEVICE_STATE");
    cr_assert_eq(wce(&a), 1, "writeback by default");
    cr_assert_eq(vu_fe_set_config(&a.fe, WCE_OFF, &off, 1, VHOST_USER_CONFIG_WRITABLE), 0);
    cr_assert_eq(wce(&a), 0);
    memset(fe_data(&a, 0, 0), 0xab, 4096);
    cr_assert_eq(fe_req(&a, VIRTIO_BLK_T_OUT, 8, 4096, false), VIRTIO_BLK_S_OK);

    /* Saving needs the ring stopped; GET_VRING_BASE does that, with nothing in flight. */
    cr_assert_eq(vu_fe_save_state(&a.fe, &blob, &len, VU_DEVSTATE_MAX), -EIO);
    cr_assert_eq(vu_fe_get_vring_base(&a.fe, 0, &base), 0);
    cr_assert_eq(base, 1);
    cr_assert_eq(vu_fe_save_state(&a.fe, &blob, &len, VU_DEVSTATE_MAX), 0);
    f = a.fe.features & ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    cr_assert_eq(vu_devstate_open(blob, len, 2, f, &payload, &plen, &why), 0, "%s", why);
    cr_assert_eq(plen, 16 + STATS_LEN);
    memcpy(&size, payload, 8);
    cr_assert_eq(size, 1 << 20);
    cr_assert_eq(payload[8], 0, "write cache off in the state");
    memcpy(&wr_ops, payload + 16 + 40, 8);
    cr_assert_eq(wr_ops, 1, "the write is counted");

    /* The first process goes (its image lock with it); a new one opens the same image. */
    kill(a.pid, SIGTERM);
    waitpid(a.pid, NULL, 0);
    a.pid = -1;
    cr_assert_eq(fe_start(&b, spec, false), 0);
    fe_connect(&b, 0);
    cr_assert_eq(wce(&b), 1, "a new process starts in writeback");

    /* Refused: truncated, corrupt, another disk size (framing redone so the device judges). */
    bad = malloc(len);
    cr_assert_not_null(bad);
    cr_assert_eq(vu_fe_load_state(&b.fe, blob, len - 3), -EIO);
    memcpy(bad, blob, len);
    bad[VU_DEVSTATE_HDR + 20] ^= 4;
    cr_assert_eq(vu_fe_load_state(&b.fe, bad, len), -EIO);
    memcpy(bad, blob, len);
    size = 2 << 20;
    memcpy(bad + VU_DEVSTATE_HDR, &size, 8);
    vu_devstate_seal(bad, 2, f, plen);
    cr_assert_eq(vu_fe_load_state(&b.fe, bad, len), -EIO);
    cr_assert(fe_log_has(&b, "device state of a 2097152-byte disk, the image has 1048576"));
    cr_assert_eq(wce(&b), 1, "nothing refused was applied");

    cr_assert_eq(vu_fe_load_state(&b.fe, blob, len), 0);
    cr_assert_eq(wce(&b), 0, "the guest's write-cache choice came back");
    cr_assert(fe_log_has(&b, "state loaded: write cache writethrough"));
    free(bad);
    free(blob);
}
