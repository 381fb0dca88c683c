/*
 * cellvm-remote: ch-remote's subcommands against a cellvm (or Cloud Hypervisor) --api-socket.
 * One HTTP/1.1 request per run over the unix socket; the answer's JSON body is printed as is,
 * an error status prints the server's message and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/api/api_json.h"
#include "core/api/remote_dev.h"
#include "core/cli/cli_restore.h"

#define MAX_ANSWER (1024 * 1024)

struct cmd {
    const char *name;
    const char *method;
    const char *path;
    const char *usage; /* the positional argument, NULL if none */
    const char *key;   /* JSON key the argument becomes, or NULL */
};

static const struct cmd cmds[] = {
    { "ping", "GET", "vmm.ping", NULL, NULL },
    { "shutdown-vmm", "PUT", "vmm.shutdown", NULL, NULL },
    { "info", "GET", "vm.info", NULL, NULL },
    { "counters", "GET", "vm.counters", NULL, NULL },
    { "create", "PUT", "vm.create", "<VmConfig JSON file, or - for stdin>", NULL },
    { "boot", "PUT", "vm.boot", NULL, NULL },
    { "delete", "PUT", "vm.delete", NULL, NULL },
    { "pause", "PUT", "vm.pause", NULL, NULL },
    { "resume", "PUT", "vm.resume", NULL, NULL },
    { "shutdown", "PUT", "vm.shutdown", NULL, NULL },
    { "reboot", "PUT", "vm.reboot", NULL, NULL },
    { "power-button", "PUT", "vm.power-button", NULL, NULL },
    { "nmi", "PUT", "vm.nmi", NULL, NULL },
    { "resize", "PUT", "vm.resize", NULL, NULL },
    { "resize-zone", "PUT", "vm.resize-zone", NULL, NULL },
    { "resize-disk", "PUT", "vm.resize-disk", NULL, NULL },
    { "add-device", "PUT", "vm.add-device", "<device config>", NULL },
    { "add-user-device", "PUT", "vm.add-user-device", "<user device config>", NULL },
    { "add-disk", "PUT", "vm.add-disk", "<disk config>", NULL },
    { "add-fs", "PUT", "vm.add-fs", "<virtio-fs config>", NULL },
    { "add-pmem", "PUT", "vm.add-pmem", "<pmem config>", NULL },
    { "add-net", "PUT", "vm.add-net", "<net config>", NULL },
    { "add-vsock", "PUT", "vm.add-vsock", "<vsock config>", NULL },
    { "remove-device", "PUT", "vm.remove-device", "<device id>", "id" },
    { "snapshot", "PUT", "vm.snapshot", "<destination_url>", "destination_url" },
    { "coredump", "PUT", "vm.coredump", "<destination_url>", "destination_url" },
    { "restore", "PUT", "vm.restore",
      "source_url=<url>[,prefault=on][,net_fds=[<id>@[<fd>,...],...]]", "source_url" },
    { "send-migration", "PUT", "vm.send-migration", "<destination_url> [--local]",
      "destination_url" },
    { "receive-migration", "PUT", "vm.receive-migration", "<receiver_url>", "receiver_url" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cellvm-remote --api-socket PATH <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        fprintf(out, "  %-18s %s\n", cmds[i].name,
                cmds[i].usage                          ? cmds[i].usage
                : !strcmp(cmds[i].name, "resize-disk") ? "--disk <id> --size <bytes, K/M/G suffix>"
                : !strcmp(cmds[i].name, "resize")      ? "[--cpus <n>] [--memory <size>] "
                                                         "[--balloon <size>]"
                : !strcmp(cmds[i].name, "resize-zone") ? "--id <zone id> --size <size>"
                                                       : "");
    fprintf(out, "\nDevice configs use cellvm's (Cloud Hypervisor's) command-line syntax, e.g.\n"
                 "  cellvm-remote --api-socket /run/vm.sock add-disk path=/img.raw,id=disk1\n"
                 "\nSee cellvm-remote(1).\n");
}

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);

    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);

        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            char *nb = cap < MAX_ANSWER ? realloc(buf, cap * 2) : NULL;

            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf)
        *len = n;
    return buf;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -EINVAL;
    if (*end == 'K')
        shift = 10;
    else if (*end == 'M')
        shift = 20;
    else if (*end == 'G')
        shift = 30;
    if (shift)
        end++;
    if (*end || v > (UINT64_MAX >> shift))
        return -EINVAL;
    *out = (uint64_t)v << shift;
    return 0;
}

