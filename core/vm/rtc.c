#include "core/vm/rtc.h"

#include <string.h>

enum {
    CMOS_SECONDS = 0x00,
    CMOS_MINUTES = 0x02,
    CMOS_HOURS = 0x04,
    CMOS_WEEKDAY = 0x06,
    CMOS_DAY = 0x07,
    CMOS_MONTH = 0x08,
    CMOS_YEAR = 0x09,
    CMOS_STATUS_A = 0x0a,
    CMOS_STATUS_B = 0x0b,
    CMOS_STATUS_C = 0x0c,
    CMOS_STATUS_D = 0x0d,
    CMOS_CENTURY = 0x32,
};

#define STATUS_B_24H    0x02
#define STATUS_B_BINARY 0x04
#define STATUS_B_SET    0x80
#define STATUS_D_VRT    0x80 /* valid RAM and time: the battery is fine */
#define HOUR_PM         0x80

uint8_t rtc_to_bcd(unsigned int v)
{
    return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

static time_t host_now(void *opaque)
{
    struct timespec ts;

    (void)opaque;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

int rtc_init(struct rtc *r, time_t (*now)(void *opaque), void *now_opaque)
{
    int e;

    memset(r, 0, sizeof(*r));
    r->now = now ? now : host_now;
    r->now_opaque = now_opaque;
    /* 32.768 kHz time base, 1024 Hz periodic rate: what Linux and firmware expect to find. */
    r->nvram[CMOS_STATUS_A] = 0x26;
    r->nvram[CMOS_STATUS_B] = STATUS_B_24H;
    r->nvram[CMOS_STATUS_D] = STATUS_D_VRT;
    e = pthread_mutex_init(&r->lock, NULL);
    return -e;
}

void rtc_destroy(struct rtc *r)
{
    pthread_mutex_destroy(&r->lock);
}

static uint8_t encode(const struct rtc *r, unsigned int v)
{
    return (r->nvram[CMOS_STATUS_B] & STATUS_B_BINARY) ? (uint8_t)v : rtc_to_bcd(v);
}

static uint8_t encode_hour(const struct rtc *r, unsigned int h)
{
    unsigned int h12;

    if (r->nvram[CMOS_STATUS_B] & STATUS_B_24H)
        return encode(r, h);
    h12 = h % 12 ? h % 12 : 12;
    return encode(r, h12) | (h >= 12 ? HOUR_PM : 0);
}

static uint8_t read_reg(struct rtc *r, uint8_t idx)
{
    time_t t;
    struct tm tm;

    switch (idx) {
    case CMOS_SECONDS:
    case CMOS_MINUTES:
    case CMOS_HOURS:
    case CMOS_WEEKDAY:
    case CMOS_DAY:
    case CMOS_MONTH:
    case CMOS_YEAR:
    case CMOS_CENTURY:
        break;
    case CMOS_STATUS_A:
        /* Update-in-progress never set: every read sees a consistent snapshot. */
        return r->nvram[idx] & 0x7f;
    case CMOS_STATUS_C:
        return 0;
    default:
        return r->nvram[idx];
    }
    t = r->now(r->now_opaque);
    if (!gmtime_r(&t, &tm))
        return 0;
    switch (idx) {
    case CMOS_SECONDS:
        return encode(r, (unsigned int)tm.tm_sec);
    case CMOS_MINUTES:
        return encode(r, (unsigned int)tm.tm_min);
    case CMOS_HOURS:
        return encode_hour(r, (unsigned int)tm.tm_hour);
    case CMOS_WEEKDAY:
        return encode(r, (unsigned int)tm.tm_wday + 1);
    case CMOS_DAY:
        return encode(r, (unsigned int)tm.tm_mday);
    case CMOS_MONTH:
        return encode(r, (unsigned int)tm.tm_mon + 1);
    case CMOS_YEAR:
        return encode(r, (unsigned int)(tm.tm_year % 100));
    default: /* CMOS_CENTURY */
        return encode(r, (unsigned int)((tm.tm_year + 1900) / 100));
    }
}

static void write_reg(struct rtc *r, uint8_t idx, uint8_t val)
{
    switch (idx) {
    case CMOS_SECONDS:
    case CMOS_MINUTES:
    case CMOS_HOURS:
    case CMOS_WEEKDAY:
    case CMOS_DAY:
    case CMOS_MONTH:
    case CMOS_YEAR:
    case CMOS_CENTURY:
    case CMOS_STATUS_C:
    case CMOS_STATUS_D:
        break;
    case CMOS_STATUS_B:
        /* Keep only the format bits; interrupt enables have nothing behind them. */
        r->nvram[idx] = val & (STATUS_B_24H | STATUS_B_BINARY | STATUS_B_SET);
        break;
    default:
        r->nvram[idx] = val;
        break;
    }
}

uint8_t rtc_read(struct rtc *r, uint8_t port_off)
{
    uint8_t v;

    pthread_mutex_lock(&r->lock);
    v = port_off == 0 ? r->index : read_reg(r, r->index);
    pthread_mutex_unlock(&r->lock);
    return v;
}

void rtc_write(struct rtc *r, uint8_t port_off, uint8_t val)
{
    pthread_mutex_lock(&r->lock);
    if (port_off == 0)
        r->index = val & 0x7f; /* bit 7 is the NMI mask, not part of the index */
    else
        write_reg(r, r->index, val);
    pthread_mutex_unlock(&r->lock);
}

static void bus_rtc_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    if (len == 1 && off < 2)
        *val = rtc_read(opaque, (uint8_t)off);
}

static void bus_rtc_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    if (len == 1 && off < 2)
        rtc_write(opaque, (uint8_t)off, (uint8_t)val);
}

const struct bus_ops rtc_bus_ops = {
    .read = bus_rtc_read,
    .write = bus_rtc_write,
};
