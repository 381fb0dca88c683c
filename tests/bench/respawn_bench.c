/* respawn-bench: time from a device process's death to the guest's next completed request
 * (issue 19). It starts cellvm with `--serial tty` on a pipe, on a payload that prints one '.'
 * per completed request (tests/payloads/blk_stream.c), timestamps every '.' as it arrives
 * (CLOCK_MONOTONIC), and KILLS times SIGKILLs the controller's child whose comm is
 * cellvm-ROLE, GAP_MS apart (the restart budget is 5 in 10 s: 5 kills 2.5 s apart fit). The
 * daemon is found among the children of the cellvm we started, never by name system-wide.
 *
 *   respawn-bench ROLE KILLS GAP_MS -- CELLVM [ARG]...
 *
 * The time of a kill ends at the first '.' read after the controller logged that the replacement
 * took over (read_until_next): dots read before that line were completed by the killed process
 * and were still in transit, and counting them gave the false 8-35 ms kills of earlier runs.
 * cellvm's stderr is read too and passed on, every line after a kill prefixed with the ms since
 * it: with -v that shows each phase (core notices, controller restarts, core reconnects).
 *
 * The peer figure, measured in the same run: the mean interval between completions with no
 * kill in between (the normal request time), over the windows between kills. Prints
 *   BENCH respawn ROLE death_to_next_ms median X (min A, max B, K kills)
 *         normal_interval_ms Y (N requests) ratio R
 * on one line. Exit 0, or 1 with the reason on stderr (no completion after a kill within
 * 30 s, no replacement process, a FAIL line from the guest). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_LIMIT_MS 120000.0 /* L1 under TCG boots a payload in seconds, not minutes */
#define NEXT_LIMIT_MS  30000.0
#define SETTLE_MS      1000.0 /* stream before the first kill and after the last */
#define MAX_KILLS      16

struct run {
    const char *role;
    pid_t ctl;
    int fd;          /* read end of cellvm's stdout */
    int err_fd;      /* read end of cellvm's stderr: its log lines, timed */
    double t_kill;   /* time of the latest kill, or 0 */
    double t_over;   /* when the log said the replacement took over, after t_kill */
    char eline[512]; /* the current log line */
    size_t neline;
    double last_dot;      /* arrival time of the latest '.', or 0 */
    uint64_t dots;        /* every '.' so far */
    double steady_ms;     /* time spanned by completions with no kill in between */
    uint64_t steady_dots; /* and their number */
    char line[256];       /* the current non-dot line, for PASS/FAIL and diagnostics */
    size_t nline;
    bool guest_failed;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The child of run->ctl whose comm is cellvm-ROLE, other than not_pid; 0 when none. */
static pid_t find_daemon(const struct run *run, pid_t not_pid)
{
    char path[64], want[32], comm[32];
    struct dirent *de;
    pid_t found = 0;
    DIR *tasks;

    snprintf(want, sizeof(want), "cellvm-%s\n", run->role);
    snprintf(path, sizeof(path), "/proc/%d/task", (int)run->ctl);
    tasks = opendir(path);
    if (!tasks)
        return 0;
    while (!found && (de = readdir(tasks))) {
        FILE *f;
        int pid;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", (int)run->ctl, de->d_name);
        f = fopen(path, "re");
        if (!f)
            continue;
        while (!found && fscanf(f, "%d", &pid) == 1) {
            FILE *c;

            if (pid <= 0 || pid == not_pid)
                continue;
            snprintf(path, sizeof(path), "/proc/%d/comm", pid);
            c = fopen(path, "re");
            if (!c)
                continue;
            if (fgets(comm, sizeof(comm), c) && strcmp(comm, want) == 0)
                found = pid;
            fclose(c);
        }
        fclose(f);
    }
    closedir(tasks);
    return found;
}

static void end_line(struct run *run)
{
    run->line[run->nline] = '\0';
    if (strstr(run->line, "FAIL") || strstr(run->line, "BAD")) {
        run->guest_failed = true;
        fprintf(stderr, "respawn-bench: guest: %s\n", run->line);
    }
    run->nline = 0;
}

/* Consumes one chunk of serial output read at time t; returns the number of '.' in it. */
static size_t consume(struct run *run, const char *buf, size_t n, double t)
{
    size_t dots = 0;

    for (size_t i = 0; i < n; i++) {
        if (buf[i] != '.') {
            if (buf[i] == '\n' || buf[i] == '\r')
                end_line(run);
            else if (run->nline < sizeof(run->line) - 1)
                run->line[run->nline++] = buf[i];
            continue;
        }
        run->last_dot = t;
        run->dots++;
        dots++;
    }
    return dots;
}

/* cellvm's log, passed on to stderr; a line that arrives after a kill is prefixed with the
 * milliseconds since it, so a slow respawn shows which phase took the time. */
static void read_log(struct run *run)
{
    char buf[4096];
    ssize_t n;

    while (run->err_fd >= 0 && (n = read(run->err_fd, buf, sizeof(buf))) > 0) {
        double t = now_ms();

        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n' && run->neline < sizeof(run->eline) - 1) {
                run->eline[run->neline++] = buf[i];
                continue;
            }
            if (buf[i] != '\n')
                continue;
            run->eline[run->neline] = '\0';
            run->neline = 0;
            if (run->t_kill > 0 && !run->t_over && strstr(run->eline, "process took over"))
                run->t_over = t;
            if (run->t_kill > 0)
                fprintf(stderr, "  +%8.3f ms %s\n", t - run->t_kill, run->eline);
            else
                fprintf(stderr, "%s\n", run->eline);
        }
    }
}

