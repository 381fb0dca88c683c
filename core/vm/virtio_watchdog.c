#include "core/vm/virtio_watchdog.h"

#include <string.h>

void wdt_reset(struct wdt *w)
{
    memset(w, 0, sizeof(*w));
}

bool wdt_ping(struct wdt *w, int64_t now)
{
    bool first = !w->armed;

    if (first)
        w->next_check_ms = now + WDT_INTERVAL_MS;
    w->armed = true;
    w->last_ping_ms = now;
    return first;
}

int64_t wdt_tick(struct wdt *w, int64_t now, bool *fire, int64_t *gap_s)
{
    *fire = false;
    *gap_s = 0;
    if (!w->armed || w->paused)
        return -1;
    if (now < w->next_check_ms)
        return w->next_check_ms - now;
    *gap_s = (now - w->last_ping_ms) / 1000;
    if (*gap_s > WDT_TIMEOUT_S) {
        *fire = true;
        w->armed = false;
        return -1;
    }
    /* A periodic timer: a late check (a busy thread) does not shift the ones after it, and a
     * very late one does not run the missed ones in a burst. */
    w->next_check_ms += ((now - w->next_check_ms) / WDT_INTERVAL_MS + 1) * WDT_INTERVAL_MS;
    return w->next_check_ms - now;
}

void wdt_pause(struct wdt *w, int64_t now)
{
    if (!w->paused)
        w->paused_ms = now;
    w->paused = true;
}

void wdt_resume(struct wdt *w, int64_t now)
{
    w->paused = false;
    if (!w->armed)
        return;
    w->last_ping_ms = now;
    w->next_check_ms = now + WDT_INTERVAL_MS;
}

static uint32_t clamp(int64_t v, uint32_t max)
{
    return v < 0 ? 0 : v > (int64_t)max ? max : (uint32_t)v;
}

void wdt_save(const struct wdt *w, uint32_t max_ms, bool *armed, uint32_t *since_ping_ms,
              uint32_t *to_check_ms)
{
    *armed = w->armed;
    *since_ping_ms = w->armed ? clamp(w->paused_ms - w->last_ping_ms, max_ms) : 0;
    *to_check_ms = w->armed ? clamp(w->next_check_ms - w->paused_ms, max_ms) : 0;
}

void wdt_load(struct wdt *w, int64_t now, bool armed, uint32_t since_ping_ms, uint32_t to_check_ms)
{
    wdt_reset(w);
    w->paused = true;
    w->paused_ms = now;
    w->armed = armed;
    if (armed) {
        w->last_ping_ms = now - since_ping_ms;
        w->next_check_ms = now + to_check_ms;
    }
}

size_t wdt_answer(uint8_t *out)
{
    out[0] = 1;
    return WDT_RESP_SIZE;
}
