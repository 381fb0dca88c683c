#ifndef CELLVM_TESTS_BENCH_CPU_H
#define CELLVM_TESTS_BENCH_CPU_H

#include <sys/types.h>

/* CPU time (ns) the live threads of pid have run, summed from /proc/PID/task/TID/schedstat;
 * 0 when pid is gone. */
unsigned long long bench_proc_cpu_ns(pid_t pid);

#endif
