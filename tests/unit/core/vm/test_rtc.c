#include <criterion/criterion.h>

#include "core/vm/rtc.h"

/* 2024-02-29 13:05:09 UTC, a Thursday. */
static time_t fixed_now(void *opaque)
{
    (void)opaque;
    return 1709211909;
}

static uint8_t reg(struct rtc *r, uint8_t idx)
{
    rtc_write(r, 0, idx);
    return rtc_read(r, 1);
}

static void set_reg(struct rtc *r, uint8_t idx, uint8_t v)
{
    rtc_write(r, 0, idx);
    rtc_write(r, 1, v);
}

Test(rtc, bcd)
{
    cr_assert_eq(rtc_to_bcd(0), 0x00);
    cr_assert_eq(rtc_to_bcd(9), 0x09);
    cr_assert_eq(rtc_to_bcd(10), 0x10);
    cr_assert_eq(rtc_to_bcd(59), 0x59);
    cr_assert_eq(rtc_to_bcd(99), 0x99);
}

Test(rtc, time_in_bcd_24h)
{
    struct rtc r;

    cr_assert_eq(rtc_init(&r, fixed_now, NULL), 0);
    cr_assert_eq(reg(&r, 0x0b), 0x02);
    cr_assert_eq(reg(&r, 0x00), 0x09);
    cr_assert_eq(reg(&r, 0x02), 0x05);
    cr_assert_eq(reg(&r, 0x04), 0x13);
    cr_assert_eq(reg(&r, 0x06), 0x05, "Thursday is day 5");
    cr_assert_eq(reg(&r, 0x07), 0x29);
    cr_assert_eq(reg(&r, 0x08), 0x02);
    cr_assert_eq(reg(&r, 0x09), 0x24);
    cr_assert_eq(reg(&r, 0x32), 0x20);
    rtc_destroy(&r);
}

Test(rtc, binary_and_12h)
{
    struct rtc r;

    cr_assert_eq(rtc_init(&r, fixed_now, NULL), 0);
    set_reg(&r, 0x0b, 0x04); /* binary, 12-hour */
    cr_assert_eq(reg(&r, 0x00), 9);
    cr_assert_eq(reg(&r, 0x04), 0x80 | 1, "1 PM");
    cr_assert_eq(reg(&r, 0x09), 24);
    set_reg(&r, 0x0b, 0x00); /* BCD, 12-hour */
    cr_assert_eq(reg(&r, 0x04), 0x81);
    set_reg(&r, 0x0b, 0xff);
    cr_assert_eq(reg(&r, 0x0b), 0x86, "only SET, binary and 24h stick");
    rtc_destroy(&r);
}

Test(rtc, status_and_nvram)
{
    struct rtc r;

    cr_assert_eq(rtc_init(&r, fixed_now, NULL), 0);
    cr_assert_eq(reg(&r, 0x0a) & 0x80, 0, "no update in progress");
    cr_assert_eq(reg(&r, 0x0c), 0);
    cr_assert_eq(reg(&r, 0x0d), 0x80);
    set_reg(&r, 0x0d, 0);
    cr_assert_eq(reg(&r, 0x0d), 0x80, "status D is read-only");
    set_reg(&r, 0x00, 0x42);
    cr_assert_eq(reg(&r, 0x00), 0x09, "time writes are ignored");
    set_reg(&r, 0x7f, 0x5a);
    cr_assert_eq(reg(&r, 0x7f), 0x5a);
    rtc_write(&r, 0, 0x80 | 0x7f);
    cr_assert_eq(rtc_read(&r, 0), 0x7f, "NMI bit is not part of the index");
    cr_assert_eq(rtc_read(&r, 1), 0x5a);
    rtc_destroy(&r);
}
