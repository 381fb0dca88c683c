/*
 * sbx-probe PROFILE ACTION [MODE]: jails itself standalone with the named process profile
 * (sandbox/jail.h) and then:
 *   count         prints how many syscalls the profile allows, without jailing (exit 0)
 *   hold          prints "ready" and blocks reading stdin, for /proc inspection
 *   uring FILE    (FILE opened before the jail) a restricted ring reads it through a fixed
 *                 file, then tries a forbidden opcode: prints both results
 *   thread-ACT    a thread applies the vCPU filter and attempts ACT (sandbox/probe.h)
 *   ACT           attempts ACT: prints "probe ACT: errno N" or "probe ACT: allowed"
 * MODE is on (default), log or off. Exit status 0 unless the jail failed (2) or usage (64).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/jail.h"
#include "sandbox/probe.h"
#include "sandbox/uring.h"

struct thread_job {
    struct sbx_thread_filter *filter;
    const char *action;
    int result;
};

static void *thread_main(void *arg)
{
    struct thread_job *j = arg;
    int r = sbx_thread_filter_apply(j->filter);

    j->result = r ? r : sbx_probe(j->action);
    return NULL;
}

static int run_uring(int fd)
{
    struct io_uring ring;
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    char buf[64];
    int r = sbx_uring_init(8, &ring, 0, &sbx_uring_blockd);

    if (r) {
        printf("uring init: %s\n", strerror(-r));
        return 1;
    }
    r = io_uring_register_files_update(&ring, 0, &fd, 1);
    printf("uring files-update: %d\n", r);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, 0, buf, sizeof(buf), 0);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_submit(&ring);
    r = io_uring_wait_cqe(&ring, &cqe);
    printf("uring read fixed: %d\n", r ? r : cqe->res);
    if (!r)
        io_uring_cqe_seen(&ring, cqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
    io_uring_submit(&ring);
    r = io_uring_wait_cqe(&ring, &cqe);
    printf("uring read unregistered fd: %d\n", r ? r : cqe->res);
    if (!r)
        io_uring_cqe_seen(&ring, cqe);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_submit(&ring);
    r = io_uring_wait_cqe(&ring, &cqe);
    printf("uring openat: %d\n", r ? r : cqe->res);
    io_uring_queue_exit(&ring);
    return 0;
}

int main(int argc, char **argv)
{
    struct sbx_config cfg = { .seccomp = SBX_SECCOMP_ON };
    struct sbx_thread_filter vf = { 0 };
    char err[256];
    int keep = -1, r;

    if (argc < 3 || sbx_profile_from_name(argv[1], &cfg.profile)) {
        fprintf(stderr, "usage: sbx-probe PROFILE ACTION [on|log|off]\n");
        return 64;
    }
    if (!strcmp(argv[2], "count")) {
        r = sbx_profile_count_allowed(cfg.profile);
        printf("%s allows %d syscalls\n", argv[1], r);
        return r < 0 ? 2 : 0;
    }
    if (argc > 3 && !strcmp(argv[argc - 1], "log"))
        cfg.seccomp = SBX_SECCOMP_LOG;
    if (argc > 3 && !strcmp(argv[argc - 1], "off"))
        cfg.seccomp = SBX_SECCOMP_OFF;
    if (!strcmp(argv[2], "uring")) {
        keep = argc > 3 ? open(argv[3], O_RDONLY | O_CLOEXEC) : -1;
        if (keep < 0) {
            perror("uring FILE");
            return 64;
        }
        cfg.keep_fds = &keep;
        cfg.nkeep = 1;
    }
    if (!strncmp(argv[2], "thread-", 7) &&
        (r = sbx_thread_filter_build(SBX_PROFILE_VCPU, cfg.seccomp, &vf))) {
        fprintf(stderr, "vcpu filter: %s\n", strerror(-r));
        return 2;
    }
    if (sbx_enter(&cfg, err, sizeof(err))) {
        fprintf(stderr, "jail: %s\n", err);
        return 2;
    }
    if (!strcmp(argv[2], "hold")) {
        char c;

        printf("ready\n");
        fflush(stdout);
        while (read(0, &c, 1) > 0)
            ;
        return 0;
    }
    if (!strcmp(argv[2], "uring"))
        return run_uring(keep);
    if (vf.len) {
        struct thread_job j = { .filter = &vf, .action = argv[2] + 7 };
        pthread_t t;

        r = pthread_create(&t, NULL, thread_main, &j);
        if (!r)
            r = pthread_join(t, NULL);
        r = r ? -r : j.result;
    } else {
        r = sbx_probe(argv[2]);
    }
    if (r)
        printf("probe %s: errno %d\n", argv[2], -r);
    else
        printf("probe %s: allowed\n", argv[2]);
    sbx_thread_filter_free(&vf);
    return 0;
}