/* Reads serial output until a '.' arrives or limit_ms passes; *t_dot gets the arrival time.
 * Returns 1 on a '.', 0 on timeout, -errno or -EPIPE when cellvm's output ends. */
static int read_until_dot(struct run *run, double limit_ms, double *t_dot)
{
    double end = now_ms() + limit_ms;
    char buf[4096];

    for (;;) {
        struct pollfd p[2] = { { .fd = run->fd, .events = POLLIN },
                               { .fd = run->err_fd, .events = POLLIN } };
        double left = end - now_ms();
        ssize_t n;
        int r;

        if (left <= 0)
            return 0;
        r = poll(p, 2, (int)left + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (p[1].revents & POLLIN)
            read_log(run);
        if (p[1].revents & (POLLHUP | POLLERR) && !(p[1].revents & POLLIN)) {
            close(run->err_fd);
            run->err_fd = -1;
        }
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        n = read(run->fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EPIPE;
        *t_dot = now_ms();
        if (consume(run, buf, (size_t)n, *t_dot) > 0)
            return 1;
    }
}

/* Reads whatever is in the pipe now without waiting (completions from before a kill). */
static void drain(struct run *run)
{
    char buf[4096];
    ssize_t n;

    while ((n = read(run->fd, buf, sizeof(buf))) > 0)
        consume(run, buf, (size_t)n, now_ms());
}

/*
 * Keeps the stream read for ms, starting right after a '.': the completions in this window
 * had no kill between them, so their mean interval is the normal request time. Several
 * completions can arrive in one read, which is why the mean over a window is taken, not the
 * gaps between single arrivals. 0, or -errno when the stream stops.
 */
static int stream_for(struct run *run, double ms)
{
    double end = now_ms() + ms, t0 = run->last_dot, t;
    uint64_t d0 = run->dots;
    int r;

    while (now_ms() < end) {
        r = read_until_dot(run, end - now_ms() > 0 ? end - now_ms() : 0, &t);
        if (r < 0)
            return r;
    }
    if (run->dots == d0)
        return -ETIMEDOUT;
    run->steady_ms += run->last_dot - t0;
    run->steady_dots += run->dots - d0;
    return 0;
}

/*
 * The first completion the replacement made. Completions the old process made just before the
 * kill can still be on their way through the guest's serial port and the core, so a '.' read
 * soon after the kill proves nothing: only one read after the controller's log says the
 * replacement took over (respawn.c) counts. The core reconnects before that line is written,
 * so the replacement's first completion may arrive just before it: then the next one counts,
 * which overstates the time by at most one normal request interval. 1 with *t_dot, 0 when
 * none within NEXT_LIMIT_MS, -errno when the stream ends.
 */
static int read_until_next(struct run *run, double *t_dot)
{
    double end = now_ms() + NEXT_LIMIT_MS;

    for (;;) {
        double left = end - now_ms();
        int r;

        if (left <= 0)
            return 0;
        r = read_until_dot(run, left, t_dot);
        if (r <= 0 || run->t_over > 0)
            return r;
    }
}

static pid_t start_cellvm(char **argv, int *out_fd, int *err_fd)
{
    int p[2], e[2] = { -1, -1 };
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(e, O_CLOEXEC) < 0) {
        pid = -errno;
        close(p[0]);
        close(p[1]);
        return pid;
    }
    pid = fork();
    if (pid < 0) {
        pid = -errno;
        close(p[0]);
        close(p[1]);
        close(e[0]);
        close(e[1]);
        return pid;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(e[1], 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    close(e[1]);
    *out_fd = p[0];
    *err_fd = e[0];
    return pid;
}

/* SIGTERM (the controller stops the VM in order), then SIGKILL after 30 s; the exit status.
 * Its log is read meanwhile, so a full pipe cannot hold its shutdown. */
static int stop_cellvm(struct run *run, pid_t pid)
{
    double end;
    int st = 0;

    kill(pid, SIGTERM);
    end = now_ms() + 30000;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        read_log(run);
        usleep(20000);
    }
    read_log(run);
    return st;
}

static int measure(struct run *run, int kills, double gap_ms, double *death)
{
    pid_t prev = 0;
    double t;
    int r;

    r = read_until_dot(run, START_LIMIT_MS, &t);
    if (r <= 0) {
        fprintf(stderr, "respawn-bench: the guest never completed a request\n");
        return -1;
    }
    if (stream_for(run, SETTLE_MS) < 0) {
        fprintf(stderr, "respawn-bench: the stream stopped before any kill\n");
        return -1;
    }
    for (int k = 0; k < kills; k++) {
        pid_t victim = 0;
        double t_kill;

        /* The replacement from the last kill must be up: killing it before it took over
         * would measure two respawns as one. The stream_for() below showed it serving. */
        for (int i = 0; i < 500 && !victim; i++) {
            victim = find_daemon(run, prev);
            if (!victim)
                usleep(10000);
        }
        if (!victim) {
            fprintf(stderr, "respawn-bench: no cellvm-%s child of %d (kill %d)\n", run->role,
                    (int)run->ctl, k + 1);
            return -1;
        }
        /* Strike right after a completion, with the pipe drained: a '.' read after kill() is
         * a request that completed after the daemon's death. */
        if (read_until_dot(run, NEXT_LIMIT_MS, &t) <= 0) {
            fprintf(stderr, "respawn-bench: the stream stopped before kill %d\n", k + 1);
            return -1;
        }
        drain(run);
        read_log(run);
        t_kill = now_ms();
        run->t_kill = t_kill;
        run->t_over = 0;
        if (kill(victim, SIGKILL) < 0) {
            fprintf(stderr, "respawn-bench: kill %d: %s\n", (int)victim, strerror(errno));
            return -1;
        }
        r = read_until_next(run, &t);
        if (r <= 0) {
            fprintf(stderr, "respawn-bench: no completed request within %.0f s of kill %d\n",
                    NEXT_LIMIT_MS / 1e3, k + 1);
            return -1;
        }
        death[k] = t - t_kill;
        fprintf(stderr,
                "respawn-bench: kill %d of cellvm-%s %d: next completion after %.3f ms "
                "(took over after %.3f ms)\n",
                k + 1, run->role, (int)victim, death[k], run->t_over - t_kill);
        prev = victim;
        if (stream_for(run, k + 1 < kills ? gap_ms : SETTLE_MS) < 0) {
            fprintf(stderr, "respawn-bench: the stream stopped after kill %d\n", k + 1);
            return -1;
        }
    }
    return run->guest_failed ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct run run = { .fd = -1, .err_fd = -1 };
    double death[MAX_KILLS], sorted[MAX_KILLS], med, norm;
    int kills, ret = 1, st;
    double gap_ms;

    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: respawn-bench ROLE KILLS GAP_MS -- CELLVM [ARG]...\n");
        return 2;
    }
    run.role = argv[1];
    kills = atoi(argv[2]);
    gap_ms = atof(argv[3]);
    if (kills < 1 || kills > MAX_KILLS || gap_ms < 0 || strlen(run.role) > 8) {
        fprintf(stderr, "respawn-bench: bad ROLE, KILLS (1..%d) or GAP_MS\n", MAX_KILLS);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    run.ctl = start_cellvm(argv + 5, &run.fd, &run.err_fd);
    if (run.ctl < 0) {
        fprintf(stderr, "respawn-bench: cannot start %s: %s\n", argv[5], strerror(-run.ctl));
        goto out;
    }
    fcntl(run.fd, F_SETFL, O_NONBLOCK);
    fcntl(run.err_fd, F_SETFL, O_NONBLOCK);
    ret = measure(&run, kills, gap_ms, death) == 0 ? 0 : 1;
    st = stop_cellvm(&run, run.ctl);
    fprintf(stderr, "respawn-bench: cellvm ended (%s %d)\n", WIFEXITED(st) ? "exit" : "signal",
            WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    if (ret != 0)
        goto out;
    if (run.steady_dots == 0) {
        fprintf(stderr, "respawn-bench: no normal interval measured\n");
        ret = 1;
        goto out;
    }
    memcpy(sorted, death, sizeof(double) * (size_t)kills);
    med = median(sorted, (size_t)kills);
    norm = run.steady_ms / (double)run.steady_dots;
    printf("BENCH respawn %s death_to_next_ms median %.3f (min %.3f, max %.3f, %d kills) "
           "normal_interval_ms %.4f (%llu requests) ratio %.0f\n",
           run.role, med, sorted[0], sorted[kills - 1], kills, norm,
           (unsigned long long)run.steady_dots, norm > 0 ? med / norm : 0.0);
out:
    if (run.fd >= 0)
        close(run.fd);
    if (run.err_fd >= 0)
        close(run.err_fd);
    return ret;
}
