#include "core/controller/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/api/api_json.h"
#include "core/cli/cli_restore.h"
#include "core/controller/api_cfg.h"
#include "core/controller/api_dev.h"
#include "core/controller/snapshot_check.h"
#include "ipc/channel.h"
#include "validate_api.h"

static const char *const files[] = { "config.json", "state.json", "memory-ranges" };
enum { F_CONFIG, F_STATE, F_RAM, F_COUNT };

static void unlink_all(int dir)
{
    for (int i = 0; i < F_COUNT; i++)
        (void)unlinkat(dir, files[i], 0);
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* config.json: the configuration as vm.info shows it (hot-added devices, the vCPUs now). */
static int write_config(struct api_ctl *a, int fd, char *err, size_t errlen)
{
    Cellvm__ApiVmConfig *vc = api_cfg_from_cli(a->cfg);
    char *json = vc ? apij_render(&vc->base) : NULL;
    int r = json ? write_all(fd, json, strlen(json)) : -ENOMEM;

    if (r)
        snprintf(err, errlen, "cannot write config.json: %s", strerror(-r));
    free(json);
    if (vc)
        protobuf_c_message_free_unpacked(&vc->base, NULL);
    return r;
}

const char *snapshot_refusal(struct api_ctl *a, const char *verb, char *buf, size_t len)
{
    return snapshot_cfg_refusal(a->cfg, a->mem_added, verb, buf, len);
}

void snapshot_request(struct api_ctl *a, uint64_t id, const Cellvm__ApiVmSnapshotConfig *sc)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VmSnapshot vs = CELLVM__VM_SNAPSHOT__INIT;
    struct sv_child *core = a->ops->core(a->arg);
    int fd[F_COUNT] = { -1, -1, -1 };
    char err[CLI_ERR_LEN], why[256];
    const char *dir, *no;
    int i, r = 0;

    if (a->state == API_VM_NONE) {
        api_ctl_respond(a, id, 404, "the VM is not created", NULL);
        return;
    }
    if ((a->state != API_VM_RUNNING && a->state != API_VM_PAUSED) || !core) {
        api_ctl_respond(a, id, 405, "the VM is not booted", NULL);
        return;
    }
    if (a->state != API_VM_PAUSED) {
        api_ctl_respond(a, id, 500, "Trying to snapshot while VM is running (vm.pause first)",
                        NULL);
        return;
    }
    if (a->snapshot_id || a->control_id || a->vm_resize_id || a->vm_stopping) {
        api_ctl_respond(a, id, 500, "another VM operation is in progress", NULL);
        return;
    }
    no = snapshot_refusal(a, "snapshot", why, sizeof(why));
    if (no) {
        api_ctl_respond(a, id, 500, no, NULL);
        return;
    }
    dir = cli_snapshot_dir("destination_url", sc->destination_url, err, sizeof(err));
    if (!dir) {
        api_ctl_respond(a, id, 400, err, NULL);
        return;
    }
    a->snapshot_dir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (a->snapshot_dir < 0) {
        snprintf(err, sizeof(err), "destination_url: cannot open directory '%.200s': %s", dir,
                 strerror(errno));
        api_ctl_respond(a, id, 500, err, NULL);
        return;
    }
    /* Never over an existing snapshot: every file is new (O_EXCL), none is followed. */
    for (i = 0; i < F_COUNT && !r; i++) {
        fd[i] = openat(a->snapshot_dir, files[i],
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd[i] < 0) {
            r = -errno;
            snprintf(err, sizeof(err), "destination_url: cannot create %s in '%.200s': %s%s",
                     files[i], dir, strerror(-r),
                     r == -EEXIST ? " (the directory holds a snapshot already)" : "");
        }
    }
    if (!r)
        r = write_config(a, fd[F_CONFIG], err, sizeof(err));
    if (!r) {
        env.body_case = CELLVM__ENVELOPE__BODY_VM_SNAPSHOT;
        env.vm_snapshot = &vs;
        r = sv_send(core, &env, &fd[F_STATE], 2);
        if (r)
            snprintf(err, sizeof(err), "the VM's core process is not reachable");
    }
    for (i = 0; i < F_COUNT; i++)
        if (fd[i] >= 0)
            close(fd[i]);
    if (r) {
        /* Only what this request created goes (an EEXIST file stays). */
        for (int k = 0; k < i && k < F_COUNT; k++)
            if (fd[k] >= 0)
                (void)unlinkat(a->snapshot_dir, files[k], 0);
        close(a->snapshot_dir);
        a->snapshot_dir = -1;
        api_ctl_respond(a, id, 500, err, NULL);
        return;
    }
    a->snapshot_id = id;
    evmon_event(a->evmon, "vm", "snapshotting");
}

