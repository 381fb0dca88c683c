#include "core/controller/respawn.h"

bool respawn_budget_take(struct respawn *rs, uint64_t now_ms)
{
    uint64_t *oldest = &rs->when_ms[rs->count % RESPAWN_BURST];

    if (rs->count >= RESPAWN_BURST && now_ms - *oldest < RESPAWN_INTERVAL_S * 1000u)
        return false;
    *oldest = now_ms;
    rs->count++;
    return true;
}
