/* cellvm-img: info, check, create, resize, convert over the QCOW2 engine. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockd/qcow2/cellvm-img.h"
#include "blockd/qcow2/qcow2_check.h"
#include "blockd/qcow2/qcow2_create.h"

#define MAX_BACKING_DEPTH 10

static void warn_stderr(void *opaque, const char *msg)
{
    (void)opaque;
    fprintf(stderr, "%s\n", msg);
}

int img_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned shift = 0;

    if (errno || end == s || *s == '-')
        return -EINVAL;
    switch (*end) {
    case 0:
    case 'b':
    case 'B':
        break;
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    case 't':
    case 'T':
        shift = 40;
        break;
    default:
        return -EINVAL;
    }
    if (*end && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
        return -EINVAL;
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

static int backing_read(void *opaque, uint64_t off, void *buf, size_t len)
{
    return img_read(opaque, buf, len, off);
}

int img_read(struct img *im, void *buf, uint64_t len, uint64_t off)
{
    if (im->q)
        return qcow2_pread(im->q, buf, len, off);
    /* Raw: past the end reads as zeroes (a shorter backing file). */
    memset(buf, 0, len);
    if (off >= im->size)
        return 0;
    uint64_t n = len < im->size - off ? len : im->size - off;
    ssize_t r = im->file->ops->pread(im->file, buf, n, off);
    return r < 0 ? (int)r : 0;
}

void img_close(struct img *im)
{
    if (!im)
        return;
    if (im->q && qcow2_close(im->q) < 0)
        fprintf(stderr, "cellvm-img: flush on close failed\n");
    qcow2_file_destroy(im->file);
    if (im->fd >= 0)
        close(im->fd);
    img_close(im->backing);
    free(im);
}