void snapshot_on_done(struct api_ctl *a, const Cellvm__SnapshotDone *d)
{
    uint64_t id = a->snapshot_id;

    if (!id)
        return;
    a->snapshot_id = 0;
    if (d->errnum) {
        char msg[600];

        snprintf(msg, sizeof(msg), "the VM could not be snapshotted: %s",
                 d->message && *d->message ? d->message : strerror(d->errnum));
        unlink_all(a->snapshot_dir);
        api_ctl_respond(a, id, 500, msg, NULL);
    } else {
        evmon_event(a->evmon, "vm", "snapshotted");
        api_ctl_respond(a, id, 204, NULL, NULL);
    }
    close(a->snapshot_dir);
    a->snapshot_dir = -1;
}

void snapshot_abort(struct api_ctl *a, const char *why)
{
    Cellvm__SnapshotDone d = CELLVM__SNAPSHOT_DONE__INIT;

    d.errnum = EIO;
    d.message = (char *)why;
    snapshot_on_done(a, &d);
}

void snapshot_close(struct api_ctl *a)
{
    if (a->snapshot_dir >= 0)
        close(a->snapshot_dir);
    a->snapshot_dir = -1;
    ipc_close_fds(a->restore_fd, 2);
    a->restore_fd[0] = a->restore_fd[1] = -1;
}

