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

void wdt_pause(struct wdt *w)
{
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

size_t wdt_answer(uint8_t *out)
{
    out[0] = 1;
    return WDT_RESP_SIZE;
}
