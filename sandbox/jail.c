#include "sandbox/jail.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/bpf.h"
#include "sandbox/jail_sys.h"
#include "sandbox/spawn.h"
#ifdef CELLVM_TEST_HOOKS
#include "sandbox/probe.h"
#endif

/* Where the new root is built before pivot_root; any directory every host has will do. */
#define NEW_ROOT          "/tmp"
#define MAX_KEEP          512
#define MAX_BINDS         8
#define STANDALONE_NOBODY 65534
/* Test builds: a forbidden action (sandbox/probe.h) attempted right after the filter loads. */
#define PROBE_ENV "CELLVM_TEST_JAIL_PROBE"

enum launch_kind {
    LAUNCH_STANDALONE, /* started by someone else: unshare here */
    LAUNCH_USERNS,     /* cellvm created every namespace and wrote the maps */
    LAUNCH_ROOT,       /* cellvm (root) created all but the user namespace: change uid */
    LAUNCH_NONE,       /* cellvm could create no namespace: seccomp and NNP only */
};

struct launch {
    enum launch_kind kind;
    uid_t uid; /* LAUNCH_ROOT and root standalone: the uid to become */
    gid_t gid;
    bool own_mount_ns;
    bool settle; /* root standalone: take ids 0 of the new user namespace (host nobody) */
};

struct defaults {
    uint64_t nofile, nproc;
};

static const struct defaults profile_defaults[SBX_PROFILE_COUNT] = {
    [SBX_PROFILE_BALLOOND] = { 256, 16 }, /* one thread per queue (3 at most) */
    [SBX_PROFILE_CORE] = { 4096, 512 },   /* vCPU threads count against NPROC */
    [SBX_PROFILE_VCPU] = { 0, 0 },
    [SBX_PROFILE_BLOCKD] = { 1024, 256 }, /* io-wq workers count against NPROC */
    [SBX_PROFILE_NETD] = { 256, 64 },     /* one thread per queue pair */
    [SBX_PROFILE_VSOCKD] = { 2048, 64 },  /* up to 1023 streams, each a host socket */
    [SBX_PROFILE_VSOCKCONN] = { 0, 0 },   /* sbx_enter_helper sets no limits */
    [SBX_PROFILE_VFIOD] = { 256, 16 },    /* one thread; up to 16 fds per message */
    [SBX_PROFILE_RNGD] = { 256, 16 },     /* no thread; memory regions and eventfds */
    [SBX_PROFILE_CONSOLED] = { 256, 16 }, /* no thread; memory regions and eventfds */
};

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t len, int r, const char *fmt,
                                                      ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(err, len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < len)
        snprintf(err + n, len - (size_t)n, ": %s", strerror(r < 0 ? -r : r));
    return r < 0 ? r : -r;
}