/* config.json, bounded, as bytes. */
static char *read_config(int dir, size_t *len, char *err, size_t errlen)
{
    int fd = openat(dir, files[F_CONFIG], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    ssize_t n = -1;

    if (fd < 0) {
        snprintf(err, errlen, "source_url: cannot open config.json: %s", strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        st.st_size > SNAPSHOT_CONFIG_MAX) {
        snprintf(err, errlen, "source_url: config.json is not a file of 1 to %u bytes",
                 SNAPSHOT_CONFIG_MAX);
    } else if ((buf = malloc((size_t)st.st_size)) == NULL) {
        snprintf(err, errlen, "out of memory");
    } else if ((n = pread(fd, buf, (size_t)st.st_size, 0)) != st.st_size) {
        snprintf(err, errlen, "source_url: cannot read config.json");
        free(buf);
        buf = NULL;
    }
    close(fd);
    *len = buf ? (size_t)n : 0;
    return buf;
}

int snapshot_parse_config(const char *json, size_t len, struct cli_config *out, char *err,
                          size_t errlen)
{
    ProtobufCMessage *m = NULL;
    struct api_argv argv;
    char why[CLI_ERR_LEN];
    int r = apij_parse(json, len, &cellvm__api_vm_config__descriptor, &m, why, sizeof(why));

    memset(out, 0, sizeof(*out));
    if (r) {
        snprintf(err, errlen, "config.json: %s", why);
        return r;
    }
    r = api_cfg_to_argv((Cellvm__ApiVmConfig *)m, &argv, why, sizeof(why));
    protobuf_c_message_free_unpacked(m, NULL);
    if (!r)
        r = cli_parse(argv.n, argv.v, out, why, sizeof(why));
    api_argv_free(&argv);
    if (r) {
        snprintf(err, errlen, "config.json: %s", why);
        cli_config_free(out);
        memset(out, 0, sizeof(*out));
    }
    return r;
}

int restore_load(struct api_ctl *a, const char *url, bool prefault, const struct restore_nets *nets,
                 char *err, size_t errlen)
{
    struct cli_config tmp;
    const char *path = cli_snapshot_dir("source_url", url, err, errlen);
    char why[300];
    int dir, fd[2] = { -1, -1 }, r = 0;
    bool have;
    size_t len = 0;
    char *json;

    if (!path)
        return -EINVAL;
    dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        r = -errno;
        snprintf(err, errlen, "source_url: cannot open directory '%.200s': %s", path, strerror(-r));
        return r;
    }
    json = read_config(dir, &len, err, errlen);
    if (!json) {
        close(dir);
        return -EINVAL;
    }
    r = snapshot_parse_config(json, len, &tmp, err, errlen);
    free(json);
    have = !r;
    for (int i = 0; !r && i < 2; i++) {
        struct stat st;

        fd[i] = openat(dir, files[F_STATE + i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd[i] < 0 || fstat(fd[i], &st) || !S_ISREG(st.st_mode)) {
            r = fd[i] < 0 ? -errno : -EINVAL;
            snprintf(err, errlen, "source_url: cannot open %s as a file: %s", files[F_STATE + i],
                     strerror(-r));
        }
    }
    close(dir);
    if (r) {
        ipc_close_fds(fd, 2);
        if (have)
            cli_config_free(&tmp);
        return r;
    }
    if (!tmp.payload.kernel) {
        cli_config_free(&tmp);
        ipc_close_fds(fd, 2);
        snprintf(err, errlen, "config.json: the VM has no payload.kernel");
        return -EINVAL;
    }
    /* net_fds: the caller's TAPs instead of the old process's fd numbers. */
    r = nets ? restore_net_fds_apply(&tmp, nets->v, nets->n, nets->fds, nets->nfds, err, errlen)
             : 0;
    if (r) {
        cli_config_free(&tmp);
        ipc_close_fds(fd, 2);
        return r;
    }
    /* A config.json edited (or written by another VMM) to hold what cellvm cannot restore. */
    if (snapshot_cfg_refusal(&tmp, 0, "restore", why, sizeof(why))) {
        cli_config_free(&tmp);
        ipc_close_fds(fd, 2);
        snprintf(err, errlen, "config.json: %s", why);
        return -EINVAL;
    }
    if (prefault)
        tmp.memory.prefault = true;
    api_ctl_adopt_config(a, &tmp);
    ipc_close_fds(a->restore_fd, 2);
    a->restore_fd[0] = fd[0];
    a->restore_fd[1] = fd[1];
    a->restoring = true;
    return 0;
}

void restore_request(struct api_ctl *a, uint64_t id, const Cellvm__ApiRestoreConfig *rc, int *fds,
                     size_t nfds)
{
    struct restore_net_fds v[PB_API_MAX_NET_FDS];
    struct restore_nets nets = { .v = v, .n = rc->n_net_fds, .fds = fds, .nfds = nfds };
    char err[CLI_ERR_LEN];
    int r;

    if (a->state != API_VM_NONE) {
        ipc_close_fds(fds, nfds);
        api_ctl_respond(a, id, 404, "the VM is already created", NULL);
        return;
    }
    if (rc->n_net_fds > PB_API_MAX_NET_FDS) {
        ipc_close_fds(fds, nfds);
        api_ctl_respond(a, id, 400, "net_fds: too many entries", NULL);
        return;
    }
    for (size_t i = 0; i < rc->n_net_fds; i++) {
        v[i].id = rc->net_fds[i]->id;
        v[i].num_fds = rc->net_fds[i]->num_fds;
    }
    /* Owned (and checked to be TAPs) first; dropped again if the restore goes no further. */
    r = api_dev_take_net_fds(a, fds, nfds, "net_fds", err, sizeof(err));
    if (!r)
        r = restore_load(a, rc->source_url, rc->has_prefault && rc->prefault, &nets, err,
                         sizeof(err));
    if (r) {
        api_dev_drop_net_fds(a);
        api_ctl_respond(a, id, r == -ENOMEM ? 500 : 400, err, NULL);
        return;
    }
    a->state = API_VM_CREATED;
    evmon_event(a->evmon, "vm", "restoring");
    /* The rest is vm.boot's: answered when the core is Ready, or 500 when it fails. */
    api_ctl_boot(a, id);
    if (a->restoring)
        a->state = API_VM_CREATED; /* Paused once the core has loaded the snapshot */
}

void restore_on_ready(struct api_ctl *a)
{
    if (!a->restoring)
        return;
    a->restoring = false;
    a->state = API_VM_PAUSED;
    restore_fds_sent(a);
    evmon_event(a->evmon, "vm", "restored");
}

void restore_on_failed(struct api_ctl *a)
{
    if (!a->restoring)
        return;
    a->restoring = false;
    a->state = API_VM_NONE;
    restore_fds_sent(a);
    api_dev_drop_net_fds(a); /* net_fds' TAPs go with the VM that was not made */
}

void restore_fds_sent(struct api_ctl *a)
{
    ipc_close_fds(a->restore_fd, 2);
    a->restore_fd[0] = a->restore_fd[1] = -1;
}
