/* VERSION payloads: our JSON round-trips; the parser refuses every malformed peer string. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipc/vfio_user.h"

static uint8_t buf[8192];

/* decode(major 0 minor 1, json with its NUL); len_adj trims or extends the length. */
static int decode_adj(const char *json, long len_adj, struct vfu_caps *caps)
{
    struct vfu_version v = { 0, 1 }, out;
    size_t n = strlen(json) + 1;

    memcpy(buf, &v, sizeof(v));
    memcpy(buf + sizeof(v), json, n);
    return vfu_version_decode(buf, sizeof(v) + n + (size_t)len_adj, &out, caps);
}

static int decode(const char *json, struct vfu_caps *caps)
{
    return decode_adj(json, 0, caps);
}

Test(vfu_version, encode_decode_round_trip)
{
    struct vfu_caps ours = { .max_msg_fds = 16, .max_data_xfer_size = 65536, .pgsizes = 4096 };
    struct vfu_caps got;
    struct vfu_version v = { 0, 1 }, out;
    char json[256];
    size_t len;

    cr_assert_eq(vfu_version_encode(&ours, json, sizeof(json), &len), 0);
    cr_assert_eq(len, strlen(json) + 1);
    memcpy(buf, &v, sizeof(v));
    memcpy(buf + sizeof(v), json, len);
    cr_assert_eq(vfu_version_decode(buf, sizeof(v) + len, &out, &got), 0);
    cr_assert_eq(out.major, 0);
    cr_assert_eq(out.minor, 1);
    cr_assert_eq(got.max_msg_fds, 16);
    cr_assert_eq(got.max_data_xfer_size, 65536);
    cr_assert_eq(got.pgsizes, 4096);
    cr_assert_eq(vfu_version_encode(&ours, json, 10, &len), -EINVAL, "too small a buffer");
}

Test(vfu_version, defaults)
{
    struct vfu_version v = { 0, 0 }, out;
    struct vfu_caps c;

    memcpy(buf, &v, sizeof(v));
    cr_assert_eq(vfu_version_decode(buf, sizeof(v), &out, &c), 0, "no JSON at all");
    cr_assert_eq(c.max_msg_fds, 1);
    cr_assert_eq(c.max_data_xfer_size, 1u << 20);
    cr_assert_eq(c.pgsizes, 4096);
    cr_assert_eq(decode("{}", &c), 0);
    cr_assert_eq(c.max_msg_fds, 1);
    cr_assert_eq(decode("{\"capabilities\":{}}", &c), 0);
    cr_assert_eq(vfu_version_decode(buf, 3, &out, &c), -EINVAL);
    cr_assert_eq(vfu_version_decode(NULL, 0, &out, &c), -EINVAL);
}

Test(vfu_version, unknown_keys_skipped)
{
    struct vfu_caps c;

    cr_assert_eq(decode(" { \"x\" : [1, -2.5e+3, true, false, null, \"s\\u0041\\n\", {\"a\":[]}],"
                        "\r\n\t\"capabilities\" : { \"migration\": {\"pgsize\": 4096,"
                        " \"max_bitmap_size\": 1048576}, \"max_msg_fds\" : 253,"
                        " \"twin_socket\": {\"supported\": true}, \"write_multiple\": true,"
                        " \"max_dma_maps\": 65535, \"pgsizes\": 18446744073709551615 } } ",
                        &c),
                 0);
    cr_assert_eq(c.max_msg_fds, 253);
    cr_assert_eq(c.max_data_xfer_size, 1u << 20);
    cr_assert_eq(c.pgsizes, UINT64_MAX);
    cr_assert_eq(decode("{\"capabilities\":{\"max_data_xfer_size\":4294967295}}", &c), 0);
    cr_assert_eq(c.max_data_xfer_size, UINT32_MAX);
    cr_assert_eq(decode("{\"capabilities\":{\"max_msg_fds\":0}}", &c), 0);
    cr_assert_eq(c.max_msg_fds, 0);
}

