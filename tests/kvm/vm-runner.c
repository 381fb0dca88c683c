/*
 * Runs one payload guest through core/vm directly (no controller) and checks how it ended:
 *
 *   vm-runner [--cpus N] [--max-cpus N] [--topology T:C:D:P] [--max-phys-bits N]
 *             [--mem MIB] [--timeout SEC] [--expect TEXT]... [--expect-result poweroff|error|stopped]
 *             [--expect-reboots N] [--stop-after-ms MS] [--cmdline TEXT] [--input TEXT]
 *             [--power-button-after-ms MS] PAYLOAD
 *
 * Serial output is collected in a memfd and echoed; --input is fed to the serial port through a
 * pipe that then reaches EOF. The run passes when the VM ended as
 * expected, every --expect text appeared, and no line contains "FAIL". Exit 77 (skip) when
 * /dev/kvm is missing or unusable.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/vm/kvm_ioctl.h"
#include "core/vm/vm.h"
#include "runner_sys.h"

#define EXIT_SKIP  77
#define MAX_EXPECT 8

struct runner {
    struct vm_params p;
    const char *payload;
    uint64_t ram_size;
    const char *expect[MAX_EXPECT];
    unsigned int nexpect;
    const char *expect_result;
    const char *input;
    int expect_reboots; /* -1: don't care */
    unsigned int timeout_s, stop_after_ms, button_after_ms;
    struct vm *vm;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    bool done, timed_out;
};

static int usage(void)
{
    fprintf(stderr, "usage: vm-runner [options] PAYLOAD (see the source)\n");
    return 2;
}

static int parse_topology(const char *s, struct vm_params *p)
{
    return sscanf(s, "%u:%u:%u:%u", &p->threads_per_core, &p->cores_per_die, &p->dies_per_package,
                  &p->packages) == 4
               ? 0
               : -EINVAL;
}

static int parse_args(struct runner *rn, int argc, char **argv)
{
    static const struct option opts[] = {
        { "cpus", required_argument, NULL, 'c' },
        { "max-cpus", required_argument, NULL, 'm' },
        { "topology", required_argument, NULL, 't' },
        { "max-phys-bits", required_argument, NULL, 'b' },
        { "mem", required_argument, NULL, 'M' },
        { "timeout", required_argument, NULL, 'T' },
        { "expect", required_argument, NULL, 'e' },
        { "expect-result", required_argument, NULL, 'r' },
        { "expect-reboots", required_argument, NULL, 'R' },
        { "stop-after-ms", required_argument, NULL, 's' },
        { "cmdline", required_argument, NULL, 'l' },
        { "input", required_argument, NULL, 'i' },
        { "power-button-after-ms", required_argument, NULL, 'p' },
        { "verbose", no_argument, NULL, 'v' },
        { 0 },
    };
    uint64_t mem_mib = 64;
    int o;

    while ((o = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            rn->p.boot_vcpus = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'm':
            rn->p.max_vcpus = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 't':
            if (parse_topology(optarg, &rn->p) < 0)
                return -EINVAL;
            break;
        case 'b':
            rn->p.max_phys_bits = (uint32_t)strtoul(optarg, NULL, 0);
            break;
        case 'M':
            mem_mib = strtoull(optarg, NULL, 0);
            break;
        case 'T':
            rn->timeout_s = (unsigned int)strtoul(optarg, NULL, 0);
            break;
        case 'e':
            if (rn->nexpect == MAX_EXPECT)
                return -E2BIG;
            rn->expect[rn->nexpect++] = optarg;
            break;
        case 'r':
            rn->expect_result = optarg;
            break;
        case 'R':
            rn->expect_reboots = atoi(optarg);
            break;
        case 's':
            rn->stop_after_ms = (unsigned int)strtoul(optarg, NULL, 0);
            break;
        case 'l':
            rn->p.boot.cmdline = optarg;
            break;
        case 'i':
            rn->input = optarg;
            break;
        case 'p':
            rn->button_after_ms = (unsigned int)strtoul(optarg, NULL, 0);
            break;
        case 'v':
            rn->p.verbosity++;
            break;
        default:
            return -EINVAL;
        }
    }
    if (optind != argc - 1)
        return -EINVAL;
    rn->payload = argv[optind];
    rn->ram_size = mem_mib << 20;
    if (!rn->p.max_vcpus)
        rn->p.max_vcpus = rn->p.boot_vcpus;
    return 0;
}

static struct timespec deadline(uint64_t ms)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

/* Waits until the run is done or ms pass; returns true if it is done. Called with the lock. */
static bool wait_done(struct runner *rn, uint64_t ms)
{
    struct timespec until = deadline(ms);
    int r = 0;

    while (!rn->done && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&rn->done_cond, &rn->lock, &until);
    return rn->done;
}

/* Presses the power button after button_after_ms; stops the VM after stop_after_ms (a test of
 * vm_request_stop) or after the timeout. */
static void *watchdog_main(void *arg)
{
    struct runner *rn = arg;
    uint64_t ms = rn->stop_after_ms ? rn->stop_after_ms : rn->timeout_s * 1000ull;

    pthread_mutex_lock(&rn->lock);
    if (rn->button_after_ms && !wait_done(rn, rn->button_after_ms))
        vm_power_button(rn->vm);
    if (!wait_done(rn, ms)) {
        rn->timed_out = !rn->stop_after_ms;
        vm_request_stop(rn->vm);
    }
    pthread_mutex_unlock(&rn->lock);
    return NULL;
}

