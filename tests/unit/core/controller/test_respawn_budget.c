/* The respawn budget (core/controller/respawn.h): RESPAWN_BURST restarts within
 * RESPAWN_INTERVAL_S seconds, as systemd's StartLimitBurst=5 in StartLimitIntervalSec=10. */
#include <criterion/criterion.h>

#include "core/controller/respawn.h"

Test(respawn_budget, five_restarts_fit_the_sixth_within_ten_seconds_does_not)
{
    struct respawn rs = { .core_sock = -1 };

    for (unsigned i = 0; i < RESPAWN_BURST; i++)
        cr_assert(respawn_budget_take(&rs, 1000 + i * 100), "restart %u", i + 1);
    cr_assert_not(respawn_budget_take(&rs, 1000 + 9999), "a sixth 9.999 s after the first");
    cr_assert_eq(rs.count, RESPAWN_BURST, "a refused restart is not recorded");
}

Test(respawn_budget, the_window_slides)
{
    struct respawn rs = { .core_sock = -1 };

    for (unsigned i = 0; i < RESPAWN_BURST; i++)
        cr_assert(respawn_budget_take(&rs, i * 3000ull));
    /* The oldest was at 0: at exactly 10 s it has left the window. */
    cr_assert(respawn_budget_take(&rs, 10000));
    /* Now the oldest of the last five is at 3 s: 12.999 s is still within its window. */
    cr_assert_not(respawn_budget_take(&rs, 12999));
    cr_assert(respawn_budget_take(&rs, 13000));
}

Test(respawn_budget, slow_deaths_never_spend_it)
{
    struct respawn rs = { .core_sock = -1 };

    for (unsigned i = 0; i < 100; i++)
        cr_assert(respawn_budget_take(&rs, i * 2500ull), "restart %u, 2.5 s apart", i + 1);
}
