/*
 * run-reaped: runs one command the way the kvm suite needs to judge the cellvm binary.
 *
 *   run-reaped --check-kvm
 *   run-reaped [--timeout SEC] [--report FILE] -- PROG [ARG]...
 *
 * --check-kvm exits 0 when /dev/kvm can create a VM here, 77 (skip) with the reason otherwise.
 * Otherwise PROG runs with our stdin, stdout and stderr, and we are its child subreaper, so
 * anything it leaves behind (a cellvm-core that outlived the controller) is re-parented to us
 * and found. Exit status: PROG's own; 124 when it ran past the timeout (then it is killed);
 * 125 when it left a live process behind (then that is killed); 126 on a usage or setup error.
 * Findings go to --report (default stderr), so PROG's stderr stays PROG's own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SKIP     77
#define EXIT_TIMEOUT  124
#define EXIT_LEFTOVER 125
#define EXIT_SETUP    126
#define KVM_API       12
#define POLL_NS       (10 * 1000 * 1000)
#define MAX_LEFTOVERS 64

static int check_kvm(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;

    if (fd < 0) {
        printf("SKIP: /dev/kvm: %s\n", strerror(errno));
        return EXIT_SKIP;
    }
    if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API) {
        printf("SKIP: /dev/kvm: API version is not %d\n", KVM_API);
        close(fd);
        return EXIT_SKIP;
    }
    vm = ioctl(fd, KVM_CREATE_VM, 0);
    if (vm < 0) {
        printf("SKIP: /dev/kvm cannot create a VM: %s\n", strerror(errno));
        close(fd);
        return EXIT_SKIP;
    }
    close(vm);
    close(fd);
    return 0;
}

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits for pid until the deadline; returns its wait status, or -1 on timeout. */
static int wait_until(pid_t pid, double deadline)
{
    const struct timespec nap = { 0, POLL_NS };
    int st;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);

        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now() >= deadline)
            return -1;
        nanosleep(&nap, NULL);
    }
}

/* Reads "pid (comm) S ppid" from /proc/PID/stat. */
static bool read_stat(pid_t pid, char *comm, size_t commlen, char *state, pid_t *ppid)
{
    char path[64], buf[512], *open_paren, *close_paren;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    open_paren = strchr(buf, '(');
    close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren)
        return false;
    snprintf(comm, commlen, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
    return sscanf(close_paren + 1, " %c %d", state, ppid) == 2;
}

/* Reports, kills and reaps every process re-parented to us; returns how many were alive. */
static int reap_leftovers(FILE *report)
{
    pid_t kill_list[MAX_LEFTOVERS];
    int nkill = 0, alive = 0;
    struct dirent *d;
    DIR *proc = opendir("/proc");

    if (!proc)
        return 0;
    while ((d = readdir(proc))) {
        char comm[64], state;
        pid_t pid, ppid;

        if (d->d_name[0] < '0' || d->d_name[0] > '9')
            continue;
        pid = (pid_t)atoi(d->d_name);
        if (!read_stat(pid, comm, sizeof(comm), &state, &ppid) || ppid != getpid())
            continue;
        if (state != 'Z') {
            fprintf(report,
                    "run-reaped: left running after the command exited: pid %d (%s), "
                    "state %c\n",
                    (int)pid, comm, state);
            alive++;
        }
        if (nkill < MAX_LEFTOVERS)
            kill_list[nkill++] = pid;
    }
    closedir(proc);
    for (int i = 0; i < nkill; i++) {
        kill(kill_list[i], SIGKILL);
        waitpid(kill_list[i], NULL, 0);
    }
    return alive;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "check-kvm", no_argument, NULL, 'k' },
        { "timeout", required_argument, NULL, 't' },
        { "report", required_argument, NULL, 'r' },
        { 0 },
    };
    double timeout = 30;
    FILE *report = stderr;
    pid_t pid;
    int o, st, ret;

    while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (o) {
        case 'k':
            return check_kvm();
        case 't':
            timeout = strtod(optarg, NULL);
            break;
        case 'r':
            report = fopen(optarg, "we");
            if (!report) {
                perror(optarg);
                return EXIT_SETUP;
            }
            break;
        default:
            return EXIT_SETUP;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: run-reaped [--timeout SEC] [--report FILE] -- PROG [ARG]...\n");
        return EXIT_SETUP;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        fprintf(report, "run-reaped: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
        return EXIT_SETUP;
    }
    pid = fork();
    if (pid < 0) {
        fprintf(report, "run-reaped: fork: %s\n", strerror(errno));
        return EXIT_SETUP;
    }
    if (pid == 0) {
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "run-reaped: %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    st = wait_until(pid, now() + timeout);
    if (st == -1) {
        fprintf(report, "run-reaped: %s still running after %.0f s, killed\n", argv[optind],
                timeout);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        reap_leftovers(report);
        return EXIT_TIMEOUT;
    }
    ret = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (reap_leftovers(report) > 0)
        ret = EXIT_LEFTOVER;
    return ret;
}
