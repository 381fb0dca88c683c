/* cellvm-rngd's --source spelling, rewritten for the runtime's one device option. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "devspec/devspec.h"
#include "rngd/rng_args.h"

static int rewrite(int argc, char **argv, char **out, char *spec, size_t speclen, char *err)
{
    return rngd_rewrite_args(argc, argv, out, spec, speclen, err, 256);
}

Test(rng_args, source_becomes_an_rng_spec)
{
    char *argv[] = { "cellvm-rngd", "--socket", "/tmp/s", "--source", "/dev/hw,rng", NULL };
    char *out[RNGD_MAX_ARGS + 1], spec[128], err[256];
    struct cli_rng cr;

    cr_assert_eq(rewrite(5, argv, out, spec, sizeof(spec), err), 5);
    cr_assert_str_eq(out[3], "--rng");
    cr_assert_str_eq(out[4], "src=\"/dev/hw,rng\"");
    cr_assert_null(out[5]);
    /* and the device parses it back to the same path */
    cr_assert_eq(cli_rng_parse(out[4], &cr, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(cr.src, "/dev/hw,rng");
    cli_rng_free(&cr);
}

Test(rng_args, equals_form_and_other_args_kept)
{
    char *argv[] = { "d", "--source=/dev/random", "--seccomp", "on", NULL };
    char *out[RNGD_MAX_ARGS + 1], spec[128], err[256];

    cr_assert_eq(rewrite(4, argv, out, spec, sizeof(spec), err), 5);
    cr_assert_str_eq(out[1], "--rng");
    cr_assert_str_eq(out[2], "src=\"/dev/random\"");
    cr_assert_str_eq(out[3], "--seccomp");
    cr_assert_str_eq(out[4], "on");
}

Test(rng_args, bad_source_refused)
{
    char *twice[] = { "d", "--source", "/a", "--source=/b", NULL };
    char *missing[] = { "d", "--source", NULL };
    char *quote[] = { "d", "--source", "/a\"b", NULL };
    char *empty[] = { "d", "--source=", NULL };
    char *out[RNGD_MAX_ARGS + 1], spec[128], err[256];

    cr_assert_eq(rewrite(4, twice, out, spec, sizeof(spec), err), -EINVAL);
    cr_assert(strstr(err, "twice"), "%s", err);
    cr_assert_eq(rewrite(2, missing, out, spec, sizeof(spec), err), -EINVAL);
    cr_assert_eq(rewrite(3, quote, out, spec, sizeof(spec), err), -EINVAL);
    cr_assert_eq(rewrite(2, empty, out, spec, sizeof(spec), err), -EINVAL);
    cr_assert_eq(rewrite(3, (char *[]){ "d", "--source", "/a-long-path", NULL }, out, spec, 8, err),
                 -ENAMETOOLONG);
}

Test(rng_args, too_many_arguments_refused)
{
    char *argv[RNGD_MAX_ARGS + 2];
    char *out[RNGD_MAX_ARGS + 1], spec[16], err[256];

    for (int i = 0; i < RNGD_MAX_ARGS + 1; i++)
        argv[i] = "--seccomp=on";
    argv[RNGD_MAX_ARGS + 1] = NULL;
    cr_assert_eq(rewrite(RNGD_MAX_ARGS + 1, argv, out, spec, sizeof(spec), err), -E2BIG);
}

Test(rng_spec, defaults_and_keys)
{
    struct cli_rng cr;
    char err[256];

    cr_assert_eq(cli_rng_parse("", &cr, err, sizeof(err)), 0, "%s", err);
    cr_assert(cr.present);
    cr_assert_str_eq(cr.src, "/dev/urandom");
    cr_assert_not(cr.iommu);
    cli_rng_free(&cr);
    cr_assert_eq(cli_rng_parse("src=", &cr, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(cr.src, "/dev/urandom");
    cli_rng_free(&cr);
    cr_assert_eq(cli_rng_parse("src=/dev/random,iommu=off", &cr, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(cr.src, "/dev/random");
    cli_rng_free(&cr);
}

Test(rng_spec, bad_input_one_line_each)
{
    struct cli_rng cr;
    char err[256];

    cr_assert_eq(cli_rng_parse("src=/dev/urandom,size=4", &cr, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "size"), "%s", err);
    cli_rng_free(&cr);
    cr_assert_eq(cli_rng_parse("iommu=maybe", &cr, err, sizeof(err)), -EINVAL);
    cli_rng_free(&cr);
    cr_assert_eq(cli_rng_parse("src=\"/dev/urandom", &cr, err, sizeof(err)), -EINVAL);
    cli_rng_free(&cr);
    cr_assert_null(strchr(err, '\n'));
}