static int open_backing(struct img *im, const char *path, const char *name, unsigned depth)
{
    char dir[PATH_MAX], full[PATH_MAX * 2];

    if (depth >= MAX_BACKING_DEPTH) {
        fprintf(stderr, "cellvm-img: backing chain deeper than %d\n", MAX_BACKING_DEPTH);
        return -ELOOP;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    if (name[0] == '/')
        snprintf(full, sizeof(full), "%s", name);
    else
        snprintf(full, sizeof(full), "%s/%s", dirname(dir), name);
    return img_open(&im->backing, full, NULL, false, true, depth + 1);
}

int img_open(struct img **out, const char *path, const char *fmt, bool writable, bool backing,
             unsigned depth)
{
    struct img *im = calloc(1, sizeof(*im));
    char err[512] = "";
    int ret;

    if (!im)
        return -ENOMEM;
    im->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (im->fd < 0) {
        ret = -errno;
        fprintf(stderr, "cellvm-img: %s: %s\n", path, strerror(-ret));
        goto fail;
    }
    if ((ret = qcow2_fd_file_new(im->fd, &im->file)) < 0)
        goto fail;
    bool is_q = qcow2_probe(im->file);
    if (fmt && strcmp(fmt, "raw") && strcmp(fmt, "qcow2")) {
        fprintf(stderr, "cellvm-img: unknown format '%s'\n", fmt);
        ret = -EINVAL;
        goto fail;
    }
    if (fmt && !strcmp(fmt, "qcow2") && !is_q) {
        fprintf(stderr, "cellvm-img: %s: not a qcow2 image\n", path);
        ret = -EINVAL;
        goto fail;
    }
    if ((fmt && !strcmp(fmt, "raw")) || !is_q) {
        ret = im->file->ops->size(im->file, &im->size);
        if (ret < 0)
            goto fail;
        *out = im;
        return 0;
    }
    struct qcow2_opts o = {
        .readonly = !writable,
        .allow_backing = backing,
        .sparse = true,
        .warn = warn_stderr,
    };
    /* First open learns the backing name; the chain is then attached as the hook. */
    ret = qcow2_open(&im->q, im->file, &o, err, sizeof(err));
    if (ret < 0) {
        fprintf(stderr, "cellvm-img: %s: %s\n", path, err);
        goto fail;
    }
    struct qcow2_info info;
    qcow2_get_info(im->q, &info);
    if (info.backing[0] && depth != UINT_MAX) {
        ret = open_backing(im, path, info.backing, depth);
        if (ret < 0)
            goto fail;
        qcow2_close(im->q);
        im->q = NULL;
        im->hook.read = backing_read;
        im->hook.opaque = im->backing;
        o.backing = &im->hook;
        ret = qcow2_open(&im->q, im->file, &o, err, sizeof(err));
        if (ret < 0) {
            fprintf(stderr, "cellvm-img: %s: %s\n", path, err);
            goto fail;
        }
    }
    im->size = qcow2_size(im->q);
    *out = im;
    return 0;
fail:
    img_close(im);
    return ret;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int cmd_info(int argc, char **argv)
{
    bool json = false, backing = false;
    struct img *im;
    struct stat st;
    int c;

    static const struct option lo[] = {
        { "output", required_argument, NULL, 'o' },
        { "backing-files", required_argument, NULL, 'b' },
        { NULL, 0, NULL, 0 },
    };
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'o')
            json = !strcmp(optarg, "json");
        else if (c == 'b')
            backing = !strcmp(optarg, "on");
        else
            return 1;
    }
    if (optind != argc - 1)
        return fprintf(stderr, "usage: cellvm-img info [--output=json] FILE\n"), 1;
    const char *path = argv[optind];
    if (img_open(&im, path, NULL, false, backing, UINT_MAX) < 0)
        return 1;
    fstat(im->fd, &st);
    struct qcow2_info in = { 0 };
    if (im->q)
        qcow2_get_info(im->q, &in);
    uint64_t actual = (uint64_t)st.st_blocks * 512;
    if (json) {
        printf("{\n    \"virtual-size\": %" PRIu64 ",\n    \"filename\": ", im->size);
        json_str(path);
        printf(",\n    \"format\": \"%s\",\n    \"actual-size\": %" PRIu64 ",\n",
               im->q ? "qcow2" : "raw", actual);
        if (im->q) {
            printf("    \"cluster-size\": %u,\n", 1u << in.cluster_bits);
            if (in.backing[0]) {
                printf("    \"backing-filename\": ");
                json_str(in.backing);
                printf(",\n");
            }
            printf("    \"format-specific\": {\n        \"type\": \"qcow2\",\n"
                   "        \"data\": {\n            \"compat\": \"%s\",\n"
                   "            \"compression-type\": \"%s\",\n"
                   "            \"lazy-refcounts\": %s,\n"
                   "            \"refcount-bits\": %u,\n            \"corrupt\": %s\n"
                   "        }\n    },\n",
                   in.version == 2 ? "0.10" : "1.1", in.zstd ? "zstd" : "zlib",
                   in.lazy_refcounts ? "true" : "false", in.refcount_bits,
                   in.corrupt ? "true" : "false");
        }
        printf("    \"dirty-flag\": %s\n}\n", in.dirty ? "true" : "false");
    } else {
        printf("image: %s\nfile format: %s\nvirtual size: %" PRIu64 " bytes\n"
               "disk size: %" PRIu64 " bytes\n",
               path, im->q ? "qcow2" : "raw", im->size, actual);
        if (im->q) {
            printf("cluster_size: %u\n", 1u << in.cluster_bits);
            if (in.backing[0])
                printf("backing file: %s\n", in.backing);
            printf("Format specific information:\n    compat: %s\n    compression type: %s\n"
                   "    lazy refcounts: %s\n    refcount bits: %u\n    corrupt: %s\n",
                   in.version == 2 ? "0.10" : "1.1", in.zstd ? "zstd" : "zlib",
                   in.lazy_refcounts ? "true" : "false", in.refcount_bits,
                   in.corrupt ? "true" : "false");
        }
    }
    img_close(im);
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    enum qcow2_repair rep = QCOW2_REPAIR_NONE;
    bool backing = false;
    struct qcow2_check_result r;
    struct img *im;
    int c;

    static const struct option lo[] = {
        { "backing-files", required_argument, NULL, 'b' },
        { NULL, 0, NULL, 0 },
    };
    while ((c = getopt_long(argc, argv, "r:", lo, NULL)) != -1) {
        if (c == 'r' && !strcmp(optarg, "leaks"))
            rep = QCOW2_REPAIR_LEAKS;
        else if (c == 'r' && !strcmp(optarg, "all"))
            rep = QCOW2_REPAIR_ALL;
        else if (c == 'b')
            backing = !strcmp(optarg, "on");
        else
            return fprintf(stderr, "cellvm-img: -r takes leaks or all\n"), 1;
    }
    if (optind != argc - 1)
        return fprintf(stderr, "usage: cellvm-img check [-r leaks|all] FILE\n"), 1;
    if (img_open(&im, argv[optind], "qcow2", rep != QCOW2_REPAIR_NONE, backing, UINT_MAX) < 0)
        return 1;
    int ret = qcow2_check(im->q, rep, &r);
    img_close(im);
    if (ret < 0 && ret != -EUCLEAN) {
        fprintf(stderr, "cellvm-img: check failed: %s\n", strerror(-ret));
        return 1;
    }
    if (ret == -EUCLEAN)
        fprintf(stderr, "cellvm-img: some leaks lie in refcount blocks that other clusters share; "
                        "only -r all can repair them\n");
    if (r.leaks_fixed || r.corruptions_fixed)
        printf("The following inconsistencies were found and repaired:\n\n"
               "    %" PRIu64 " leaked clusters\n    %" PRIu64 " corruptions\n\n",
               r.leaks_fixed, r.corruptions_fixed);
    uint64_t leaks = r.leaks - r.leaks_fixed, errs = r.corruptions - r.corruptions_fixed;
    if (errs)
        printf("%" PRIu64 " errors were found on the image.\n"
               "Data may be corrupted, or further writes to the image may corrupt it.\n",
               errs);
    if (leaks)
        printf("%" PRIu64 " leaked clusters were found on the image.\n"
               "This means waste of disk space, but no harm to data.\n",
               leaks);
    if (!errs && !leaks)
        printf("No errors were found on the image.\n");
    printf("Image end offset: %" PRIu64 "\n", r.image_end);
    return errs ? 2 : leaks ? 3 : 0;
}