/* 77 when KVM cannot run a VM here at all. */
static int kvm_usable(int *kvm_fd)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm_fd;

    if (fd < 0) {
        printf("SKIP: /dev/kvm: %s\n", strerror(errno));
        return EXIT_SKIP;
    }
    if (kvm_api_version(fd) != 12 || (vm_fd = kvm_create_vm(fd)) < 0) {
        printf("SKIP: /dev/kvm cannot create a VM\n");
        close(fd);
        return EXIT_SKIP;
    }
    close(vm_fd);
    *kvm_fd = fd;
    return 0;
}

/* A pipe holding the input text, write end closed. Fits: the pipe buffer is 64 KiB. */
static int make_input(const char *text)
{
    int p[2];
    size_t len = strlen(text);

    if (len > 60000 || pipe2(p, O_CLOEXEC) < 0)
        return -1;
    if (write(p[1], text, len) != (ssize_t)len) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    close(p[1]);
    return p[0];
}

static const char *result_name(int r)
{
    return r == VM_RESULT_POWEROFF ? "poweroff" : r == VM_RESULT_STOPPED ? "stopped" : "error";
}

/* Echoes the serial output and checks it. Returns the number of failed checks. */
static int check_output(const struct runner *rn, int out_fd)
{
    char *buf = calloc(1, 1 << 20);
    ssize_t n;
    unsigned int i;
    int bad = 0;

    if (!buf)
        return 1;
    n = pread(out_fd, buf, (1 << 20) - 1, 0);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    printf("---- serial output ----\n%s---- end ----\n", buf);
    for (i = 0; i < rn->nexpect; i++) {
        if (!strstr(buf, rn->expect[i])) {
            printf("missing expected output: %s\n", rn->expect[i]);
            bad++;
        }
    }
    if (strstr(buf, "FAIL")) {
        printf("payload reported a failure\n");
        bad++;
    }
    free(buf);
    return bad;
}

int main(int argc, char **argv)
{
    struct runner rn = { .expect_result = "poweroff", .expect_reboots = -1, .timeout_s = 20 };
    pthread_t watchdog;
    bool watchdog_running = false;
    char err[256] = "";
    int kvm_fd = -1, ram_fd = -1, kernel_fd = -1, out_fd = -1, in_fd = -1, r, ret = 1, bad;
    uint8_t *ram = NULL;

    rn.p.boot_vcpus = 1;
    rn.p.serial_enabled = true;
    rn.p.serial_in_fd = -1;
    rn.p.boot.initramfs_fd = -1;
    pthread_mutex_init(&rn.lock, NULL);
    pthread_cond_init(&rn.done_cond, NULL);
    if (parse_args(&rn, argc, argv) < 0)
        return usage();
    ret = kvm_usable(&kvm_fd);
    if (ret)
        goto out;
    ret = 1;
    kernel_fd = open(rn.payload, O_RDONLY | O_CLOEXEC);
    out_fd = memfd_create("serial-out", MFD_CLOEXEC);
    if (kernel_fd < 0 || out_fd < 0) {
        perror(rn.payload);
        goto out;
    }
    if (rn.input) {
        in_fd = make_input(rn.input);
        if (in_fd < 0) {
            perror("input");
            goto out;
        }
    }
    r = runner_map_ram(rn.ram_size, &ram_fd, &ram);
    if (r < 0) {
        fprintf(stderr, "guest ram: %s\n", strerror(-r));
        goto out;
    }
    rn.p.kvm_fd = kvm_fd;
    guest_mem_init(&rn.p.mem);
    r = guest_mem_add_zone(&rn.p.mem, ram, rn.ram_size, ram_fd);
    if (r < 0) {
        fprintf(stderr, "guest ram layout: %s\n", strerror(-r));
        goto out;
    }
    rn.p.serial_out_fd = out_fd;
    rn.p.serial_in_fd = in_fd;
    rn.p.boot.kernel_fd = kernel_fd;
    r = vm_create(&rn.vm, &rn.p, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "vm_create: %s\n", err);
        goto out;
    }
    if (pthread_create(&watchdog, NULL, watchdog_main, &rn) == 0)
        watchdog_running = true;
    r = vm_run(rn.vm, err, sizeof(err));
    pthread_mutex_lock(&rn.lock);
    rn.done = true;
    pthread_cond_signal(&rn.done_cond);
    pthread_mutex_unlock(&rn.lock);
    if (watchdog_running)
        pthread_join(watchdog, NULL);

    printf("vm_run: %s%s%s, %u reboots\n", result_name(r), r < 0 ? ": " : "", r < 0 ? err : "",
           vm_reboot_count(rn.vm));
    bad = check_output(&rn, out_fd);
    if (rn.timed_out) {
        printf("timed out after %u s\n", rn.timeout_s);
        bad++;
    }
    if (strcmp(result_name(r), rn.expect_result) != 0) {
        printf("expected result %s\n", rn.expect_result);
        bad++;
    }
    if (rn.expect_reboots >= 0 && vm_reboot_count(rn.vm) != (unsigned int)rn.expect_reboots) {
        printf("expected %d reboots\n", rn.expect_reboots);
        bad++;
    }
    ret = bad ? 1 : 0;
out:
    vm_destroy(rn.vm);
    runner_unmap_ram(ram, rn.ram_size);
    if (ram_fd >= 0)
        close(ram_fd);
    if (out_fd >= 0)
        close(out_fd);
    if (in_fd >= 0)
        close(in_fd);
    if (kernel_fd >= 0)
        close(kernel_fd);
    if (kvm_fd >= 0)
        close(kvm_fd);
    return ret;
}
