#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>

#include "sandbox/profile_rules.h"

/* Thread creation as glibc's pthread_create does it; fork-like or namespace clones never. */
#define THREAD_FLAGS  (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define CLONE_CHECKED (THREAD_FLAGS | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

static const struct sbx_rule base[] = {
    SBX_ALLOW(read, "channels, eventfds and pipes handed in"),
    SBX_ALLOW(write, "log lines on the stderr pipe, eventfd signals"),
    SBX_ALLOW(close, "fds the process owns"),
    SBX_ALLOW(sendmsg, "control channel and vhost-user replies, fds in SCM_RIGHTS"),
    SBX_ALLOW(recvmsg, "control channel and vhost-user requests, fds in SCM_RIGHTS"),
    SBX_ALLOW(ppoll, "glibc's poll() waits on eventfds and channels"),
    SBX_ALLOW(poll, "waits on eventfds and channels"),
    SBX_ALLOW(futex, "pthread mutexes, condition variables, joins"),
    SBX_ALLOW(brk, "malloc grows the heap"),
    SBX_ALLOW1(mmap, SBX_ARG(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
               "malloc, thread stacks and shared memory fds; never executable"),
    SBX_ALLOW1(mprotect, SBX_ARG(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
               "thread stack guard pages, malloc arenas; never executable"),
    SBX_ALLOW(munmap, "free, thread stacks, memory regions going away"),
    SBX_ALLOW(mremap, "realloc of large blocks (cannot add PROT_EXEC)"),
    SBX_ALLOW1(madvise, SBX_ARG(2, SCMP_CMP_EQ, MADV_DONTNEED, 0),
               "glibc returns exited threads' stacks and trimmed heap"),
    SBX_ALLOW1(clone, SBX_ARG(0, SCMP_CMP_MASKED_EQ, CLONE_CHECKED, THREAD_FLAGS),
               "pthread_create, threads only (the flags are checked)"),
    SBX_ERRNO(clone3, ENOSYS, "flags unreadable by seccomp: glibc falls back to clone"),
    SBX_ALLOW(set_robust_list, "every new thread registers its robust futex list"),
    SBX_ALLOW(rseq, "every new thread registers restartable sequences"),
    SBX_ALLOW(exit, "a thread returns"),
    SBX_ALLOW(exit_group, "the process ends"),
    SBX_ALLOW(rt_sigaction, "SIGTERM/kick handlers installed after the jail"),
    SBX_ALLOW(rt_sigprocmask, "threads block process-directed signals"),
    SBX_ALLOW(rt_sigreturn, "return from a signal handler"),
    SBX_ALLOW(restart_syscall, "a sleep interrupted by a signal resumes"),
    SBX_ALLOW1(tgkill, SBX_ARG(2, SCMP_CMP_EQ, SIGABRT, 0), "abort() on a broken invariant"),
    SBX_ALLOW(gettid, "logging and pthread internals (allowed everywhere, as Cloud Hypervisor)"),
    SBX_ALLOW(getpid, "Hello and logging"),
    SBX_ALLOW(clock_gettime, "the vDSO falls back to the syscall on some clocksources"),
    SBX_ALLOW(gettimeofday,
              "likewise (libevent's clock, log time stamps) where the vDSO falls back"),
    SBX_ALLOW(clock_nanosleep, "bounded waits and back-off"),
    SBX_ALLOW1(newfstatat, SBX_ARG(3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH),
               "glibc's fstat() on fds handed in; the root is empty, so no path resolves"),
};

const struct sbx_rule_table sbx_rules_base = { base, sizeof(base) / sizeof(base[0]) };
