/* VfioDetach (issue 19, controller -> core when a cellvm-vfiod died): validated strictly. */
#include <criterion/criterion.h>

#include "validate.h"

/* The replacement vfiod reaches the core as an AttachDevice with vfio_user and reconnect. */
Test(vfio_detach, reconnect_of_a_vfio_user_function_is_valid)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__AttachDevice ad = CELLVM__ATTACH_DEVICE__INIT;
    const char *why = NULL;

    env.body_case = CELLVM__ENVELOPE__BODY_ATTACH_DEVICE;
    env.attach_device = &ad;
    ad.id = (char *)"_vfio0";
    ad.vfio_user = true;
    ad.reconnect = true;
    cr_assert_eq(pb_validate_envelope(&env, 1, &why), 0, "%s", why ? why : "");
    ad.external = true;
    cr_assert_neq(pb_validate_envelope(&env, 1, &why), 0, "never external");
    cr_assert_str_eq(why, "attach_device.vfio_user");
}

Test(vfio_detach, validated)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VfioDetach vd = CELLVM__VFIO_DETACH__INIT;
    const char *why = NULL;

    env.body_case = CELLVM__ENVELOPE__BODY_VFIO_DETACH;
    env.vfio_detach = &vd;
    vd.id = (char *)"_vfio0";
    cr_assert_eq(pb_validate_envelope(&env, 0, &why), 0, "%s", why ? why : "");
    cr_assert_neq(pb_validate_envelope(&env, 1, &why), 0, "no fds on it");
    cr_assert_str_eq(why, "envelope.fds");
    vd.id = (char *)"";
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0, "an id is needed");
    cr_assert_str_eq(why, "vfio_detach.id");
    vd.id = (char *)"bad\nid";
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0);
    cr_assert_str_eq(why, "vfio_detach.id");
}

/* Its answer is a DeviceReconnected: errnum 0 or a positive errno below 4096. */
Test(vfio_detach, answer_validated)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceReconnected dr = CELLVM__DEVICE_RECONNECTED__INIT;
    const char *why = NULL;

    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_RECONNECTED;
    env.device_reconnected = &dr;
    dr.id = (char *)"_vfio0";
    dr.errnum = 19; /* ENODEV: the replacement found another function (BAR sizes differ) */
    cr_assert_eq(pb_validate_envelope(&env, 0, &why), 0, "%s", why ? why : "");
    dr.errnum = -1;
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0);
}