/* Writes the whole request; the fds go with its first byte. */
static int send_all(int fd, const char *buf, size_t len, const int *fds, size_t nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * REMOTE_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    size_t off = 0;

    while (off < len) {
        struct iovec iov = { .iov_base = (char *)buf + off, .iov_len = len - off };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (nfds && !off) {
            struct cmsghdr *cm;

            memset(&ctl, 0, sizeof(ctl));
            mh.msg_control = ctl.buf;
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
            cm = CMSG_FIRSTHDR(&mh);
            if (!cm)
                return -1;
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
            memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
        }
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/* Sends one request and prints the answer. Returns the process exit status. */
static int request(const char *sock, const char *method, const char *path, const char *body,
                   const int *fds, size_t nfds)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    size_t blen = body ? strlen(body) : 0, alen = 0, rlen = 0;
    char *answer = NULL, *sep, *rq = NULL;
    FILE *f = NULL, *m;
    int fd, status = 0, ret = 1;

    if (strlen(sock) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "Error: socket path too long\n");
        return 1;
    }
    strcpy(addr.sun_path, sock);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
        fprintf(stderr, "Error: cannot connect to %s: %s\n", sock, strerror(errno));
        goto out;
    }
    m = open_memstream(&rq, &rlen);
    if (!m)
        goto out;
    fprintf(m,
            "%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\nConnection: "
            "close\r\n",
            method, path);
    if (body)
        fprintf(m, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", blen, body);
    else
        fprintf(m, "Content-Length: 0\r\n\r\n");
    if (fclose(m) || !rq || send_all(fd, rq, rlen, fds, nfds)) {
        fprintf(stderr, "Error: cannot send the request to %s: %s\n", sock, strerror(errno));
        goto out;
    }
    f = fdopen(fd, "r");
    if (!f)
        goto out;
    fd = -1;
    answer = read_all(f, &alen);
    if (!answer || alen == 0 || sscanf(answer, "HTTP/1.%*d %d", &status) != 1) {
        fprintf(stderr, "Error: no valid answer from %s\n", sock);
        goto out;
    }
    answer[alen < MAX_ANSWER ? alen : MAX_ANSWER - 1] = '\0';
    sep = strstr(answer, "\r\n\r\n");
    sep = sep ? sep + 4 : answer + alen;
    if (status >= 200 && status < 300) {
        if (*sep)
            printf("%s\n", sep);
        ret = 0;
    } else {
        fprintf(stderr, "Error: %s returned %d: %s", path, status, *sep ? sep : "\n");
    }
out:
    free(rq);
    free(answer);
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    return ret;
}

