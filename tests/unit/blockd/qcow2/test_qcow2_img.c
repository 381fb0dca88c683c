/* cellvm-img against qemu-img: create (options, preallocation), info --output=json, check and
 * leak repair, resize, convert both ways, backing-file refusal. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q2t.h"

static const char *img_tool(void)
{
    const char *p = getenv("CELLVM_IMG");
    if (!p)
        cr_skip_test("CELLVM_IMG not set (run through meson)");
    if (!q2t_have_qemu())
        cr_skip_test("qemu-img/qemu-io not installed (Debian qemu-utils)");
    return p;
}

Test(qcow2_img, create_info_check_resize_convert, .timeout = 60)
{
    const char *t = img_tool();
    char d[64], out[4096];
    q2t_tmpdir(d, sizeof(d));
    cr_assert_eq(q2t_sh("%s create -f qcow2 -o cluster_size=4096,refcount_bits=8,"
                        "lazy_refcounts=on,preallocation=metadata %s/a.qcow2 3M",
                        t, d),
                 0);
    cr_assert_eq(q2t_sh_out(out, sizeof(out), "qemu-img info --output=json %s/a.qcow2", d), 0);
    cr_expect(strstr(out, "\"cluster-size\": 4096") && strstr(out, "\"refcount-bits\": 8") &&
                  strstr(out, "\"lazy-refcounts\": true"),
              "%s", out);
    cr_expect_eq(q2t_sh("qemu-img check -q %s/a.qcow2", d), 0);
    cr_assert_eq(q2t_sh_out(out, sizeof(out), "%s info --output=json %s/a.qcow2", t, d), 0);
    cr_expect(strstr(out, "\"virtual-size\": 3145728") && strstr(out, "\"format\": \"qcow2\""),
              "%s", out);
    cr_expect_eq(q2t_sh("%s check %s/a.qcow2", t, d), 0);

    /* A leak made by hand: cluster 5 of a fresh qemu image (64 KiB clusters, 16-bit
     * refcounts, refcount block at 0x20000) gets refcount 1 and nothing references it. */
    cr_assert_eq(q2t_sh("qemu-img create -q -f qcow2 %s/l.qcow2 1M && truncate -s 393216 "
                        "%s/l.qcow2 && printf '\\000\\001' | dd of=%s/l.qcow2 bs=1 "
                        "seek=131082 conv=notrunc status=none",
                        d, d, d),
                 0);
    cr_expect_eq(q2t_sh("qemu-img check -q %s/l.qcow2", d), 3, "leak visible to qemu-img");
    cr_expect_eq(q2t_sh("%s check %s/l.qcow2", t, d), 3, "leak visible to cellvm-img");
    cr_expect_eq(q2t_sh("%s check -r leaks %s/l.qcow2", t, d), 0);
    cr_expect_eq(q2t_sh("qemu-img check -q %s/l.qcow2", d), 0, "leak repaired");

    cr_assert_eq(q2t_sh("qemu-io -c 'write -P 0x61 1000 70000' %s/a.qcow2", d), 0);
    cr_assert_eq(q2t_sh("%s resize %s/a.qcow2 +1M", t, d), 0);
    cr_expect_neq(q2t_sh("%s resize %s/a.qcow2 1M 2>/dev/null", t, d), 0, "shrink refused");
    cr_expect_eq(q2t_sh("qemu-img check -q %s/a.qcow2", d), 0);
    cr_assert_eq(q2t_sh("%s convert -O raw %s/a.qcow2 %s/a.raw", t, d, d), 0);
    cr_expect_eq(q2t_sh("qemu-img compare -q -f qcow2 -F raw %s/a.qcow2 %s/a.raw", d, d), 0);
    cr_assert_eq(q2t_sh("%s convert -O qcow2 -o cluster_size=65536 %s/a.raw %s/b.qcow2", t, d, d),
                 0);
    cr_expect_eq(q2t_sh("qemu-img check -q %s/b.qcow2", d), 0);
    cr_expect_eq(q2t_sh("qemu-img compare -q %s/a.raw %s/b.qcow2", d, d), 0);

    cr_assert_eq(q2t_sh("qemu-img create -q -f qcow2 -b %s/b.qcow2 -F qcow2 %s/ov.qcow2", d, d), 0);
    cr_expect_neq(q2t_sh("%s info %s/ov.qcow2 2>/dev/null", t, d), 0, "backing refused");
    cr_expect_eq(q2t_sh("%s info --backing-files=on %s/ov.qcow2", t, d), 0);
    cr_expect_eq(q2t_sh("%s convert --backing-files=on -O raw %s/ov.qcow2 %s/ov.raw", t, d, d), 0);
    cr_expect_eq(q2t_sh("cmp -s %s/ov.raw %s/a.raw", d, d), 0, "backing chain read through");
    q2t_rmdir(d);
}