static int parse_create_opts(char *s, struct qcow2_create_opts *co)
{
    for (char *save = NULL, *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *v = strchr(kv, '=');
        uint64_t n;
        if (!v)
            return -EINVAL;
        *v++ = 0;
        if (!strcmp(kv, "cluster_size") && img_parse_size(v, &n) == 0 && n <= UINT32_MAX)
            co->cluster_size = (uint32_t)n;
        else if (!strcmp(kv, "refcount_bits") && img_parse_size(v, &n) == 0 && n <= 64)
            co->refcount_bits = (uint32_t)n;
        else if (!strcmp(kv, "lazy_refcounts"))
            co->lazy_refcounts = !strcmp(v, "on");
        else if (!strcmp(kv, "preallocation") && !strcmp(v, "off"))
            co->prealloc = QCOW2_PREALLOC_OFF;
        else if (!strcmp(kv, "preallocation") && !strcmp(v, "metadata"))
            co->prealloc = QCOW2_PREALLOC_METADATA;
        else if (!strcmp(kv, "preallocation") && !strcmp(v, "full"))
            co->prealloc = QCOW2_PREALLOC_FULL;
        else if (!strcmp(kv, "compat") && !strcmp(v, "1.1"))
            continue;
        else
            return -EINVAL;
    }
    return 0;
}