static char *resize_disk_body(int argc, char **argv)
{
    static const struct option opts[] = {
        { "disk", required_argument, NULL, 'd' },
        { "size", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    const char *id = NULL;
    uint64_t size = 0;
    bool have_size = false;
    json_object *o;
    char *s;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            id = optarg;
        else if (c == 's' && !parse_size(optarg, &size))
            have_size = true;
        else
            return NULL;
    }
    if (!id || !have_size)
        return NULL;
    o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "desired_size", json_object_new_uint64(size));
    s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

/* ch-remote's resize (--cpus, --memory, --balloon: VmResize) and resize-zone (--id, --size:
 * VmResizeZone). NULL on a bad or missing argument. */
static char *resize_body(int argc, char **argv, bool zone)
{
    static const struct option opts[] = {
        { "cpus", required_argument, NULL, 'c' },    { "memory", required_argument, NULL, 'm' },
        { "balloon", required_argument, NULL, 'b' }, { "id", required_argument, NULL, 'i' },
        { "size", required_argument, NULL, 's' },    { NULL, 0, NULL, 0 },
    };
    json_object *o = json_object_new_object();
    uint64_t v;
    bool bad = !o;
    char *s;
    int c;

    optind = 1;
    while (!bad && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c' && !zone && !parse_size(optarg, &v) && v && v <= 255 &&
            !strpbrk(optarg, "KMG"))
            json_object_object_add(o, "desired_vcpus", json_object_new_uint64(v));
        else if ((c == 'm' && !zone) || (c == 's' && zone))
            bad = parse_size(optarg, &v) ||
                  json_object_object_add(o, "desired_ram", json_object_new_uint64(v));
        else if (c == 'b' && !zone)
            bad = parse_size(optarg, &v) ||
                  json_object_object_add(o, "desired_balloon", json_object_new_uint64(v));
        else if (c == 'i' && zone)
            json_object_object_add(o, "id", json_object_new_string(optarg));
        else
            bad = true;
    }
    if (!bad && (optind < argc || (zone && (!json_object_object_get_ex(o, "id", NULL) ||
                                            !json_object_object_get_ex(o, "desired_ram", NULL)))))
        bad = true;
    if (bad) {
        json_object_put(o);
        return NULL;
    }
    s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

/* send-migration <destination_url> [--local], in either order, as ch-remote's. */
static char *send_migration_body(int argc, char **argv)
{
    const char *url = NULL;
    bool local = false;
    json_object *o;
    char *s;

    for (int k = 0; k < argc; k++) {
        if (!strcmp(argv[k], "--local") && !local)
            local = true;
        else if (argv[k][0] != '-' && !url)
            url = argv[k];
        else
            return NULL;
    }
    if (!url)
        return NULL;
    o = json_object_new_object();
    json_object_object_add(o, "destination_url", json_object_new_string(url));
    json_object_object_add(o, "local", json_object_new_boolean(local));
    s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

/* restore's net_fds=[id@[fd,...],...]: the entries in the body, the fds (this process's,
 * inherited) sent with the request, as ch-remote does. 0, or -1 with the error printed. */
static int restore_nets(json_object *o, const struct cli_restore *rc, int *fds, size_t *nfds)
{
    json_object *a;

    if (!rc->nnets)
        return 0;
    a = json_object_new_array();
    json_object_object_add(o, "net_fds", a);
    for (size_t i = 0; i < rc->nnets; i++) {
        json_object *n = json_object_new_object();

        json_object_object_add(n, "id", json_object_new_string(rc->nets[i].id));
        json_object_object_add(n, "num_fds", json_object_new_int((int)rc->nets[i].fds.n));
        json_object_array_add(a, n);
        for (size_t j = 0; j < rc->nets[i].fds.n; j++) {
            if (*nfds == REMOTE_MAX_FDS) {
                fprintf(stderr, "Error: net_fds: more than %d fds\n", REMOTE_MAX_FDS);
                return -1;
            }
            fds[(*nfds)++] = (int)rc->nets[i].fds.v[j];
        }
    }
    return 0;
}

static char *arg_body(const struct cmd *c, const char *arg, int *fds, size_t *nfds)
{
    json_object *o;
    char *s;
    size_t len = 0;

    if (!strcmp(c->name, "create")) {
        FILE *f = strcmp(arg, "-") ? fopen(arg, "re") : stdin;

        if (!f) {
            fprintf(stderr, "Error: cannot open %s: %s\n", arg, strerror(errno));
            return NULL;
        }
        s = read_all(f, &len);
        if (f != stdin)
            fclose(f);
        if (s) {
            char *t = realloc(s, len + 1);

            if (!t) {
                free(s);
                return NULL;
            }
            s = t;
            s[len] = '\0';
        }
        return s;
    }
    o = json_object_new_object();
    if (!strcmp(c->name, "restore") && strchr(arg, '=')) {
        /* ch-remote's RestoreConfig syntax: source_url=...[,prefault=on][,net_fds=[...]] */
        struct cli_restore rc = { 0 };
        char why[256];

        if (cli_restore_parse(arg, &rc, why, sizeof(why))) {
            fprintf(stderr, "Error: %s\n", why);
            json_object_put(o);
            return NULL;
        }
        json_object_object_add(o, "source_url", json_object_new_string(rc.source_url));
        json_object_object_add(o, "prefault", json_object_new_boolean(rc.prefault));
        if (restore_nets(o, &rc, fds, nfds)) {
            cli_restore_free(&rc);
            json_object_put(o);
            return NULL;
        }
        cli_restore_free(&rc);
    } else {
        json_object_object_add(o, c->key, json_object_new_string(arg));
    }
    s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

int main(int argc, char **argv)
{
    const char *sock = NULL;
    const struct cmd *c = NULL;
    char *body = NULL, err[512];
    int fds[REMOTE_MAX_FDS];
    size_t nfds = 0;
    int i, ret;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--api-socket") && i + 1 < argc)
            sock = argv[++i];
        else if (!strncmp(argv[i], "--api-socket=", 13))
            sock = argv[i] + 13;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else
            break;
    }
    if (!sock || i >= argc) {
        usage(stderr);
        return 2;
    }
    for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
        if (!strcmp(cmds[k].name, argv[i]))
            c = &cmds[k];
    if (!c) {
        fprintf(stderr, "Error: unknown command '%s'\n", argv[i]);
        usage(stderr);
        return 2;
    }
    if (!strcmp(c->name, "resize") || !strcmp(c->name, "resize-zone")) {
        body = resize_body(argc - i, argv + i, !strcmp(c->name, "resize-zone"));
        if (!body) {
            fprintf(stderr, "Error: %s needs %s\n", c->name,
                    !strcmp(c->name, "resize") ? "--cpus <n>, --memory <size> or --balloon <size>"
                                               : "--id <zone id> --size <size>");
            return 2;
        }
    } else if (remote_dev_command(c->name)) {
        if (i + 1 >= argc) {
            fprintf(stderr, "Error: %s needs %s\n", c->name, c->usage);
            return 2;
        }
        if (remote_dev_body(c->name, argv[i + 1], &body, fds, &nfds, err, sizeof(err))) {
            fprintf(stderr, "Error: %s: %s\n", c->name, err);
            return 1;
        }
    } else if (!strcmp(c->name, "send-migration")) {
        body = send_migration_body(argc - i - 1, argv + i + 1);
        if (!body) {
            fprintf(stderr, "Error: send-migration needs %s\n", c->usage);
            return 2;
        }
    } else if (!strcmp(c->name, "resize-disk")) {
        body = resize_disk_body(argc - i, argv + i);
        if (!body) {
            fprintf(stderr, "Error: resize-disk needs --disk <id> --size <bytes>\n");
            return 2;
        }
    } else if (c->usage) {
        if (i + 1 >= argc) {
            fprintf(stderr, "Error: %s needs %s\n", c->name, c->usage);
            return 2;
        }
        body = arg_body(c, argv[i + 1], fds, &nfds);
        if (!body)
            return 1;
    }
    ret = request(sock, c->method, c->path, body, fds, nfds);
    free(body);
    return ret;
}
