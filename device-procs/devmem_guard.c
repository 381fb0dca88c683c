#include "device-procs/devmem_guard.h"

#include "device-procs/devmem_sys.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

/* Guest regions (at most 509 per backend) plus an inflight buffer, with room for a test
   process that runs a few backends at once. */
#define GUARD_SLOTS 2048u

struct guard_slot {
    uintptr_t start; /* 0: free */
    uintptr_t len;   /* 0: not (yet) guarding */
    int *broken;
    const char *what; /* static: the log line's subject */
    size_t what_len;
    int hit;
};

/* See devmem_guard.h for why this is global. */
static struct guard_slot slots[GUARD_SLOTS];
static struct sigaction previous;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int install_err;
static uintptr_t page_size;

static const char hit_msg[] = " shrank under its mapping (SIGBUS): zero page mapped in its place\n";

/* Replaces the page around addr inside [start, start + len), trying huge page sizes when the
   mapping is hugetlbfs (a 4 KiB MAP_FIXED cannot split a huge page). */
static bool patch(uintptr_t addr, uintptr_t start, uintptr_t len)
{
    static const uintptr_t sizes[] = { 0, 2u << 20, 1u << 30 };

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uintptr_t sz = sizes[i] ? sizes[i] : page_size;
        uintptr_t p = addr & ~(sz - 1);

        if (p < start || sz > len || p - start > len - sz)
            continue;
        if (devmem_sys_zero_over((void *)p, sz) == 0)
            return true;
    }
    return false;
}

static void chain(int sig, siginfo_t *si, void *uc)
{
    struct sigaction dfl;

    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(sig, si, uc);
        return;
    }
    if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
        return;
    }
    /* Not ours: the default action, by faulting again on return. */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    int saved = errno;

    for (unsigned i = 0; i < GUARD_SLOTS; i++) {
        uintptr_t start = __atomic_load_n(&slots[i].start, __ATOMIC_ACQUIRE);
        uintptr_t len = __atomic_load_n(&slots[i].len, __ATOMIC_ACQUIRE);

        if (!len || a < start || a - start >= len)
            continue;
        if (!patch(a, start, len))
            break;
        if (slots[i].broken)
            __atomic_store_n(slots[i].broken, 1, __ATOMIC_RELEASE);
        if (!__atomic_exchange_n(&slots[i].hit, 1, __ATOMIC_ACQ_REL) &&
            (write(STDERR_FILENO, slots[i].what, slots[i].what_len) < 0 ||
             write(STDERR_FILENO, hit_msg, sizeof(hit_msg) - 1) < 0)) {
            /* Nothing to do about a log line that cannot be written. */
        }
        errno = saved;
        return;
    }
    errno = saved;
    chain(sig, si, uc);
}

static void install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (sigaction(SIGBUS, &sa, &previous) < 0)
        install_err = -errno;
}

int devmem_guard_install(void)
{
    pthread_once(&once, install);
    return install_err;
}

int devmem_guard_add(void *base, uint64_t len, int *broken, const char *what)
{
    uintptr_t s = (uintptr_t)base;

    if (!base || !len)
        return -EINVAL;
    for (unsigned i = 0; i < GUARD_SLOTS; i++) {
        uintptr_t expect = 0;

        /* Claim the slot first; the handler looks at it only once len is set. */
        if (!__atomic_compare_exchange_n(&slots[i].start, &expect, s, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_RELAXED))
            continue;
        slots[i].broken = broken;
        slots[i].what = what ? what : "cellvm: a mapped file";
        slots[i].what_len = strlen(slots[i].what);
        __atomic_store_n(&slots[i].hit, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&slots[i].len, (uintptr_t)len, __ATOMIC_RELEASE);
        return (int)i;
    }
    return -ENOSPC;
}

void devmem_guard_remove(int slot)
{
    if (slot < 0 || (unsigned)slot >= GUARD_SLOTS)
        return;
    __atomic_store_n(&slots[slot].len, 0, __ATOMIC_RELEASE);
    slots[slot].broken = NULL;
    __atomic_store_n(&slots[slot].start, 0, __ATOMIC_RELEASE);
}

bool devmem_guard_hit(int slot)
{
    if (slot < 0 || (unsigned)slot >= GUARD_SLOTS)
        return false;
    return __atomic_load_n(&slots[slot].hit, __ATOMIC_ACQUIRE);
}