/* Creates path as qcow2 or raw; shared with convert. */
static int create_image(const char *path, const char *fmt, struct qcow2_create_opts *co)
{
    char err[256] = "";
    struct qcow2_file *f = NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), ret;

    if (fd < 0) {
        fprintf(stderr, "cellvm-img: %s: %s\n", path, strerror(errno));
        return -errno;
    }
    if (!strcmp(fmt, "raw")) {
        ret = ftruncate(fd, (off_t)co->size) < 0 ? -errno : 0;
    } else {
        ret = qcow2_fd_file_new(fd, &f);
        if (ret == 0)
            ret = qcow2_create(f, co, err, sizeof(err));
        qcow2_file_destroy(f);
    }
    close(fd);
    if (ret < 0)
        fprintf(stderr, "cellvm-img: create %s: %s\n", path, err[0] ? err : strerror(-ret));
    return ret;
}

int img_create_main(const char *path, const char *fmt, char *opts, uint64_t size)
{
    struct qcow2_create_opts co = { .size = size };

    if (opts && parse_create_opts(opts, &co) < 0) {
        fprintf(stderr, "cellvm-img: invalid -o options\n");
        return -EINVAL;
    }
    return create_image(path, fmt, &co);
}

static int cmd_create(int argc, char **argv)
{
    const char *fmt = "raw";
    char *opts = NULL;
    uint64_t size;
    int c;

    while ((c = getopt(argc, argv, "f:o:")) != -1) {
        if (c == 'f')
            fmt = optarg;
        else if (c == 'o')
            opts = optarg;
        else
            return 1;
    }
    if (strcmp(fmt, "raw") && strcmp(fmt, "qcow2"))
        return fprintf(stderr, "cellvm-img: create supports qcow2 and raw\n"), 1;
    if (optind != argc - 2 || img_parse_size(argv[optind + 1], &size) < 0)
        return fprintf(stderr, "usage: cellvm-img create -f qcow2|raw [-o opts] FILE SIZE\n"), 1;
    return img_create_main(argv[optind], fmt, opts, size) < 0 ? 1 : 0;
}

static int cmd_resize(int argc, char **argv)
{
    struct img *im;
    uint64_t size;
    int ret;

    if (argc != 3)
        return fprintf(stderr, "usage: cellvm-img resize FILE [+]SIZE\n"), 1;
    const char *s = argv[2];
    bool rel = s[0] == '+';
    if (img_parse_size(s + rel, &size) < 0)
        return fprintf(stderr, "cellvm-img: invalid size '%s'\n", s), 1;
    if (img_open(&im, argv[1], NULL, true, false, UINT_MAX) < 0)
        return 1;
    if (rel)
        size = size > UINT64_MAX - im->size ? UINT64_MAX : im->size + size;
    if (im->q)
        ret = qcow2_resize(im->q, size);
    else
        ret = size < im->size ? -ENOTSUP : im->file->ops->truncate(im->file, size);
    img_close(im);
    if (ret < 0) {
        fprintf(stderr, "cellvm-img: resize: %s\n",
                ret == -ENOTSUP ? "shrinking is not supported" : strerror(-ret));
        return 1;
    }
    printf("Image resized.\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cellvm-img info|check|create|resize|convert ...\n");
        return 1;
    }
    const char *cmd = argv[1];
    argc--;
    argv++;
    if (!strcmp(cmd, "info"))
        return cmd_info(argc, argv);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc, argv);
    if (!strcmp(cmd, "create"))
        return cmd_create(argc, argv);
    if (!strcmp(cmd, "resize"))
        return cmd_resize(argc, argv);
    if (!strcmp(cmd, "convert"))
        return img_convert_main(argc, argv);
    fprintf(stderr, "cellvm-img: unknown command '%s'\n", cmd);
    return 1;
}