static int read_launch(struct launch *l)
{
    const char *v = getenv(SBX_LAUNCH_ENV);
    unsigned long uid, gid;

    memset(l, 0, sizeof(*l));
    if (!v) {
        l->kind = LAUNCH_STANDALONE;
        return 0;
    }
    if (!strcmp(v, SBX_LAUNCH_USERNS)) {
        l->kind = LAUNCH_USERNS;
        l->own_mount_ns = true;
        return 0;
    }
    if (!strcmp(v, SBX_LAUNCH_NONE)) {
        l->kind = LAUNCH_NONE;
        return 0;
    }
    if (sscanf(v, SBX_LAUNCH_ROOT ":%lu:%lu", &uid, &gid) == 2 && uid && gid && uid < UINT32_MAX &&
        gid < UINT32_MAX) {
        l->kind = LAUNCH_ROOT;
        l->uid = (uid_t)uid;
        l->gid = (gid_t)gid;
        l->own_mount_ns = true;
        return 0;
    }
    return -EINVAL;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* Closes every fd above 2 that is not listed, in the gaps between the kept ones. */
static int close_others(const int *keep, size_t n)
{
    int sorted[MAX_KEEP];
    unsigned lo = 3;

    if (n > MAX_KEEP)
        return -E2BIG;
    memcpy(sorted, keep, n * sizeof(*keep));
    qsort(sorted, n, sizeof(*sorted), cmp_int);
    for (size_t i = 0; i < n; i++) {
        if (sorted[i] < (int)lo)
            continue;
        if ((unsigned)sorted[i] > lo && close_range(lo, (unsigned)sorted[i] - 1, 0) < 0)
            return -errno;
        lo = (unsigned)sorted[i] + 1;
    }
    return close_range(lo, ~0u, 0) < 0 ? -errno : 0;
}

static int set_limit(int res, uint64_t v)
{
    struct rlimit rl = { .rlim_cur = v, .rlim_max = v };

    return setrlimit(res, &rl) < 0 ? -errno : 0;
}

static int set_limits(const struct sbx_config *cfg, char *err, size_t len)
{
    const struct defaults *d = &profile_defaults[cfg->profile];
    uint64_t nofile = cfg->nofile ? cfg->nofile : d->nofile;
    uint64_t nproc = cfg->nproc ? cfg->nproc : d->nproc;
    int r;

    if ((r = set_limit(RLIMIT_CORE, 0)))
        return fail(err, len, r, "RLIMIT_CORE");
    if (cfg->memlock && (r = set_limit(RLIMIT_MEMLOCK, cfg->memlock)))
        return fail(err, len, r, "RLIMIT_MEMLOCK %" PRIu64, cfg->memlock);
    if (nofile && (r = set_limit(RLIMIT_NOFILE, nofile)))
        return fail(err, len, r, "RLIMIT_NOFILE %" PRIu64, nofile);
    if (nproc && (r = set_limit(RLIMIT_NPROC, nproc)))
        return fail(err, len, r, "RLIMIT_NPROC %" PRIu64, nproc);
    return 0;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t n = strlen(text);
    ssize_t w;
    int r = 0;

    if (fd < 0)
        return -errno;
    w = write(fd, text, n);
    if (w < 0)
        r = -errno;
    else if ((size_t)w != n)
        r = -EIO;
    close(fd);
    return r;
}

/* Standalone: new namespaces (no PID namespace: that needs a clone by the parent). An
 * unprivileged process maps its own ids to root of a new user namespace. Root has the new
 * namespace's root mapped to nobody, takes those ids once its bind sources are open
 * (l->settle); where even root may not create a user namespace, it keeps the host's (where it
 * may still mount) and becomes nobody at the capability step. */
static int unshare_standalone(struct launch *l, char *err, size_t len)
{
    const int others = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
    uid_t uid = geteuid();
    gid_t gid = getegid();
    char map[64];
    int r;

    l->own_mount_ns = true;
    if (uid == 0) {
        r = sbx_sys_unshare_mapped(CLONE_NEWUSER | others, STANDALONE_NOBODY, STANDALONE_NOBODY);
        if (!r) {
            l->settle = true;
            return 0;
        }
        if (unshare(others) < 0)
            return fail(err, len, -errno, "unshare");
        l->uid = STANDALONE_NOBODY;
        l->gid = STANDALONE_NOBODY;
        return 0;
    }
    if (unshare(CLONE_NEWUSER | others) < 0)
        return fail(err, len, -errno, "unshare (user namespaces refused?)");
    r = write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
    if (!r)
        r = write_file("/proc/self/uid_map", map);
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
    if (!r)
        r = write_file("/proc/self/gid_map", map);
    if (r)
        return fail(err, len, r, "user namespace maps");
    return 0;
}

static void close_fds(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* Each bind source is pinned by an O_PATH fd in the new mount namespace (a bind from another
 * namespace's mount fails), while root standalone still has its host ids for the path walk,
 * and before the tmpfs goes up on NEW_ROOT (/tmp), which would hide a source below it, such
 * as a socket directory in /tmp. */
static int open_binds(const struct sbx_config *cfg, int *src, char *err, size_t len)
{
    if (cfg->nbinds > MAX_BINDS)
        return fail(err, len, -E2BIG, "more than %d binds", MAX_BINDS);
    for (size_t i = 0; i < cfg->nbinds; i++) {
        const struct sbx_bind *b = &cfg->binds[i];

        if (!b->name[0] || strchr(b->name, '/') || !strcmp(b->name, ".") || !strcmp(b->name, ".."))
            return fail(err, len, -EINVAL, "bind name '%s'", b->name);
        src[i] = open(b->src, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (src[i] < 0)
            return fail(err, len, -errno, "bind source %s", b->src);
    }
    return 0;
}

static int make_root(const struct sbx_config *cfg, const int *src, char *err, size_t len)
{
    char dst[256], via[64];
    int r;

    if ((r = sbx_sys_mount_tmpfs(NEW_ROOT)))
        return fail(err, len, r, "tmpfs root");
    for (size_t i = 0; i < cfg->nbinds; i++) {
        snprintf(dst, sizeof(dst), NEW_ROOT "/%s", cfg->binds[i].name);
        snprintf(via, sizeof(via), "/proc/self/fd/%d", src[i]);
        if (mkdir(dst, 0700) < 0)
            return fail(err, len, -errno, "mkdir %s", dst);
        if ((r = sbx_sys_bind(via, dst, cfg->binds[i].writable)))
            return fail(err, len, r, "bind %s", cfg->binds[i].src);
    }
    r = sbx_sys_pivot_into(NEW_ROOT);
    return r ? fail(err, len, r, "pivot_root") : 0;
}

static int drop_caps(const struct launch *l, char *err, size_t len)
{
    bool change_id = l->kind == LAUNCH_ROOT || (l->kind == LAUNCH_STANDALONE && l->uid);
    capng_select_t what = CAPNG_SELECT_ALL;
    int setpcap = sbx_sys_has_setpcap();
    int r;

    if (setpcap < 0)
        return fail(err, len, setpcap, "reading capabilities");
    /* Securebits first, while CAP_SETPCAP is still held: no root magic at a later exec or uid
     * change (no_new_privs and seccomp forbid exec anyway). */
    if (setpcap && capng_lock() < 0)
        return fail(err, len, -EPERM, "locking securebits");
    /* Without CAP_SETPCAP (cellvm unprivileged and no user namespace) the bounding set cannot
     * shrink; no_new_privs keeps it from ever mattering. */
    if (!setpcap)
        what = (capng_select_t)(CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);
    capng_clear(CAPNG_SELECT_ALL);
    if (change_id) {
        if (capng_change_id((int)l->uid, (int)l->gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) <
            0)
            return fail(err, len, -EPERM, "changing to uid %u", (unsigned)l->uid);
    }
    if (capng_apply(what) < 0)
        return fail(err, len, -EPERM, "dropping capabilities");
    /* Trust the kernel's view, not libcap-ng's cache. */
    r = sbx_sys_caps_empty(setpcap);
    return r ? fail(err, len, r, "capabilities left after the drop") : 0;
}

/* The precompiled program (sandbox/bpf.h), for every thread: no_new_privs is already set. */
static int load_filter(const struct sbx_config *cfg, char *err, size_t len)
{
    const struct sock_filter *prog;
    uint16_t n;
    int r;

    if (cfg->seccomp == SBX_SECCOMP_OFF)
        return 0;
    r = sbx_bpf_get(cfg->profile, cfg->seccomp, &prog, &n);
    if (r)
        return fail(err, len, r, "seccomp profile %s", sbx_profile_name(cfg->profile));
    r = sbx_bpf_load(prog, n);
    return r ? fail(err, len, r, "loading the seccomp filter") : 0;
}

#ifdef CELLVM_TEST_HOOKS
static void probe_take(char *buf, size_t len)
{
    const char *p = getenv(PROBE_ENV);

    snprintf(buf, len, "%s", p ? p : "");
}

static void probe_run(const char *action)
{
    int r;

    if (!action[0])
        return;
    r = sbx_probe(action);
    fprintf(stderr, "test hook: probe %s: %s %d\n", action, r ? "errno" : "allowed", -r);
}
#else
static void probe_take(char *buf, size_t len)
{
    (void)len;
    buf[0] = '\0';
}

static void probe_run(const char *action)
{
    (void)action;
}
#endif

int sbx_enter(const struct sbx_config *cfg, char *err, size_t len)
{
    int src[MAX_BINDS];
    size_t nsrc = cfg->nbinds <= MAX_BINDS ? cfg->nbinds : 0;
    char probe[32];
    struct launch l;
    int r;

    for (size_t i = 0; i < MAX_BINDS; i++)
        src[i] = -1;
    if ((unsigned)cfg->profile >= SBX_PROFILE_COUNT || cfg->profile == SBX_PROFILE_VCPU ||
        cfg->profile == SBX_PROFILE_VSOCKCONN)
        return fail(err, len, -EINVAL, "jail: no process profile %d", (int)cfg->profile);
    if (read_launch(&l))
        return fail(err, len, -EINVAL, "jail: bad %s", SBX_LAUNCH_ENV);
    probe_take(probe, sizeof(probe));
    /* glibc loads the time zone on the first gmtime_r/localtime_r (the RTC's), opening
     * /etc/localtime: do it now, while there is a file system and no filter. */
    tzset();
    r = close_others(cfg->keep_fds, cfg->nkeep);
    if (r) {
        r = fail(err, len, r, "closing inherited fds");
        goto out;
    }
    if (clearenv()) {
        r = fail(err, len, -ENOMEM, "clearenv");
        goto out;
    }
    umask(077);
    r = set_limits(cfg, err, len);
    if (!r && l.kind == LAUNCH_STANDALONE)
        r = unshare_standalone(&l, err, len);
    if (!r && l.own_mount_ns)
        r = open_binds(cfg, src, err, len);
    if (!r && l.settle && (r = sbx_sys_become(0, 0)))
        r = fail(err, len, r, "taking the user namespace's ids");
    if (r)
        goto out;
    if ((r = sbx_sys_set_dumpable(false))) {
        r = fail(err, len, r, "PR_SET_DUMPABLE");
        goto out;
    }
    if ((r = sbx_sys_set_no_new_privs())) {
        r = fail(err, len, r, "PR_SET_NO_NEW_PRIVS");
        goto out;
    }
    if (l.own_mount_ns) {
        r = make_root(cfg, src, err, len);
        if (r)
            goto out;
        if (cfg->rooted)
            *cfg->rooted = true;
    }
    close_fds(src, nsrc);
    nsrc = 0;
    r = drop_caps(&l, err, len);
    if (!r)
        r = load_filter(cfg, err, len);
    if (!r)
        probe_run(probe);
out:
    close_fds(src, nsrc);
    return r;
}

int sbx_enter_helper(const struct sbx_config *cfg, char *err, size_t len)
{
    int r;

    if (cfg->profile != SBX_PROFILE_VSOCKCONN)
        return fail(err, len, -EINVAL, "helper jail: no helper profile %d", (int)cfg->profile);
    r = close_others(cfg->keep_fds, cfg->nkeep);
    if (r)
        return fail(err, len, r, "closing inherited fds");
    if ((r = sbx_sys_set_dumpable(false)))
        return fail(err, len, r, "PR_SET_DUMPABLE");
    if ((r = sbx_sys_set_no_new_privs()))
        return fail(err, len, r, "PR_SET_NO_NEW_PRIVS");
    return load_filter(cfg, err, len);
}

int sbx_thread_filter_build(enum sbx_profile p, enum sbx_seccomp mode,
                            struct sbx_thread_filter *out)
{
    const struct sock_filter *prog;
    uint16_t n;
    int r;

    out->prog = NULL;
    out->len = 0;
    if (mode == SBX_SECCOMP_OFF)
        return 0;
    r = sbx_bpf_get(p, mode, &prog, &n);
    if (r)
        return r;
    out->prog = prog;
    out->len = n;
    return 0;
}

int sbx_thread_filter_apply(const struct sbx_thread_filter *f)
{
    return f->len ? sbx_bpf_load_thread(f->prog, f->len) : 0;
}

void sbx_thread_filter_free(struct sbx_thread_filter *f)
{
    f->prog = NULL;
    f->len = 0;
}
