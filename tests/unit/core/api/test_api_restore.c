/* vm.restore's net_fds (issue 18) in the API process: the JSON body as Cloud Hypervisor v51.0
 * takes it, then the counts against the fds that came with the request. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/api/api_json.h"
#include "core/api/api_restore.h"
#include "validate_api.h"

static char err[APIJ_ERR_LEN];

static Cellvm__ApiRestoreConfig *parse(const char *json)
{
    ProtobufCMessage *m = NULL;
    int r = apij_parse(json, strlen(json), &cellvm__api_restore_config__descriptor, &m, err,
                       sizeof(err));

    cr_assert_eq(r, 0, "apij_parse(%s): %s", json, err);
    return (Cellvm__ApiRestoreConfig *)m;
}

static int check(const char *json, size_t nfds)
{
    Cellvm__ApiRestoreConfig *rc = parse(json);
    int r;

    err[0] = 0;
    r = api_restore_check_fds(rc, nfds, err, sizeof(err));
    protobuf_c_message_free_unpacked(&rc->base, NULL);
    return r;
}

Test(api_restore, body_as_cloud_hypervisor_sends_it)
{
    Cellvm__ApiRestoreConfig *rc = parse("{\"source_url\":\"file:///s\",\"prefault\":true,"
                                         "\"net_fds\":[{\"id\":\"net0\",\"num_fds\":2},"
                                         "{\"id\":\"net1\",\"num_fds\":1}]}");

    cr_assert_str_eq(rc->source_url, "file:///s");
    cr_assert_eq(rc->n_net_fds, 2);
    cr_assert_str_eq(rc->net_fds[0]->id, "net0");
    cr_assert_eq(rc->net_fds[0]->num_fds, 2);
    cr_assert_str_eq(rc->net_fds[1]->id, "net1");
    cr_assert_eq(rc->net_fds[1]->num_fds, 1);
    cr_assert_eq(api_restore_check_fds(rc, 3, err, sizeof(err)), 0, "%s", err);
    protobuf_c_message_free_unpacked(&rc->base, NULL);
}

Test(api_restore, without_net_fds)
{
    cr_expect_eq(check("{\"source_url\":\"file:///s\"}", 0), 0);
    cr_expect_eq(check("{\"source_url\":\"file:///s\",\"net_fds\":[]}", 0), 0);
    cr_expect_eq(check("{\"source_url\":\"file:///s\"}", 1), -EINVAL);
    cr_expect(strstr(err, "without net_fds"), "%s", err);
}

Test(api_restore, counts_must_match_the_fds)
{
    const char *one =
        "{\"source_url\":\"file:///s\",\"net_fds\":[{\"id\":\"net0\",\"num_fds\":1}]}";

    cr_expect_eq(check(one, 1), 0, "%s", err);
    cr_expect_eq(check(one, 0), -EINVAL);
    cr_expect(strstr(err, "1 file descriptors, 0 came"), "%s", err);
    cr_expect_eq(check(one, 2), -EINVAL);
    cr_expect(strstr(err, "1 file descriptors, 2 came"), "%s", err);
}

Test(api_restore, bad_entries)
{
    cr_expect_eq(check("{\"source_url\":\"file:///s\",\"net_fds\":[{\"num_fds\":1}]}", 1), -EINVAL);
    cr_expect(strstr(err, "no id"), "%s", err);
    cr_expect_eq(
        check("{\"source_url\":\"file:///s\",\"net_fds\":[{\"id\":\"\",\"num_fds\":1}]}", 1),
        -EINVAL);
    cr_expect_eq(check("{\"source_url\":\"file:///s\",\"net_fds\":[{\"id\":\"n\"}]}", 0), -EINVAL);
    cr_expect(strstr(err, "num_fds"), "%s", err);
    cr_expect_eq(
        check("{\"source_url\":\"file:///s\",\"net_fds\":[{\"id\":\"n\",\"num_fds\":0}]}", 0),
        -EINVAL);
    cr_expect_eq(check("{\"source_url\":\"file:///s\",\"net_fds\":[{\"id\":\"n\",\"num_fds\":1},"
                       "{\"id\":\"n\",\"num_fds\":1}]}",
                       2),
                 -EINVAL);
    cr_expect(strstr(err, "twice"), "%s", err);
}

Test(api_restore, unknown_keys_refused)
{
    ProtobufCMessage *m = NULL;
    const char *json = "{\"source_url\":\"file:///s\",\"net_fds\":[{\"id\":\"n\",\"num_fds\":1,"
                       "\"fds\":[7]}]}";

    /* The fds travel with SCM_RIGHTS only; numbers in the body mean nothing here. */
    cr_expect_neq(apij_parse(json, strlen(json), &cellvm__api_restore_config__descriptor, &m, err,
                             sizeof(err)),
                  0);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* The controller's side of the channel takes fds with vm.restore only when net_fds names them. */
Test(api_restore, channel_validation)
{
    Cellvm__ApiRequest rq = CELLVM__API_REQUEST__INIT;
    Cellvm__ApiRestoreConfig rc = CELLVM__API_RESTORE_CONFIG__INIT;
    Cellvm__ApiRestoredNetConfig n = CELLVM__API_RESTORED_NET_CONFIG__INIT;
    Cellvm__ApiRestoredNetConfig *list[] = { &n };
    const char *why = NULL;

    rq.has_endpoint = rq.has_id = rq.has_nfds = 1;
    rq.endpoint = CELLVM__API_ENDPOINT__API_VM_RESTORE;
    rq.restore = &rc;
    rc.source_url = (char *)"file:///s";
    rq.nfds = 1;
    cr_expect_neq(pb_validate_api_request(&rq, 1, &why), 0, "fds without net_fds");
    rc.net_fds = list;
    rc.n_net_fds = 1;
    n.id = (char *)"net0";
    n.has_num_fds = 1;
    n.num_fds = 1;
    cr_expect_eq(pb_validate_api_request(&rq, 1, &why), 0, "%s", why ? why : "");
    n.num_fds = 2;
    cr_expect_neq(pb_validate_api_request(&rq, 1, &why), 0, "count mismatch");
    n.num_fds = 0;
    rq.nfds = 0;
    cr_expect_neq(pb_validate_api_request(&rq, 0, &why), 0, "num_fds 0 with no fds");
}