Test(vfu_version, refused)
{
    static const char *const bad[] = {
        "",
        " ",
        "[]",
        "\"capabilities\"",
        "{",
        "{\"capabilities\"}",
        "{\"capabilities\":}",
        "{\"capabilities\":5}",
        "{\"capabilities\":[]}",
        "{\"capabilities\":{\"max_msg_fds\":\"16\"}}",
        "{\"capabilities\":{\"max_msg_fds\":-1}}",
        "{\"capabilities\":{\"max_msg_fds\":1.5}}",
        "{\"capabilities\":{\"max_msg_fds\":1e3}}",
        "{\"capabilities\":{\"max_msg_fds\":016}}",
        "{\"capabilities\":{\"max_msg_fds\":4294967296}}",
        "{\"capabilities\":{\"max_msg_fds\":99999999999999999999999999}}",
        "{\"capabilities\":{\"max_msg_fds\":true}}",
        "{\"capabilities\":{\"max_msg_fds\":null}}",
        "{\"capabilities\":{\"max_msg_fds\":{}}}",
        "{\"capabilities\":{\"max_data_xfer_size\":0}}",
        "{\"capabilities\":{\"pgsizes\":0}}",
        "{\"capabilities\":{\"pgsizes\":18446744073709551616}}",
        "{\"capabilities\":{\"max_msg_fds\":1,\"max_msg_fds\":2}}",
        "{\"capabilities\":{},\"capabilities\":{}}",
        "{\"capabilities\":{\"max_msg_fds\":1,}}",
        "{\"capabilities\":{\"max_msg_fds\":1}",
        "{\"capabilities\":{\"max_msg_fds\":1}} x",
        "{\"capabilities\":{\"max_msg_fds\":1}}{}",
        "{\"a\":\"unterminated}",
        "{\"a\":\"bad \\x escape\"}",
        "{\"a\":\"bad \\u12 escape\"}",
        "{\"a\":\"tab\tinside\"}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":01}",
        "{\"a\":-}",
        "{\"a\":1.}",
        "{\"a\":1e}",
        "{\"a\":+1}",
        "{\"a\":[1,]}",
        "{\"a\":[1 2]}",
        "{\"a\" 1}",
        "{a:1}",
        "{'a':1}",
        "{\"a\":1,}",
    };
    struct vfu_caps c;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(decode(bad[i], &c), -EINVAL, "accepted: %s", bad[i]);
}

Test(vfu_version, nesting_bounded)
{
    char json[512];
    struct vfu_caps c;
    size_t n = 0;

    /* Depth 8 in all is accepted: top object, "x", then 6 more levels. */
    n += (size_t)snprintf(json + n, sizeof(json) - n, "{\"x\":");
    for (int i = 0; i < 6; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n, "[");
    n += (size_t)snprintf(json + n, sizeof(json) - n, "{}");
    for (int i = 0; i < 6; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n, "]");
    snprintf(json + n, sizeof(json) - n, "}");
    cr_assert_eq(decode(json, &c), 0, "%s", json);

    n = (size_t)snprintf(json, sizeof(json), "{\"x\":");
    for (int i = 0; i < 7; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n, "[");
    n += (size_t)snprintf(json + n, sizeof(json) - n, "{}");
    for (int i = 0; i < 7; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n, "]");
    snprintf(json + n, sizeof(json) - n, "}");
    cr_assert_eq(decode(json, &c), -EINVAL, "depth 9: %s", json);

    n = (size_t)snprintf(json, sizeof(json), "{\"x\":");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n, "[");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n, "]");
    snprintf(json + n, sizeof(json) - n, "}");
    cr_assert_eq(decode(json, &c), -EINVAL, "deep nesting");
    n = (size_t)snprintf(json, sizeof(json), "{\"capabilities\":{\"m\":");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n, "{\"a\":");
    n += (size_t)snprintf(json + n, sizeof(json) - n, "1");
    for (int i = 0; i < 22; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n, "}");
    cr_assert_eq(decode(json, &c), -EINVAL, "deep nesting in capabilities");
}

Test(vfu_version, framing_of_the_string)
{
    struct vfu_version v = { 0, 1 }, out;
    struct vfu_caps c;
    const char *json = "{\"capabilities\":{}}";
    size_t n = strlen(json);

    cr_assert_eq(decode_adj(json, -1, &c), -EINVAL, "missing NUL");
    cr_assert_eq(decode_adj(json, 1, &c), -EINVAL, "bytes after the NUL");
    memcpy(buf, &v, sizeof(v));
    memcpy(buf + sizeof(v), json, n + 1);
    buf[sizeof(v) + 3] = '\0';
    cr_assert_eq(vfu_version_decode(buf, sizeof(v) + n + 1, &out, &c), -EINVAL, "embedded NUL");
    /* Longer than VFU_MAX_VERSION, even if valid JSON. */
    memcpy(buf, &v, sizeof(v));
    buf[sizeof(v)] = '{';
    buf[sizeof(v) + 1] = '}';
    memset(buf + sizeof(v) + 2, ' ', VFU_MAX_VERSION);
    buf[sizeof(v) + 2 + VFU_MAX_VERSION - 1] = '\0';
    cr_assert_eq(vfu_version_decode(buf, sizeof(v) + 2 + VFU_MAX_VERSION, &out, &c), -EINVAL);
    buf[sizeof(v) + VFU_MAX_VERSION - 1] = '\0';
    cr_assert_eq(vfu_version_decode(buf, sizeof(v) + VFU_MAX_VERSION, &out, &c), 0,
                 "exactly VFU_MAX_VERSION with the NUL");
}
