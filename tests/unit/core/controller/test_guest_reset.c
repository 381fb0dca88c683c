/* GuestReset (issue 20, core -> controller after a reset the guest or its watchdog caused) as
 * validated. */
#include <criterion/criterion.h>

#include "validate.h"

Test(guest_reset, validated)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__GuestReset gr = CELLVM__GUEST_RESET__INIT;
    const char *why = NULL;

    env.body_case = CELLVM__ENVELOPE__BODY_GUEST_RESET;
    env.guest_reset = &gr;
    gr.cause = CELLVM__GUEST_RESET__CAUSE__CAUSE_GUEST;
    cr_assert_eq(pb_validate_envelope(&env, 0, &why), 0, "%s", why ? why : "");
    gr.cause = CELLVM__GUEST_RESET__CAUSE__CAUSE_WATCHDOG;
    cr_assert_eq(pb_validate_envelope(&env, 0, &why), 0, "%s", why ? why : "");
    cr_assert_neq(pb_validate_envelope(&env, 1, &why), 0, "no fds on it");
    cr_assert_str_eq(why, "envelope.fds");
    gr.cause = CELLVM__GUEST_RESET__CAUSE__CAUSE_UNSPECIFIED;
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0, "a cause is needed");
    cr_assert_str_eq(why, "guest_reset.cause");
    gr.cause = (Cellvm__GuestReset__Cause)7;
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0, "an unknown cause");
    cr_assert_str_eq(why, "guest_reset.cause");
}
