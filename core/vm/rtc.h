#ifndef CELLVM_CORE_VM_RTC_H
#define CELLVM_CORE_VM_RTC_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "core/vm/bus.h"

/*
 * MC146818 CMOS RTC as seen through ports 0x70 (index) and 0x71 (data). Time registers are
 * computed from the host clock on every read, in BCD or binary and 12/24-hour form as status
 * register B asks; the guest's writes to them are ignored (the host clock is authoritative).
 * No interrupts: status C always reads 0. The rest of the 128 bytes is plain NVRAM, which
 * survives guest reboots like the battery-backed original.
 */

#define RTC_NVRAM_SIZE 128

struct rtc {
    pthread_mutex_t lock;
    uint8_t index;
    uint8_t nvram[RTC_NVRAM_SIZE];
    /* Host clock source; tests substitute a fixed time. */
    time_t (*now)(void *opaque);
    void *now_opaque;
};

/* now == NULL uses CLOCK_REALTIME. */
int rtc_init(struct rtc *r, time_t (*now)(void *opaque), void *now_opaque);
void rtc_destroy(struct rtc *r);

uint8_t rtc_read(struct rtc *r, uint8_t port_off);
void rtc_write(struct rtc *r, uint8_t port_off, uint8_t val);

/* 0..99 to packed BCD. */
uint8_t rtc_to_bcd(unsigned int v);

extern const struct bus_ops rtc_bus_ops;

#endif
